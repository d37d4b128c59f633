//! `checkout-load`: drives one or more running `checkout-server` instances over a fixed
//! number of persistent HTTP/1.1 connections and reports throughput and latency per
//! endpoint. Run by `cargo xtask bench-server`, from a separate process than the server
//! (`checkout-load --help` for its flags).
//!
//! Phases, each measured on its own: `GET /healthz`; `GET /api/v1/checkouts/{id}`;
//! `POST /api/v1/checkouts` (each initiation supersedes the shopper's previous one);
//! `POST /api/v1/checkouts/{id}/place-order` (one order per session prepared by the
//! initiation phase, each with its own `Idempotency-Key`); with `--backend-key`, last,
//! `POST /api/v1/backend/checkouts` (the shop's backend making each shopper a checkout
//! from a priced cart of the same line, CONTRACT §24). Every shopper is a real account
//! with its own login cookie; connections are spread round-robin over targets.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

mod conn;
mod cpu;
mod mix;
mod pay;
mod tokenize;

use conn::{Answer, Conn};

use clap::Parser;
use hyper::Method;
use serde_json::{json, Value};

/// Drives running `checkout-server` instances and prints one JSON report per phase.
#[derive(Debug, Clone, Parser)]
#[command(name = "checkout-load", version, about)]
struct Options {
    /// A server to drive (`http://host:port`), once per instance; connections are
    /// spread over them round-robin.
    #[arg(long = "target", required = true, value_parser = parse_target)]
    targets: Vec<String>,
    /// Persistent HTTP/1.1 connections, each driven by one task.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=4096))]
    connections: u16,
    /// Shoppers (accounts, each with its own login) per connection.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u16).range(1..=10_000))]
    shoppers_per_connection: u16,
    /// Seconds per phase.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    seconds: u64,
    /// Label of the run in the report.
    #[arg(long, default_value = "run")]
    label: String,
    /// Instead of the phases, the soak mix (browse, cart, checkout, leave / abandon / place /
    /// pay, sign out and in) for `--seconds`, one JSON line every `--report-every`.
    #[arg(long)]
    mix: bool,
    /// With `--mix`: seconds between report lines.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    report_every: u64,
    /// With `--mix`: the admin token, to shorten the checkout timeout to 5 minutes so
    /// abandoned checkouts expire during the run.
    #[arg(long)]
    admin_token: Option<String>,
    /// With `--mix`: requests per second in all, paced evenly over the connections (a
    /// steady load, as a shop has, instead of as many as the server can take).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    rate: Option<u32>,
    /// Instead of the phases, Pay Now end to end with this test card for `--seconds`:
    /// tokenize with the provider, start a checkout, choose, pay, and wait for the order
    /// (made by the provider's webhook when the answer is `processing`).
    #[arg(long, value_name = "CARD")]
    pay_flow: Option<String>,
    /// Instead of the phases, order events to a downstream system: a receiver here is
    /// added as an outbox endpoint (needs `--admin-token`), orders are placed at
    /// `--rate` per second for `--seconds`, and the events' lag is reported.
    #[arg(long)]
    outbox_lag: bool,
    /// With `--outbox-lag`: add first an endpoint that accepts connections and never
    /// answers, beside the live one (a dead receiver must not delay another).
    #[arg(long, requires = "outbox_lag")]
    dead_endpoint: bool,
    /// Shoppers are the shop's own customers instead of accounts: a file of signed
    /// tokens (JWTs, one per line, at least one per shopper, made by the shop's identity
    /// provider), each sent in the cookie `--shop-token-cookie` (CONTRACT §19).
    #[arg(long, value_name = "FILE")]
    shop_tokens: Option<std::path::PathBuf>,
    /// The cookie the server reads the shop's token from (its `--jwt-cookie`).
    #[arg(long, default_value = "shop_id_token")]
    shop_token_cookie: String,
    /// With the phases: a last phase, the shop's backend making each shopper a checkout
    /// from its priced cart with this key (the server's `--backend-api-key`).
    #[arg(long)]
    backend_key: Option<String>,
}

/// Every load shopper's password.
const PASSWORD: &str = "load-test-password";

/// A target must be plain HTTP on a host and port (the generator speaks HTTP/1.1 over TCP).
fn parse_target(raw: &str) -> Result<String, String> {
    let target = raw.trim_end_matches('/');
    let host = target
        .strip_prefix("http://")
        .ok_or_else(|| format!("{raw}: a target is http://host:port"))?;
    if host.is_empty() || !host.contains(':') || host.contains('/') {
        return Err(format!("{raw}: a target is http://host:port"));
    }
    Ok(target.to_owned())
}

/// A shopper with a session.
#[derive(Clone)]
struct Shopper {
    name: String,
    cookie: String,
    session: String,
    digest: String,
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    errors: usize,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    f64::from(sorted[rank.min(sorted.len() - 1)]) / 1000.0
}

