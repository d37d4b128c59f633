//! Data has a lifetime (CONTRACT §11): the sweeper deletes checkouts that ended without
//! an order once the session retention has passed, with their events, and keeps orders,
//! their checkouts, live checkouts and every checkout that began a payment.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Backend, Server};

/// Waits (bounded) until `sql` counts `want`; returns the last count.
async fn settles(server: &Server, sql: &str, args: &[&str], want: i64) -> i64 {
    let mut n = -1;
    for _ in 0..150 {
        n = common::count(server.db(), sql, args).await;
        if n == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    n
}

const SESSION: &str = "SELECT COUNT(*) AS n FROM checkout_sessions WHERE id = $1";
const EVENTS: &str = "SELECT COUNT(*) AS n FROM checkout_events WHERE session_id = $1";

async fn purges_what_ended_without_an_order(backend: Backend) {
    let server = Server::start_with(backend, |c| c.session_retention_secs = 3_600).await;
    let alice = server.shopper("alice").await;
    // Superseded: purgeable.
    let left = alice.checkout().await;
    let left_id = left["id"].as_str().unwrap().to_owned();
    // Placed: kept with its order.
    let placed = alice.checkout().await;
    let placed_id = placed["id"].as_str().unwrap().to_owned();
    let order = alice
        .place_order(&placed_id, placed["digest"].as_str().unwrap(), "k-placed")
        .await;
    assert_eq!(order.status, 201, "{}", order.body);
    let order_id = order.str("id");
    // Began a payment that was declined, then superseded: kept (the provider saw it).
    let bob = server.shopper("bob").await;
    let declined = bob.bare_checkout().await;
    let declined_id = declined["id"].as_str().unwrap().to_owned();
    let chosen = bob.choose(&declined_id, "standard", "card").await;
    let paid = bob
        .pay(
            &declined_id,
            chosen["digest"].as_str().unwrap(),
            common::test_cards::DECLINE,
            "k-declined",
        )
        .await;
    assert!(paid.status >= 400, "{} {}", paid.status, paid.body);
    // Live, then lapsing during the wait: expired late, so kept the first time.
    let live = bob.checkout().await;
    let live_id = live["id"].as_str().unwrap().to_owned();
    let events = common::count(server.db(), EVENTS, &[&left_id]).await;
    assert!(events >= 2, "started, changed, superseded: {events}");

    server.advance(2 * 3_600).await;
    assert_eq!(
        settles(&server, SESSION, &[&left_id], 0).await,
        0,
        "not purged"
    );
    assert_eq!(common::count(server.db(), EVENTS, &[&left_id]).await, 0);
    alice
        .get(&format!("/checkouts/{left_id}"))
        .await
        .assert_problem("CHECKOUT_NOT_FOUND", 404);
    // The sweeper has stored the lapsed one as EXPIRED by now (a change just made).
    assert_eq!(
        settles(
            &server,
            "SELECT COUNT(*) AS n FROM checkout_sessions WHERE id = $1 AND status = 'EXPIRED'",
            &[&live_id],
            1
        )
        .await,
        1
    );
    for kept in [&placed_id, &declined_id, &live_id] {
        assert_eq!(
            common::count(server.db(), SESSION, &[kept]).await,
            1,
            "{kept}"
        );
    }
    assert_eq!(alice.session(&placed_id).await["status"], "COMPLETED");
    assert_eq!(alice.get(&format!("/orders/{order_id}")).await.status, 200);
    // A replay of the placed order's key still answers with the order.
    let again = alice
        .place_order(&placed_id, placed["digest"].as_str().unwrap(), "k-placed")
        .await;
    assert_eq!((again.status, again.str("id")), (201, order_id.clone()));

    // Another retention later the expired one goes too; the rest stay.
    server.advance(2 * 3_600).await;
    assert_eq!(settles(&server, SESSION, &[&live_id], 0).await, 0);
    for kept in [&placed_id, &declined_id] {
        assert_eq!(
            common::count(server.db(), SESSION, &[kept]).await,
            1,
            "{kept}"
        );
    }
    // Bob can still start a checkout, numbered after every purged one.
    assert_eq!(bob.checkout().await["status"], "ACTIVE");
    server.stop().await;
}
on_both_backends!(
    old_ended_checkouts_are_purged,
    purges_what_ended_without_an_order
);

/// A backlog larger than one batch is purged over several short transactions.
async fn purges_a_backlog_in_batches(backend: Backend) {
    let server = Server::start_with(backend, |c| c.session_retention_secs = 60).await;
    let shopper = server.shopper("many").await;
    shopper.add("BRW-FUDGE", 1).await;
    let n = checkout_server::ops::sweeper::PURGE_BATCH as usize + 50;
    for _ in 0..n {
        assert_eq!(shopper.initiate().await.status, 201);
    }
    server.advance(3_600).await;
    let left = settles(
        &server,
        "SELECT COUNT(*) AS n FROM checkout_sessions WHERE status = 'INACTIVE'",
        &[],
        0,
    )
    .await;
    assert_eq!(left, 0, "superseded checkouts left");
    let sessions = "SELECT COUNT(*) AS n FROM checkout_sessions";
    assert_eq!(
        common::count(server.db(), sessions, &[]).await,
        1,
        "the last one"
    );
    let orphans = "SELECT COUNT(*) AS n FROM checkout_events e WHERE NOT EXISTS \
                   (SELECT 1 FROM checkout_sessions s WHERE s.id = e.session_id)";
    assert_eq!(common::count(server.db(), orphans, &[]).await, 0);
    server.stop().await;
}
on_both_backends!(a_purge_backlog_goes_in_batches, purges_a_backlog_in_batches);

/// The purge finds its sessions through its own index, not by scanning every session.
#[tokio::test]
async fn the_purge_selection_uses_its_index() {
    let server = Server::start(Backend::Sqlite).await;
    let selection = checkout_server::db::sessions::purge_selection();
    let plan = common::query_plan(server.db(), &selection, &["0", "10"]).await;
    assert!(
        plan.iter()
            .any(|p| p.contains("checkout_sessions_purgeable")),
        "{plan:?}"
    );
    server.stop().await;
}

const KEPT: &str = "SELECT COUNT(*) AS n FROM session_snapshots WHERE session_id = $1";

/// An ordered checkout keeps no earlier summaries (they only explain a mismatch to a
/// live checkout's tab); one that ended without an order keeps them for its restore.
async fn ordering_forgets_the_earlier_summaries(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let started = alice.bare_checkout().await;
    let id = started["id"].as_str().unwrap().to_owned();
    let chosen = alice.choose(&id, "standard", "invoice").await;
    assert!(
        common::count(server.db(), KEPT, &[&id]).await >= 1,
        "a change keeps the summary before it"
    );
    let order = alice
        .place_order(&id, chosen["digest"].as_str().unwrap(), "k-order")
        .await;
    assert_eq!(order.status, 201, "{}", order.body);
    assert_eq!(common::count(server.db(), KEPT, &[&id]).await, 0);
    let replay = alice
        .place_order(&id, chosen["digest"].as_str().unwrap(), "k-order")
        .await;
    assert_eq!(
        replay.status, 201,
        "the replay still answers: {}",
        replay.body
    );
    assert_eq!(replay.str("id"), order.str("id"));
    // A stale tab (the first summary, a new key) is told the checkout was ordered.
    let stale = alice
        .place_order(&id, started["digest"].as_str().unwrap(), "k-stale")
        .await;
    assert!(
        stale.status >= 400 && stale.status < 500,
        "{} {}",
        stale.status,
        stale.body
    );
    assert_ne!(stale.code(), Some("SNAPSHOT_MISMATCH"), "{}", stale.body);

    let bob = server.shopper("bob").await;
    let left = bob.bare_checkout().await;
    let left_id = left["id"].as_str().unwrap().to_owned();
    bob.choose(&left_id, "standard", "card").await;
    bob.checkout().await;
    assert!(
        common::count(server.db(), KEPT, &[&left_id]).await >= 1,
        "a checkout that ended without an order keeps its summaries"
    );
    server.stop().await;
}
on_both_backends!(
    an_order_forgets_earlier_summaries,
    ordering_forgets_the_earlier_summaries
);
