//! Concurrency claims, tested with real concurrency: hundreds of simultaneous HTTP
//! requests against one server, on SQLite and (when configured) PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeSet, HashMap};

use common::{number_part, Backend, Server, Shopper};
use futures::future::join_all;

async fn one_shopper_many_initiations(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    alice.add("BRW-FUDGE", 1).await;
    let answers = join_all((0..200).map(|_| {
        let alice = alice.clone();
        async move { alice.initiate().await }
    }))
    .await;
    let mut ids = Vec::new();
    for r in &answers {
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(r.str("id"));
    }
    let statuses = join_all(ids.iter().map(|id| {
        let alice = alice.clone();
        async move {
            let s = alice.session(id).await;
            format!(
                "{}/{}",
                s["status"].as_str().unwrap(),
                s["reason"].as_str().unwrap_or("-")
            )
        }
    }))
    .await;
    let mut counts: HashMap<String, usize> = HashMap::new();
    for s in statuses {
        *counts.entry(s).or_default() += 1;
    }
    assert_eq!(counts.get("ACTIVE/-"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("INACTIVE/SUPERSEDED"), Some(&199), "{counts:?}");
    // The ACTIVE one is the latest, and it is what /checkouts/active returns.
    let active = alice.get("/checkouts/active").await;
    assert_eq!(active.body["is_latest"], true);
    server.stop().await;
}
on_both_backends!(
    two_hundred_initiations_by_one_shopper_leave_one_active,
    one_shopper_many_initiations
);

async fn same_key_races(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let s = alice.checkout().await;
    let id = s["id"].as_str().unwrap().to_owned();
    let digest = s["digest"].as_str().unwrap().to_owned();
    let answers = join_all((0..200).map(|_| {
        let (alice, id, digest) = (alice.clone(), id.clone(), digest.clone());
        async move { alice.place_order(&id, &digest, "one-key").await }
    }))
    .await;
    let mut orders = BTreeSet::new();
    let (mut fresh, mut replays, mut in_progress) = (0, 0, 0);
    for r in &answers {
        match (r.status, r.replayed()) {
            (201, false) => {
                fresh += 1;
                orders.insert(r.str("id"));
            }
            (201, true) => {
                replays += 1;
                orders.insert(r.str("id"));
            }
            (409, _) if r.code() == Some("REQUEST_IN_PROGRESS") => in_progress += 1,
            _ => panic!("unexpected answer {} {}", r.status, r.body),
        }
    }
    assert_eq!(fresh, 1, "exactly one request made the order");
    assert_eq!(orders.len(), 1, "every 201 names the same order");
    assert_eq!(fresh + replays + in_progress, 200);
    println!("same key x200: 1 order, {replays} replays, {in_progress} in progress");
    server.stop().await;
}
on_both_backends!(
    two_hundred_place_orders_with_one_key_make_one_order,
    same_key_races
);

async fn different_key_races(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let s = alice.checkout().await;
    let id = s["id"].as_str().unwrap().to_owned();
    let digest = s["digest"].as_str().unwrap().to_owned();
    let answers = join_all((0..200).map(|i| {
        let (alice, id, digest) = (alice.clone(), id.clone(), digest.clone());
        async move { alice.place_order(&id, &digest, &format!("key-{i}")).await }
    }))
    .await;
    let created = answers.iter().filter(|r| r.status == 201).count();
    let completed = answers
        .iter()
        .filter(|r| r.status == 409 && r.code() == Some("CHECKOUT_COMPLETED"))
        .count();
    assert_eq!(created, 1);
    assert_eq!(completed, 199);
    server.stop().await;
}
on_both_backends!(
    two_hundred_place_orders_with_different_keys_make_one_order,
    different_key_races
);

/// `count` shoppers signed up at once, each with a cake in the cart.
async fn shoppers_with_a_cake(server: &Server, count: usize) -> Vec<Shopper> {
    join_all((0..count).map(|i| async move {
        let s = server.shopper(&format!("shopper{i}")).await;
        s.add("CKE-CHOC", 1).await;
        s
    }))
    .await
}

async fn many_shoppers_numbering(backend: Backend) {
    let server = Server::start(backend).await;
    let shoppers = shoppers_with_a_cake(&server, 500).await;
    let answers = join_all(shoppers.iter().map(|s| s.initiate())).await;
    let mut numbers = BTreeSet::new();
    for r in &answers {
        assert_eq!(r.status, 201, "{}", r.body);
        numbers.insert(number_part(&r.str("number")));
    }
    assert_eq!(numbers.len(), 500, "numbers are unique");
    assert_eq!(
        numbers.iter().copied().collect::<Vec<_>>(),
        (1..=500).collect::<Vec<_>>(),
        "and gapless"
    );
    server.stop().await;
}
on_both_backends!(
    five_hundred_shoppers_get_unique_gapless_numbers,
    many_shoppers_numbering
);

/// PostgreSQL: an instance opens no more database connections than
/// `--database-max-connections`, however many requests arrive at once, and every request
/// still gets through (it waits for a connection instead).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_connections_stay_within_the_setting() {
    use sqlx::Connection;
    let Some(admin) = common::postgres_admin_url() else {
        println!("SKIPPED (no CHECKOUT_TEST_POSTGRES_URL): the connection limit is PostgreSQL's");
        return;
    };
    const LIMIT: u32 = 3;
    let server = Server::start_with(Backend::Postgres, |c| {
        c.database_max_connections = LIMIT;
    })
    .await;
    let shoppers = shoppers_with_a_cake(&server, 60).await;
    let answers = join_all(shoppers.iter().map(|s| s.initiate())).await;
    for r in &answers {
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let url = server.database_url.clone().unwrap();
    let (_, name) = url.rsplit_once('/').unwrap();
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1")
        .bind(name)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(
        (1..=i64::from(LIMIT)).contains(&open),
        "{open} connections open for a limit of {LIMIT}"
    );
    server.stop().await;
}
