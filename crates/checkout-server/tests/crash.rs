//! The crash run (CONTRACT §11): shoppers place orders concurrently, retrying every
//! unanswered request with the same `Idempotency-Key`, while the server is killed with
//! SIGKILL and restarted several times; then the history is checked. No session has two
//! orders, every acknowledged order is still there and replays with its key, no shopper
//! has two live checkouts, checkout numbers are unique, and no answer was a 5xx. On
//! PostgreSQL the database itself is also crashed once (`restart -m immediate`); 5xx
//! answers are allowed only during that outage, and retried.
//!
//! Bounded in time (`CRASH_RUN_SECS`, default 12 s of load) so that it fits the test
//! command; `CRASH_RUN_SECS=300 cargo test --test crash -- --nocapture` is the long run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use common::{Process, Resp};
use reqwest::{Client, Method};
use serde_json::{json, Value};

const SHOPPERS: usize = 16;

fn run_secs() -> u64 {
    std::env::var("CRASH_RUN_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What the run saw.
#[derive(Default)]
struct History {
    /// (session id, key, order id) of every 201 a shopper received.
    acknowledged: Mutex<Vec<(String, String, String)>>,
    /// 5xx answers outside a database outage.
    server_errors: AtomicUsize,
    /// 5xx answers while the database itself was down (allowed: it is an outage).
    outage_errors: AtomicUsize,
    unanswered: AtomicUsize,
    /// Set while PostgreSQL itself is being crashed and restarted.
    database_down: std::sync::atomic::AtomicBool,
}

struct Shopper {
    client: Client,
    base: String,
    history: Arc<History>,
}

impl Shopper {
    /// Sends until an answer arrives (the server may be down): the same request, the
    /// same key. Gives up (`None`) only 30 s past `deadline`.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
        deadline: Instant,
    ) -> Option<Resp> {
        loop {
            let mut request = self
                .client
                .request(method.clone(), format!("{}/api/v1{path}", self.base))
                .timeout(Duration::from_secs(5));
            if let Some(key) = key {
                request = request.header("idempotency-key", key);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            match request.send().await {
                Ok(response) => {
                    let r = common::read(response).await;
                    if r.status >= 500 {
                        if self.history.database_down.load(Ordering::Relaxed) {
                            self.history.outage_errors.fetch_add(1, Ordering::Relaxed);
                            // An outage decides nothing: send the same request again.
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                        self.history.server_errors.fetch_add(1, Ordering::Relaxed);
                        eprintln!("5xx: {} {path}: {}", r.status, r.body);
                    }
                    return Some(r);
                }
                Err(_) => {
                    self.history.unanswered.fetch_add(1, Ordering::Relaxed);
                    if Instant::now() > deadline + Duration::from_secs(30) {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// Checkouts and orders until `deadline`.
    async fn shop(&self, n: usize, deadline: Instant) {
        let mut round = 0;
        while Instant::now() < deadline {
            round += 1;
            let Some(s) = self
                .send(Method::POST, "/checkouts", None, None, deadline)
                .await
            else {
                return;
            };
            if s.status != 201 {
                continue;
            }
            let id = s.str("id");
            let mut digest = s.str("digest");
            for (what, body) in [
                (
                    "shipping-address",
                    json!({"name": "K. Ill", "line1": "1 Main Street", "city": "Springfield",
                           "postal_code": "12345", "country": "US"}),
                ),
                ("shipping-method", json!({"method_id": "standard"})),
                ("payment-method", json!({"method_id": "invoice"})),
            ] {
                let Some(r) = self
                    .send(
                        Method::PUT,
                        &format!("/checkouts/{id}/{what}"),
                        Some(body),
                        None,
                        deadline,
                    )
                    .await
                else {
                    return;
                };
                if r.status == 200 {
                    digest = r.str("digest");
                }
            }
            let key = format!("crash-{n}-{round}");
            let Some(r) = self
                .send(
                    Method::POST,
                    &format!("/checkouts/{id}/place-order"),
                    Some(json!({"snapshot_digest": digest})),
                    Some(&key),
                    deadline,
                )
                .await
            else {
                return;
            };
            if r.status == 201 {
                self.history
                    .acknowledged
                    .lock()
                    .unwrap()
                    .push((id, key, r.str("id")));
            }
            // Put the cake back for the next checkout.
            let _ = self
                .send(
                    Method::POST,
                    "/cart/items",
                    Some(json!({"sku": "BRW-FUDGE", "quantity": 1})),
                    None,
                    deadline,
                )
                .await;
        }
    }
}

/// Crashes the local PostgreSQL cluster (`pg_ctlcluster … restart -m immediate`, as a
/// power cut would) and waits until it accepts connections again.
async fn crash_postgres(history: &History) -> bool {
    let clusters = std::process::Command::new("pg_lsclusters")
        .arg("--no-header")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let Some((version, name)) = clusters.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        Some((f.next()?.to_owned(), f.next()?.to_owned()))
    }) else {
        return false;
    };
    history.database_down.store(true, Ordering::Relaxed);
    let restarted = tokio::task::spawn_blocking(move || {
        std::process::Command::new("pg_ctlcluster")
            .args([&version, &name, "restart", "-m", "immediate"])
            .status()
            .is_ok_and(|s| s.success())
    })
    .await
    .unwrap_or(false);
    // The pool reconnects on its own; give it a moment before 5xx count again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    history.database_down.store(false, Ordering::Relaxed);
    restarted
}

async fn crash_run(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let bind = format!("127.0.0.1:{port}");
    let mut args = vec!["--bind", bind.as_str(), "--sweep-every-ms", "500"];
    if let Some(url) = &database_url {
        args.extend(["--database-url", url.as_str()]);
    }
    let mut server = Process::spawn(dir.path(), &args);
    let base = server.base.clone();
    let history = Arc::new(History::default());
    let mut shoppers = Vec::new();
    for i in 0..SHOPPERS {
        let client = Server::client();
        let shopper = common::Shopper::sign_up(&client, &base, &format!("crash{i}")).await;
        shopper.add("BRW-FUDGE", 1).await;
        shoppers.push(Arc::new(Shopper {
            client,
            base: base.clone(),
            history: Arc::clone(&history),
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(run_secs());
    let tasks: Vec<_> = shoppers
        .iter()
        .enumerate()
        .map(|(n, shopper)| {
            let shopper = Arc::clone(shopper);
            tokio::spawn(async move { shopper.shop(n, deadline).await })
        })
        .collect();
    // The killer: SIGKILL every 1–2 s, restart on the same port and data.
    let mut kills = 0;
    let mut database_crashes = 0;
    while Instant::now() < deadline {
        if database_url.is_some() && kills == 3 && database_crashes == 0 {
            assert!(
                crash_postgres(&history).await,
                "could not crash and restart PostgreSQL"
            );
            database_crashes += 1;
        }
        tokio::time::sleep(Duration::from_millis(900 + (kills % 3) * 400)).await;
        if Instant::now() >= deadline {
            break;
        }
        server.kill();
        kills += 1;
        tokio::time::sleep(Duration::from_millis(150)).await;
        server = tokio::task::spawn_blocking({
            let dir = dir.path().to_owned();
            let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
            move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                Process::spawn(&dir, &args)
            }
        })
        .await
        .unwrap();
    }
    for task in tasks {
        task.await.unwrap();
    }

    // The history check, against the restarted server and its database.
    let acknowledged = history.acknowledged.lock().unwrap().clone();
    let owner_of = |key: &str| -> usize { key.split('-').nth(1).unwrap().parse().unwrap() };
    for (session, key, order) in &acknowledged {
        let shopper = &shoppers[owner_of(key)];
        let r = shopper
            .send(
                Method::GET,
                &format!("/orders/{order}"),
                None,
                None,
                Instant::now(),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200, "acknowledged order {order} lost: {}", r.body);
        assert_eq!(r.body["checkout_id"], session.as_str());
        let replay = shopper
            .send(
                Method::POST,
                &format!("/checkouts/{session}/place-order"),
                Some(json!({"snapshot_digest": r.body["snapshot"]["digest"]})),
                Some(key),
                Instant::now(),
            )
            .await
            .unwrap();
        assert_eq!(replay.status, 201, "{}", replay.body);
        assert!(replay.replayed());
        assert_eq!(replay.str("id"), *order, "the key replays its own order");
    }
    let db = database(dir.path(), database_url.as_deref()).await;
    let twice = common::count(
        &db,
        "SELECT COUNT(*) AS n FROM (SELECT session_id FROM orders GROUP BY session_id HAVING COUNT(*) > 1) t",
        &[],
    )
    .await;
    assert_eq!(twice, 0, "a session with two orders");
    let two_live = common::count(
        &db,
        "SELECT COUNT(*) AS n FROM (SELECT user_id FROM checkout_sessions \
         WHERE status IN ('ACTIVE', 'PAYMENT_PENDING') AND managed = 1 GROUP BY user_id HAVING COUNT(*) > 1) t",
        &[],
    )
    .await;
    assert_eq!(two_live, 0, "a shopper with two live checkouts");
    let numbers = common::count(&db, "SELECT COUNT(*) AS n FROM checkout_sessions", &[]).await;
    let distinct = common::count(
        &db,
        "SELECT COUNT(DISTINCT number) AS n FROM checkout_sessions",
        &[],
    )
    .await;
    assert_eq!(numbers, distinct, "a checkout number given twice");
    let orders = common::count(&db, "SELECT COUNT(*) AS n FROM orders", &[]).await;
    let errors = history.server_errors.load(Ordering::Relaxed);
    println!(
        "crash run ({}): {kills} server kills and {database_crashes} database crash(es) in {} s, \
         {} orders acknowledged, {orders} in the database, {numbers} checkouts, {} unanswered \
         requests retried, {} x 5xx during the database outage, {errors} x 5xx otherwise; \
         violations: 0",
        if database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        run_secs(),
        acknowledged.len(),
        history.unanswered.load(Ordering::Relaxed),
        history.outage_errors.load(Ordering::Relaxed),
    );
    assert!(kills >= 3, "only {kills} kills");
    assert_eq!(database_crashes, usize::from(database_url.is_some()));
    assert!(!acknowledged.is_empty(), "no order was acknowledged");
    assert!(
        usize::try_from(orders).unwrap() >= acknowledged.len(),
        "fewer orders than acknowledged"
    );
    assert_eq!(errors, 0, "5xx answers");
    server.kill();
    db.close().await;
    if let Some(url) = &database_url {
        common::drop_postgres_database(url).await;
    }
}

/// The run's database (the SQLite file, or the PostgreSQL database), opened as the
/// server opens it.
async fn database(dir: &std::path::Path, url: Option<&str>) -> checkout_server::db::Db {
    checkout_server::db::Db::connect(url, dir, 2).await.unwrap()
}

use common::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_concurrent_orders_on_sqlite() {
    crash_run(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_concurrent_orders_on_postgres() {
    if common::postgres_admin_url().is_none() {
        println!(
            "SKIPPED (no CHECKOUT_TEST_POSTGRES_URL): sigkill_under_concurrent_orders_on_postgres"
        );
        return;
    }
    crash_run(Some(common::fresh_postgres_database().await)).await;
}
