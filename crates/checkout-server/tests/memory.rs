//! A growth test, not a timed one: the server process (a real `checkout-server`) takes
//! rounds of the full flow — cart, checkout, shipping and payment, place order or pay
//! with the simulated provider, the order read back — and its anonymous memory after a
//! round must not keep growing with the rounds. A leak of anything per request or per
//! order (a cache without a bound, a map never pruned, a task never ended) shows as a
//! second round above the first. File-backed memory is left out: the readers map the
//! database file, which grows with the orders by design (`RssFile`, not `RssAnon`).
//!
//! The same rounds hold the server's file descriptors flat: the database files, the
//! listener and the runtime's own stay as they are, and the connections it opens to the
//! payment provider are pooled, never more than the calls in flight at once (the
//! full-speed soak of issue 34 saw them rise with the answer time, to the pool's cap).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{test_cards, Process, Server, Shopper};
use futures::future::join_all;

/// `RssAnon` of a process, in KiB.
fn anonymous_kib(pid: u32) -> u64 {
    common::status_kib(pid, "RssAnon")
}

/// The server's open file descriptors, and how many of them are connections it opened
/// to the payment provider (sockets of the process whose far end is `provider_port`).
fn descriptors(pid: u32, provider_port: u16) -> (usize, usize) {
    let mut sockets = std::collections::HashSet::new();
    let mut total = 0;
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
    {
        total += 1;
        if let Ok(target) = std::fs::read_link(entry.path()) {
            let target = target.to_string_lossy().into_owned();
            if let Some(inode) = target
                .strip_prefix("socket:[")
                .and_then(|t| t.strip_suffix(']'))
            {
                sockets.insert(inode.to_owned());
            }
        }
    }
    let mut to_provider = 0;
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let far_port = fields[2]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if far_port == Some(provider_port) && fields[3] == "01" && sockets.contains(fields[9]) {
                to_provider += 1;
            }
        }
    }
    (total, to_provider)
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
    let provider_port: u16 = {
        let base = &server.provider.as_ref().unwrap().base;
        base.rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches('/')
            .parse()
            .unwrap()
    };
    round(&shoppers, 30, 0).await;
    round(&shoppers, 30, 1).await;
    let first = anonymous_kib(pid);
    let fds_first = descriptors(pid, provider_port);
    round(&shoppers, 30, 2).await;
    let second = anonymous_kib(pid);
    let fds_second = descriptors(pid, provider_port);
    round(&shoppers, 30, 3).await;
    let third = anonymous_kib(pid);
    let fds_third = descriptors(pid, provider_port);
    println!("memory: RssAnon after rounds of 480 orders: {first} KiB, {second} KiB, {third} KiB");
    println!(
        "descriptors (all, to the provider) after each round: {fds_first:?}, {fds_second:?}, {fds_third:?}"
    );
    // The 16 shoppers' connections, the database files and the provider's pooled
    // connections: the same after every round, give or take a connection closing late.
    for (total, to_provider) in [fds_second, fds_third] {
        assert!(
            total <= fds_first.0 + 4,
            "file descriptors kept growing: {fds_first:?} -> {fds_second:?} -> {fds_third:?}"
        );
        // At most a payment and a webhook's lookup per shopper at once: a loose bound
        // (16 shoppers), against a client that opened a connection per call; the
        // total above is the check that would see a leak.
        assert!(
            to_provider <= 32,
            "more connections to the provider than calls ever in flight: {to_provider}"
        );
    }
    // A real leak grows every round; allocator noise does not. Each later round may add
    // at most 4 MiB (or 5 %) to the first.
    let margin = (first / 20).max(4 * 1024);
    assert!(
        second <= first + margin && third <= first + margin,
        "anonymous memory kept growing: {first} -> {second} -> {third} KiB"
    );
    server.kill();
}