fn report(options: &Options, name: &str, elapsed: Duration, tallies: Vec<Tally>) -> Value {
    let mut all: Vec<u32> = tallies
        .iter()
        .flat_map(|t| t.latencies_us.iter().copied())
        .collect();
    let errors: usize = tallies.iter().map(|t| t.errors).sum();
    all.sort_unstable();
    let rps = all.len() as f64 / elapsed.as_secs_f64();
    let (p50, p99) = (percentile(&all, 50.0), percentile(&all, 99.0));
    println!(
        "| {} | {name} | {} | {:.0} | {:.2} | {:.2} | {errors} |",
        options.label,
        all.len(),
        rps,
        p50,
        p99
    );
    json!({"label": options.label, "endpoint": name, "requests": all.len(), "rps": rps, "p50_ms": p50, "p99_ms": p99, "errors": errors})
}

/// Opens a connection and prepares `count` shoppers on it, each with a checkout: new
/// accounts, or the shop's customers whose token cookies are given.
async fn setup_worker(
    base: String,
    worker: usize,
    count: usize,
    shop_cookies: Vec<String>,
) -> Result<(Conn, Vec<Shopper>), String> {
    let mut conn = Conn::open(&base).await?;
    let mut shoppers = Vec::with_capacity(count);
    let run = std::process::id();
    for i in 0..count {
        let name = format!("load{run}w{worker}s{i}");
        let cookie = match shop_cookies.get(i) {
            Some(cookie) => cookie.clone(),
            None => conn.sign_up(&name).await?,
        };
        conn.send(
            Method::POST,
            "/api/v1/cart/items",
            Some(&cookie),
            &[],
            Some(&json!({"sku": "BRW-FUDGE", "quantity": 2})),
        )
        .await?;
        let s = conn
            .send(Method::POST, "/api/v1/checkouts", Some(&cookie), &[], None)
            .await?;
        if s.status != 201 {
            return Err(format!("initiation failed: {} {}", s.status, s.body));
        }
        shoppers.push(Shopper {
            name,
            cookie,
            session: s.body["id"].as_str().unwrap_or_default().to_owned(),
            digest: s.body["digest"].as_str().unwrap_or_default().to_owned(),
        });
    }
    Ok((conn, shoppers))
}

