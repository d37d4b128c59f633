//! Cost that does not grow with the stored data (issue 34): the same requests and
//! sweeps read no more rows in full table scans when the database holds twenty thousand
//! more checkouts, orders, events, keys, logins and outbox events than before.
//!
//! SQLite counts the rows each statement steps through in full scans
//! (`checkout_sqlite_full_scan_rows` on `/metrics`). The counter is global to the
//! process, so this file holds one test: no other server adds to it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Backend, Server};

/// Rows of each kind added between the two rounds.
const FILL: u32 = 20_000;

/// The full-scan counter on `/metrics`.
async fn scanned(server: &Server) -> u64 {
    let page = server.metrics_page().await;
    page.lines()
        .find_map(|l| l.strip_prefix("checkout_sqlite_full_scan_rows_total "))
        .map_or(0, |n| n.trim().parse().unwrap())
}

/// A shopper's whole visit (start, look, order, read the order), then three sweeps.
async fn round(server: &Server, name: &str) {
    let shopper = server.shopper(name).await;
    let left = shopper.checkout().await;
    let started = shopper.checkout().await;
    let id = started["id"].as_str().unwrap();
    assert_ne!(left["id"], started["id"]);
    let seen = shopper.get(&format!("/checkouts/{id}")).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    let order = shopper
        .place_order(
            id,
            started["digest"].as_str().unwrap(),
            &format!("{name}-k"),
        )
        .await;
    assert_eq!(order.status, 201, "{}", order.body);
    let again = shopper
        .place_order(
            id,
            started["digest"].as_str().unwrap(),
            &format!("{name}-k"),
        )
        .await;
    assert_eq!(again.status, 201, "the replay: {}", again.body);
    let read = shopper.get(&format!("/orders/{}", order.str("id"))).await;
    assert_eq!(read.status, 200, "{}", read.body);
    // The sweeper runs every 200 ms here.
    tokio::time::sleep(Duration::from_millis(700)).await;
}

/// Copies of the stored rows: `FILL` shoppers with a login, an expired checkout with
/// its events and kept summaries, an order with its outbox event, and a key each.
fn fill_sql() -> String {
    let series =
        format!("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {FILL})");
    [
        "INSERT INTO users (id, username, password_hash, created_at) \
         SELECT 'fill-u-' || i, 'fill-' || i, '', 0 FROM s",
        "INSERT INTO logins (token_hash, user_id, created_at, expires_at) \
         SELECT 'fill-' || i, 'fill-u-' || i, 0, 9000000000000 FROM s",
        "INSERT INTO checkout_sessions (id, user_id, seq, number, status, managed, started_at, \
         expires_at, generation, pricing_input, snapshot, digest, updated_at) \
         SELECT 'fill-s-' || i, 'fill-u-' || i, 1000000 + i, 'FILL-' || i, 'EXPIRED', t.managed, \
         t.started_at, t.expires_at, 0, t.pricing_input, t.snapshot, t.digest, t.updated_at \
         FROM s, (SELECT * FROM checkout_sessions LIMIT 1) t",
        "INSERT INTO checkout_events (session_id, to_status, transition, at) \
         SELECT 'fill-s-' || i, e.to_status, e.transition, e.at \
         FROM s, (SELECT * FROM checkout_events LIMIT 1) e",
        "INSERT INTO session_snapshots (session_id, digest, snapshot) \
         SELECT 'fill-s-' || i, t.digest, t.snapshot FROM s, (SELECT * FROM checkout_sessions LIMIT 1) t",
        "INSERT INTO orders (id, session_id, user_id, checkout_number, kind, status, snapshot, \
         grand_total, currency, created_at) \
         SELECT 'fill-o-' || i, 'fill-s-' || i, 'fill-u-' || i, 'FILL-' || i, o.kind, o.status, \
         o.snapshot, o.grand_total, o.currency, o.created_at FROM s, (SELECT * FROM orders LIMIT 1) o",
        "INSERT INTO outbox_events (id, checkout_id, order_id, type, payload, created_at) \
         SELECT 'evt_fill_' || i, 'fill-s-' || i, 'fill-o-' || i, x.type, x.payload, x.created_at \
         FROM s, (SELECT * FROM outbox_events LIMIT 1) x",
        "INSERT INTO idempotency_keys (user_id, endpoint, idem_key, fingerprint, state, \
         response_status, response_body, created_at, started_at) \
         SELECT 'fill-u-' || i, k.endpoint, 'fill-' || i, k.fingerprint, k.state, \
         k.response_status, k.response_body, k.created_at, k.started_at \
         FROM s, (SELECT * FROM idempotency_keys LIMIT 1) k",
    ]
    .map(|insert| format!("{series} {insert}"))
    .join(";\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_and_sweeps_scan_no_more_rows_when_the_database_holds_more() {
    // Nothing here is old enough to purge: the purges must find that out without
    // reading what they keep.
    let server = Server::start_with(Backend::Sqlite, |c| c.session_retention_secs = 3_600).await;
    round(&server, "warm").await;
    let before = scanned(&server).await;
    round(&server, "small").await;
    let small = scanned(&server).await - before;

    let mut tx = server.db().begin_write().await.unwrap();
    for statement in fill_sql().split(";\n") {
        let added = checkout_server::db::query(statement)
            .execute(&mut tx)
            .await
            .unwrap();
        assert_eq!(added, u64::from(FILL), "{statement}");
    }
    tx.commit().await.unwrap();

    let before = scanned(&server).await;
    round(&server, "large").await;
    let large = scanned(&server).await - before;
    eprintln!(
        "full-scan rows: {small} with a small database, {large} with {FILL} more of everything"
    );
    // A statement that read one of the filled tables would add 20,000 (per sweep).
    assert!(
        large < small + 1_000,
        "full-scan rows: {small} with a small database, {large} with {FILL} more of everything"
    );
    // Where the writer's time went, for an operator looking for a cost that grows: each
    // statement's time and runs by connection, and how long the writer was held.
    let page = server.metrics_page().await;
    let value = |prefix: &str| -> f64 {
        page.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|rest| rest.rsplit(' ').next())
            .map_or(0.0, |n| n.parse().unwrap())
    };
    let orders = "{connection=\"writer\",statement=\"INSERT INTO orders (id, session_id";
    assert_eq!(
        value(&format!("checkout_sqlite_statement_runs_total{orders}")),
        3.0,
        "three orders"
    );
    assert!(value(&format!("checkout_sqlite_statement_seconds_total{orders}")) > 0.0);
    assert!(value("checkout_sqlite_writer_held_seconds_count{name=\"transaction\"}") >= 3.0);
    assert!(value("checkout_sqlite_writer_held_seconds_count{name=\"commit\"}") >= 3.0);
    server.stop().await;
}
