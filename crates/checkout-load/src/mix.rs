//! `--mix`: a shop's day instead of one endpoint at a time, for soak runs (`cargo xtask
//! soak`). Every connection walks its shoppers round-robin, one visit each: browse,
//! add to the cart, start checkout, read it, then (in turn) leave it (the shopper's next
//! visit supersedes it: half of all checkouts), or choose shipping and payment, read it
//! again and place it with Invoice or pay it with the simulated provider's approving
//! card, and read the order; now and then sign out and in again. After `ROTATE_EVERY`
//! visits a shopper leaves for good and a newly signed-up one takes its place. Every
//! tenth shopper only starts a checkout and leaves for longer than the checkout timeout,
//! so the sweeper expires it. Every `report_every` seconds one JSON line on stdout gives
//! the interval's requests, p50, p99 and non-2xx.

use std::{cell::RefCell, rc::Rc, time::Duration};

use hyper::Method;
use serde_json::json;
use tokio::time::Instant;

use crate::{percentile, tokenize::Tokenizer, Conn, Shopper};

/// The shipping address every load shopper gives (CONTRACT §18: an order needs one),
/// in the demo bakery's country.
pub fn address() -> serde_json::Value {
    json!({"name": "Load Shopper", "line1": "1 Main Street", "city": "Springfield",
           "postal_code": "12345", "country": "US"})
}

