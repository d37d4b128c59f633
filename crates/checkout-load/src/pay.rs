//! `--pay-flow CARD`: Pay Now end to end, as a storefront does it — tokenize the card
//! with the payment provider (its own process, found through `/api/v1/payments/config`),
//! start a checkout, choose shipping and the card method, pay with the token, and when
//! the provider is still processing, read the checkout until its webhook has made the
//! order. With a 3-D Secure card (`4000002760003184`), approve on the provider's
//! challenge page as the shopper's browser does, then come back (`payment/refresh`). One flow is one paid order; the report gives flows per second and the flow's
//! p50 and p99.
//!
//! `--outbox-lag`: order events to a downstream system. A receiver on loopback is added
//! as an outbox endpoint; orders are placed at `--rate` per second for `--seconds`; the
//! report gives how many events arrived, how many per second, and the lag from each
//! order's creation to its event's arrival (p50, p99, max).

use std::{
    cell::RefCell,
    rc::Rc,
    sync::{Arc, Mutex},
    time::Duration,
};

use hyper::Method;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::{percentile, tokenize::Tokenizer, Conn, Shopper};

/// One paid order, from the card to the order; whether it ended in an order.
async fn pay_once(
    conn: &mut Conn,
    tokens: &mut Tokenizer,
    shopper: &Shopper,
    card: &str,
    key: &str,
) -> Result<bool, String> {
    let cookie = Some(shopper.cookie.as_str());
    let token = tokens.tokenize(card).await?;
    let (path, digest) = crate::mix::start_and_choose(conn, &shopper.cookie, "card").await?;
    let body = json!({"snapshot_digest": digest, "payment_token": token});
    let paid = conn
        .send(
            Method::POST,
            &format!("{path}/pay"),
            cookie,
            &[("idempotency-key", key)],
            Some(&body),
        )
        .await?;
    if paid.status == 201 {
        return Ok(true);
    }
    if paid.status == 202 {
        // 3-D Secure: the shopper approves on the provider's page and comes back; the
        // page asks the server to look the payment up (CONTRACT §20).
        let url = paid.body["next_action"]["url"].as_str().unwrap_or_default();
        tokens.approve_challenge(url).await?;
        let back = conn
            .send(
                Method::POST,
                &format!("{path}/payment/refresh"),
                cookie,
                &[],
                None,
            )
            .await?;
        if back.body["status"] == "COMPLETED" {
            return Ok(true);
        }
    } else if paid.body["code"] != "PAYMENT_IN_PROGRESS" {
        return Ok(false);
    }
    // Processing: the provider's webhook makes the order; the page reads the checkout.
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let s = conn.send(Method::GET, &path, cookie, &[], None).await?;
        match s.body["status"].as_str() {
            Some("COMPLETED") => return Ok(true),
            Some("PAYMENT_PENDING") => {}
            _ => return Ok(false),
        }
    }
    Ok(false)
}

/// Runs `--pay-flow` on every connection for `seconds`; prints the report.
pub async fn run_pay_flow(
    workers: Vec<(Conn, Vec<Shopper>)>,
    card: &str,
    seconds: u64,
    label: &str,
) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let flows = workers
        .into_iter()
        .enumerate()
        .map(|(w, (mut conn, shoppers))| async move {
            let mut tokens = Tokenizer::open(&mut conn).await?;
            let (mut latencies, mut failed) = (Vec::new(), 0usize);
            let mut n = 0usize;
            while Instant::now() < deadline {
                let shopper = &shoppers[n % shoppers.len()];
                let t = Instant::now();
                let key = format!("pay-{}-{w}-{n}", std::process::id());
                if pay_once(&mut conn, &mut tokens, shopper, card, &key).await? {
                    latencies.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                } else {
                    failed += 1;
                }
                n += 1;
            }
            Ok::<_, String>((latencies, failed))
        });
    let mut all = Vec::new();
    let mut failed = 0;
    for result in futures::future::join_all(flows).await {
        let (latencies, f) = result?;
        all.extend(latencies);
        failed += f;
    }
    all.sort_unstable();
    let elapsed = started.elapsed().as_secs_f64();
    println!("| run | flow | paid orders | orders/s | p50 ms | p99 ms | not paid |");
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {label} | tokenize → pay → (webhook) → order | {} | {:.0} | {:.1} | {:.1} | {failed} |",
        all.len(),
        all.len() as f64 / elapsed,
        percentile(&all, 50.0),
        percentile(&all, 99.0),
    );
    Ok(())
}

/// What the receiver saw: each event's lag in microseconds.
type Lags = Arc<Mutex<Vec<u32>>>;