/// Gives each shopper's current session a shipping address, standard shipping and
/// invoice, keeping the digest the last choice answered.
async fn choose_for_orders(conn: &mut Conn, shoppers: &mut [Shopper]) -> Result<(), String> {
    for shopper in shoppers {
        for (what, body) in mix::order_steps("invoice") {
            let path = format!("/api/v1/checkouts/{}/{what}", shopper.session);
            let a = conn
                .send(Method::PUT, &path, Some(&shopper.cookie), &[], Some(&body))
                .await?;
            if a.status != 200 {
                return Err(format!("choosing {what} failed: {} {}", a.status, a.body));
            }
            shopper.digest = a.body["digest"].as_str().unwrap_or_default().to_owned();
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Health,
    GetCheckout,
    Initiate,
    PlaceOrder,
    /// The shop's backend, with this bearer header.
    BackendInitiate,
}

/// The priced cart of the backend phase for `customer`: the line the catalog phase's
/// cart holds (two fudge brownies at the bakery's price and food rate), priced by the
/// shop.
fn priced_cart(customer: &str) -> Value {
    json!({
        "customer": {"id": customer},
        "currency": "USD", "prices_include_tax": false,
        "lines": [{"sku": "BRW-FUDGE", "name": "Fudge brownie", "quantity": 2, "unit_price": 350, "tax_rate_bps": 725}],
        "shipping_methods": [{"id": "standard", "name": "Standard", "price": 499, "tax_rate_bps": 0}],
        "payment_methods": [{"id": "invoice", "name": "Invoice"}],
        "metadata": {"cart_id": customer}
    })
}

async fn run_phase(
    phase: Phase,
    workers: &mut [(Conn, Vec<Shopper>)],
    seconds: u64,
    backend: Option<&str>,
) -> Result<(Duration, Vec<Tally>), String> {
    let bearer = backend.map(|key| format!("Bearer {key}"));
    let bearer = bearer.as_deref().unwrap_or_default();
    let run = std::process::id();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks = workers
        .iter_mut()
        .enumerate()
        .map(|(w, (conn, shoppers))| async move {
            let mut tally = Tally::default();
            let mut i = 0usize;
            loop {
                if phase == Phase::PlaceOrder {
                    if i >= shoppers.len() {
                        break;
                    }
                } else if Instant::now() >= deadline {
                    break;
                }
                let n = shoppers.len();
                let shopper = &mut shoppers[i % n];
                let t = Instant::now();
                let answer = match phase {
                    Phase::Health => conn.send(Method::GET, "/healthz", None, &[], None).await?,
                    Phase::GetCheckout => {
                        let path = format!("/api/v1/checkouts/{}", shopper.session);
                        conn.send(Method::GET, &path, Some(&shopper.cookie), &[], None)
                            .await?
                    }
                    Phase::Initiate => {
                        let a = conn
                            .send(
                                Method::POST,
                                "/api/v1/checkouts",
                                Some(&shopper.cookie),
                                &[],
                                None,
                            )
                            .await?;
                        if a.status == 201 {
                            shopper.session = a.body["id"].as_str().unwrap_or_default().to_owned();
                            shopper.digest =
                                a.body["digest"].as_str().unwrap_or_default().to_owned();
                        }
                        a
                    }
                    Phase::BackendInitiate => {
                        let key = format!("load-{run}-{w}-{i}");
                        conn.send(
                            Method::POST,
                            "/api/v1/backend/checkouts",
                            None,
                            &[("authorization", bearer), ("idempotency-key", &key)],
                            Some(&priced_cart(&shopper.name)),
                        )
                        .await?
                    }
                    Phase::PlaceOrder => {
                        let path = format!("/api/v1/checkouts/{}/place-order", shopper.session);
                        let key = format!("load-{w}-{i}");
                        let body = json!({"snapshot_digest": shopper.digest});
                        conn.send(
                            Method::POST,
                            &path,
                            Some(&shopper.cookie),
                            &[("idempotency-key", &key)],
                            Some(&body),
                        )
                        .await?
                    }
                };
                let micros = u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX);
                tally.latencies_us.push(micros);
                if !(200..300).contains(&answer.status) {
                    tally.errors += 1;
                }
                i += 1;
            }
            Ok::<Tally, String>(tally)
        });
    let tallies = futures::future::join_all(tasks)
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    Ok((started.elapsed(), tallies))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let options = Options::parse();
    match run(options).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("checkout-load: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> Result<(), String> {
    eprintln!(
        "preparing {} shoppers on {} connection(s) to {:?}…",
        usize::from(options.connections) * usize::from(options.shoppers_per_connection),
        options.connections,
        options.targets
    );
    if options.shop_tokens.is_some()
        && (options.mix || options.pay_flow.is_some() || options.outbox_lag)
    {
        return Err(
            "--shop-tokens is for the phases only (the mix signs in with passwords)".into(),
        );
    }
    let per = usize::from(options.shoppers_per_connection);
    let tokens: Vec<String> = match &options.shop_tokens {
        None => Vec::new(),
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| format!("--shop-tokens {}: {e}", file.display()))?;
            let tokens: Vec<String> = text.lines().map(str::to_owned).collect();
            if tokens.len() < usize::from(options.connections) * per {
                return Err(format!(
                    "--shop-tokens: fewer tokens than shoppers ({})",
                    tokens.len()
                ));
            }
            tokens
        }
    };
    let setups = (0..usize::from(options.connections)).map(|w| {
        let base = options.targets[w % options.targets.len()].clone();
        let cookies: Vec<String> = tokens
            .iter()
            .skip(w * per)
            .take(per)
            .map(|t| format!("{}={t}", options.shop_token_cookie))
            .collect();
        setup_worker(base, w, per, cookies)
    });
    let mut workers = Vec::new();
    for s in futures::future::join_all(setups).await {
        workers.push(s?);
    }
    if let Some(card) = &options.pay_flow {
        return pay::run_pay_flow(workers, card, options.seconds, &options.label).await;
    }
    if options.outbox_lag {
        let token = options
            .admin_token
            .as_deref()
            .ok_or("--outbox-lag needs --admin-token")?;
        let rate = options.rate.unwrap_or(1_000);
        return pay::run_outbox_lag(
            workers,
            &options.targets[0],
            token,
            rate,
            options.seconds,
            options.dead_endpoint,
            &options.label,
        )
        .await;
    }
    if options.mix {
        if let Some(token) = &options.admin_token {
            mix::shorten_timeout(&options.targets[0], token).await?;
        }
        return mix::run(workers, options.seconds, options.report_every, options.rate).await;
    }
    let options = Arc::new(options);
    println!("| run | endpoint | requests | req/s | p50 ms | p99 ms | non-2xx |");
    println!("|---|---|---|---|---|---|---|");
    let mut results = Vec::new();
    let mut phases = vec![
        (Phase::Health, "GET /healthz"),
        (Phase::GetCheckout, "GET /checkouts/{id}"),
        (Phase::Initiate, "POST /checkouts"),
        (Phase::PlaceOrder, "POST /checkouts/{id}/place-order"),
    ];
    if options.backend_key.is_some() {
        phases.push((Phase::BackendInitiate, "POST /backend/checkouts"));
    }
    for (phase, name) in phases {
        if phase == Phase::PlaceOrder {
            // Not measured: an order needs a shipping method and, for Place Order, a
            // deferred payment method (CONTRACT §5a).
            let choosing = workers
                .iter_mut()
                .map(|(conn, shoppers)| choose_for_orders(conn, shoppers));
            for chosen in futures::future::join_all(choosing).await {
                chosen?;
            }
        }
        let before = cpu::Usage::now();
        let backend = options.backend_key.as_deref();
        let (elapsed, tallies) = run_phase(phase, &mut workers, options.seconds, backend).await?;
        let requests: usize = tallies.iter().map(|t| t.latencies_us.len()).sum();
        eprintln!(
            "{name}: {}",
            cpu::line(
                &cpu::Usage::now().since(&before),
                requests as u64,
                elapsed.as_secs_f64()
            )
        );
        results.push(report(&options, name, elapsed, tallies));
    }
    eprintln!("{}", serde_json::to_string(&results).unwrap_or_default());
    Ok(())
}
