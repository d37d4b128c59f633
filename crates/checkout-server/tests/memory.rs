//! A growth test, not a timed one: the server process (a real `checkout-server`) takes
//! rounds of the full flow — cart, checkout, shipping and payment, place order or pay
//! with the simulated provider, the order read back — and its anonymous memory after a
//! round must not keep growing with the rounds. A leak of anything per request or per
//! order (a cache without a bound, a map never pruned, a task never ended) shows as a
//! second round above the first. File-backed memory is left out: the readers map the
//! database file, which grows with the orders by design (`RssFile`, not `RssAnon`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{test_cards, Process, Server, Shopper};
use futures::future::join_all;

/// `RssAnon` of a process, in KiB.
fn anonymous_kib(pid: u32) -> u64 {
    common::status_kib(pid, "RssAnon")
}

/// Every shopper makes `visits` orders, half placed with Invoice and half paid by card.
async fn round(shoppers: &[Shopper], visits: usize, round: usize) {
    join_all(shoppers.iter().enumerate().map(|(i, shopper)| async move {
        for v in 0..visits {
            let started = shopper.bare_checkout().await;
            let id = started["id"].as_str().unwrap().to_owned();
            let paying = (i + v) % 2 == 1;
            let payment = if paying { "card" } else { "invoice" };
            let chosen = shopper.choose(&id, "standard", payment).await;
            let digest = chosen["digest"].as_str().unwrap().to_owned();
            let key = format!("memory-{round}-{i}-{v}");
            let ordered = if paying {
                shopper.pay(&id, &digest, test_cards::APPROVE, &key).await
            } else {
                shopper.place_order(&id, &digest, &key).await
            };
            assert_eq!(ordered.status, 201, "{}", ordered.body);
            let order = shopper.get(&format!("/orders/{}", ordered.str("id"))).await;
            assert_eq!(order.status, 200, "{}", order.body);
        }
    }))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn anonymous_memory_levels_off_over_rounds_of_orders() {
    let dir = tempfile::tempdir().unwrap();
    let server = Process::spawn(dir.path(), &[]);
    let pid = server.child.id();
    let mut shoppers = Vec::new();
    for i in 0..16 {
        let client = Server::client();
        shoppers.push(Shopper::sign_up(&client, &server.base, &format!("memory{i}")).await);
    }
    // Warm-up: connection buffers, statement caches, allocator arenas, page caches.
    round(&shoppers, 30, 0).await;
    round(&shoppers, 30, 1).await;
    let first = anonymous_kib(pid);
    round(&shoppers, 30, 2).await;
    let second = anonymous_kib(pid);
    round(&shoppers, 30, 3).await;
    let third = anonymous_kib(pid);
    println!("memory: RssAnon after rounds of 480 orders: {first} KiB, {second} KiB, {third} KiB");
    // A real leak grows every round; allocator noise does not. Each later round may add
    // at most 4 MiB (or 5 %) to the first.
    let margin = (first / 20).max(4 * 1024);
    assert!(
        second <= first + margin && third <= first + margin,
        "anonymous memory kept growing: {first} -> {second} -> {third} KiB"
    );
    server.kill();
}