/// A loopback HTTP receiver for order events: answers 200 and records each event's lag
/// (arrival − its order's `created_at`). Returns its URL.
async fn start_receiver(lags: Lags) -> Result<String, String> {
    use http_body_util::{BodyExt, Full};
    use hyper::{server::conn::http1, service::service_fn, Response};
    use hyper_util::rt::TokioIo;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let lags = Arc::clone(&lags);
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let lags = Arc::clone(&lags);
                    async move {
                        let body = request.into_body().collect().await.map(|b| b.to_bytes());
                        let event: Value = body
                            .ok()
                            .and_then(|b| serde_json::from_slice(&b).ok())
                            .unwrap_or(Value::Null);
                        let created = event["data"]["order"]["created_at"]
                            .as_str()
                            .and_then(parse_rfc3339_micros);
                        if let (Some(created), Some(now)) = (created, now_micros()) {
                            let lag = u32::try_from((now - created).max(0)).unwrap_or(u32::MAX);
                            lags.lock().unwrap_or_else(|p| p.into_inner()).push(lag);
                        }
                        Ok::<_, std::convert::Infallible>(Response::new(Full::new(
                            bytes::Bytes::from_static(b"{}"),
                        )))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(format!("http://{addr}/events"))
}

/// A receiver that accepts connections and never answers (nor reads): every delivery
/// to it waits for the server's timeout. Returns its URL.
async fn start_dead_receiver() -> Result<String, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            // Bounded: the server keeps at most a lane's worth open at once.
            held.retain(|s: &tokio::net::TcpStream| s.peer_addr().is_ok());
            if held.len() < 4_096 {
                held.push(stream);
            }
        }
    });
    Ok(format!("http://{addr}/dead"))
}

fn now_micros() -> Option<i64> {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    i64::try_from(d.as_micros()).ok()
}

/// `2026-12-05T09:36:41.123456Z` (UTC, as the server writes) in Unix microseconds.
fn parse_rfc3339_micros(text: &str) -> Option<i64> {
    let (date, time) = text.trim_end_matches('Z').split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (h, min, s) = (t.next()??, t.next()??, t.next()??);
    let frac: String = frac.chars().take_while(char::is_ascii_digit).collect();
    let micros = format!("{frac:0<6}")[..6].parse::<i64>().ok()?;
    // Days since the epoch (civil-from-days, Howard Hinnant).
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + h * 3_600 + min * 60 + s) * 1_000_000) + micros)
}

/// Runs `--outbox-lag`: places orders at `rate` per second for `seconds`, then waits
/// (at most 30 s) for their events; prints the report.
pub async fn run_outbox_lag(
    mut workers: Vec<(Conn, Vec<Shopper>)>,
    target: &str,
    admin_token: &str,
    rate: u32,
    seconds: u64,
    dead_endpoint: bool,
    label: &str,
) -> Result<(), String> {
    let lags: Lags = Arc::default();
    let url = start_receiver(Arc::clone(&lags)).await?;
    let mut admin = Conn::open(target).await?;
    let bearer = format!("Bearer {admin_token}");
    let mut urls = vec![url];
    if dead_endpoint {
        urls.insert(0, start_dead_receiver().await?);
    }
    for url in urls {
        let added = admin
            .send(
                Method::POST,
                "/api/v1/admin/webhook-endpoints",
                None,
                &[("authorization", &bearer)],
                Some(&json!({ "url": url })),
            )
            .await?;
        if added.status != 201 {
            return Err(format!("endpoint: {} {}", added.status, added.body));
        }
    }
    let placed = Rc::new(RefCell::new(0usize));
    let connections = u32::try_from(workers.len()).unwrap_or(1).max(1);
    let slot = Duration::from_secs_f64(f64::from(connections) / f64::from(rate.max(1)));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let drivers = workers.iter_mut().enumerate().map(|(w, (conn, shoppers))| {
        let placed = Rc::clone(&placed);
        async move {
            let mut n = 0u32;
            while Instant::now() < deadline {
                let shopper = &shoppers[n as usize % shoppers.len()];
                if crate::mix::place_one(conn, shopper, &format!("lag-{w}-{n}")).await? {
                    *placed.borrow_mut() += 1;
                }
                n += 1;
                tokio::time::sleep_until(started + slot * n).await;
            }
            Ok::<(), String>(())
        }
    });
    for driver in futures::future::join_all(drivers).await {
        driver?;
    }
    let placing = started.elapsed().as_secs_f64();
    let placed = *placed.borrow();
    let wait_until = Instant::now() + Duration::from_secs(30);
    while lags.lock().unwrap_or_else(|p| p.into_inner()).len() < placed
        && Instant::now() < wait_until
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut all = lags.lock().unwrap_or_else(|p| p.into_inner()).clone();
    all.sort_unstable();
    let delivered_in = started.elapsed().as_secs_f64();
    println!("| run | orders placed | orders/s | events received | events/s | lag p50 ms | lag p99 ms | lag max ms |");
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| {label} | {placed} | {:.0} | {} | {:.0} | {:.1} | {:.1} | {:.1} |",
        placed as f64 / placing,
        all.len(),
        all.len() as f64 / delivered_in,
        percentile(&all, 50.0),
        percentile(&all, 99.0),
        percentile(&all, 100.0),
    );
    Ok(())
}