/// The address step then the method choices, each a `PUT` under a checkout's path.
pub fn order_steps(payment: &str) -> [(&'static str, serde_json::Value); 3] {
    [
        ("shipping-address", address()),
        ("shipping-method", json!({"method_id": "standard"})),
        ("payment-method", json!({"method_id": payment})),
    ]
}

/// The simulated provider's card that always approves.
const APPROVING_CARD: &str = "4242424242424242";
/// How long an abandoning shopper stays away: past the 5-minute timeout the soak sets.
const AWAY: Duration = Duration::from_secs(330);
/// Visits after which a shopper is replaced by a new one.
const ROTATE_EVERY: usize = 200;
/// Products of the demo catalog a visit adds, in turn.
const SKUS: [&str; 4] = ["BRW-FUDGE", "BRW-WALNUT", "CKE-OAT", "BOX-GIFT"];

/// What an interval measured.
#[derive(Default)]
struct Interval {
    latencies_us: Vec<u32>,
    errors: usize,
    orders: usize,
}

type Shared = Rc<RefCell<Interval>>;

/// One request, timed and counted; the answer's status and body.
async fn timed(
    conn: &mut Conn,
    shared: &Shared,
    method: Method,
    path: &str,
    cookie: &str,
    headers: &[(&str, &str)],
    body: Option<&serde_json::Value>,
) -> Result<crate::Answer, String> {
    let started = Instant::now();
    let answer = conn.send(method, path, Some(cookie), headers, body).await?;
    let mut i = shared.borrow_mut();
    i.latencies_us
        .push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
    if !(200..300).contains(&answer.status) {
        i.errors += 1;
    }
    Ok(answer)
}

/// One shopper's visit; `n` numbers it (which ending it takes). An `abandoning` shopper
/// leaves every checkout it starts.
async fn visit(
    conn: &mut Conn,
    tokens: &mut Option<Tokenizer>,
    shared: &Shared,
    shopper: &mut Shopper,
    n: usize,
    abandoning: bool,
) -> Result<(), String> {
    let cookie = shopper.cookie.clone();
    let username = shopper.name.clone();
    timed(
        conn,
        shared,
        Method::GET,
        "/api/v1/products",
        &cookie,
        &[],
        None,
    )
    .await?;
    let line = json!({"sku": SKUS[n % SKUS.len()], "quantity": 1});
    timed(
        conn,
        shared,
        Method::POST,
        "/api/v1/cart/items",
        &cookie,
        &[],
        Some(&line),
    )
    .await?;
    let started = timed(
        conn,
        shared,
        Method::POST,
        "/api/v1/checkouts",
        &cookie,
        &[],
        None,
    )
    .await?;
    if started.status != 201 {
        return Ok(());
    }
    let id = started.body["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/api/v1/checkouts/{id}");
    timed(conn, shared, Method::GET, &path, &cookie, &[], None).await?;
    if abandoning || n.is_multiple_of(2) {
        // Left (half of all checkouts, as in a shop): the next visit supersedes it, or
        // (an abandoning shopper, away longer than the timeout) the sweeper expires it.
        return Ok(());
    }
    let paying = n % 4 == 1;
    let mut digest = String::new();
    for (what, body) in order_steps(if paying { "card" } else { "invoice" }) {
        let chosen = timed(
            conn,
            shared,
            Method::PUT,
            &format!("{path}/{what}"),
            &cookie,
            &[],
            Some(&body),
        )
        .await?;
        digest = chosen.body["digest"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
    }
    // The storefront re-validates on every navigation: the shopper reads it again.
    timed(conn, shared, Method::GET, &path, &cookie, &[], None).await?;
    let key = format!("soak-{username}-{n}");
    let (action, body) = if paying {
        // The storefront tokenizes the card with the provider; the shop gets the token.
        if tokens.is_none() {
            *tokens = Some(Tokenizer::open(conn).await?);
        }
        let tokenizer = tokens.as_mut().ok_or("no tokenizer")?;
        let token = tokenizer.tokenize(APPROVING_CARD).await?;
        (
            "pay",
            json!({"snapshot_digest": digest, "payment_token": token}),
        )
    } else {
        ("place-order", json!({"snapshot_digest": digest}))
    };
    let ordered = timed(
        conn,
        shared,
        Method::POST,
        &format!("{path}/{action}"),
        &cookie,
        &[("idempotency-key", &key)],
        Some(&body),
    )
    .await?;
    if ordered.status == 201 {
        shared.borrow_mut().orders += 1;
        let order = ordered.body["id"].as_str().unwrap_or_default();
        let order_path = format!("/api/v1/orders/{order}");
        timed(conn, shared, Method::GET, &order_path, &cookie, &[], None).await?;
    }
    if n % ROTATE_EVERY == ROTATE_EVERY - 1 {
        // This shopper leaves for good (its last checkout, if live, expires) and a new
        // one takes the place: a shop's shoppers come and go, and none holds more keys
        // than the server's default cap.
        let base = username.split('g').next().unwrap_or(&username);
        let name = format!("{base}g{n}");
        shopper.cookie = conn.sign_up(&name).await?;
        shopper.name = name;
    } else if n % 20 == 19 {
        timed(
            conn,
            shared,
            Method::POST,
            "/api/v1/auth/logout",
            &cookie,
            &[],
            None,
        )
        .await?;
        let credentials = json!({"username": &username, "password": crate::PASSWORD});
        let login = conn
            .send(
                Method::POST,
                "/api/v1/auth/login",
                None,
                &[],
                Some(&credentials),
            )
            .await?;
        shopper.cookie = login
            .cookie
            .ok_or(format!("sign-in failed: {} {}", login.status, login.body))?;
    }
    Ok(())
}

/// Runs the mix on every connection for `seconds`, reporting every `report_every`; with
/// `rate`, each connection paces its requests to its share of `rate` per second.
pub async fn run(
    workers: Vec<(Conn, Vec<Shopper>)>,
    seconds: u64,
    report_every: u64,
    rate: Option<u32>,
) -> Result<(), String> {
    let shared: Shared = Rc::default();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    // The time one request of one connection takes up at the chosen rate.
    let connections = u32::try_from(workers.len()).unwrap_or(u32::MAX).max(1);
    let slot = rate.map(|r| Duration::from_secs_f64(f64::from(connections) / f64::from(r)));
    let drivers = workers.into_iter().map(|(mut conn, mut shoppers)| {
        let shared = Rc::clone(&shared);
        async move {
            let count = shoppers.len();
            let base = conn.sent;
            let mut back_at = vec![Instant::now(); count];
            let mut tokens = None;
            let mut n = 0usize;
            while Instant::now() < deadline {
                let i = n % count;
                n += 1;
                let abandoning = i % 10 == 9;
                if abandoning {
                    if Instant::now() < back_at[i] {
                        continue;
                    }
                    back_at[i] = Instant::now() + AWAY;
                }
                visit(
                    &mut conn,
                    &mut tokens,
                    &shared,
                    &mut shoppers[i],
                    n / count,
                    abandoning,
                )
                .await?;
                if let Some(slot) = slot {
                    // Wait until this connection's requests so far fit the rate.
                    let sent = u32::try_from(conn.sent - base).unwrap_or(u32::MAX);
                    tokio::time::sleep_until(started + slot * sent).await;
                }
            }
            Ok::<(), String>(())
        }
    });
    let reporter = {
        let shared = Rc::clone(&shared);
        async move {
            let mut tick = tokio::time::interval(Duration::from_secs(report_every.max(1)));
            tick.tick().await;
            loop {
                tick.tick().await;
                let done = Instant::now() >= deadline;
                let mut interval = std::mem::take(&mut *shared.borrow_mut());
                interval.latencies_us.sort_unstable();
                println!(
                    "{}",
                    json!({
                        "t": started.elapsed().as_secs(),
                        "requests": interval.latencies_us.len(),
                        "p50_ms": percentile(&interval.latencies_us, 50.0),
                        "p99_ms": percentile(&interval.latencies_us, 99.0),
                        "errors": interval.errors,
                        "orders": interval.orders,
                    })
                );
                if done {
                    break;
                }
            }
        }
    };
    let (driven, ()) = tokio::join!(futures::future::try_join_all(drivers), reporter);
    driven.map(drop)
}

/// Puts a brownie in the cart, starts a checkout and chooses standard shipping and
/// `payment` (untimed); the checkout's path and digest.
pub async fn start_and_choose(
    conn: &mut Conn,
    cookie: &str,
    payment: &str,
) -> Result<(String, String), String> {
    let cookie = Some(cookie);
    let line = json!({"sku": "BRW-FUDGE", "quantity": 1});
    conn.send(Method::POST, "/api/v1/cart/items", cookie, &[], Some(&line))
        .await?;
    let started = conn
        .send(Method::POST, "/api/v1/checkouts", cookie, &[], None)
        .await?;
    let path = format!(
        "/api/v1/checkouts/{}",
        started.body["id"].as_str().unwrap_or_default()
    );
    let mut digest = String::new();
    for (what, body) in order_steps(payment) {
        let chosen = conn
            .send(
                Method::PUT,
                &format!("{path}/{what}"),
                cookie,
                &[],
                Some(&body),
            )
            .await?;
        digest = chosen.body["digest"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
    }
    Ok((path, digest))
}

/// One order the shortest way a shopper can make it (cart, checkout, standard shipping,
/// invoice, Place Order), untimed; whether it was placed.
pub async fn place_one(conn: &mut Conn, shopper: &Shopper, key: &str) -> Result<bool, String> {
    let (path, digest) = start_and_choose(conn, &shopper.cookie, "invoice").await?;
    let placed = conn
        .send(
            Method::POST,
            &format!("{path}/place-order"),
            Some(&shopper.cookie),
            &[("idempotency-key", key)],
            Some(&json!({ "snapshot_digest": digest })),
        )
        .await?;
    Ok(placed.status == 201)
}

/// Sets the checkout timeout to its minimum (5 minutes) through the admin API.
pub async fn shorten_timeout(target: &str, token: &str) -> Result<(), String> {
    let mut conn = Conn::open(target).await?;
    let bearer = format!("Bearer {token}");
    let answer = conn
        .send(
            Method::PUT,
            "/api/v1/admin/settings",
            None,
            &[("authorization", &bearer)],
            Some(&json!({"timeout_minutes": 5})),
        )
        .await?;
    if answer.status == 200 {
        Ok(())
    } else {
        Err(format!("settings: {} {}", answer.status, answer.body))
    }
}
