//! Several `checkout-server` processes sharing one PostgreSQL database (CONTRACT §10):
//! concurrent initiations spread across instances leave exactly one `ACTIVE`, place-order
//! races across instances make one order, and checkout numbers stay unique and gapless.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{number_part, Server, Shopper};
use futures::future::join_all;

const INSTANCES: usize = 3;

async fn signed_up(client: &reqwest::Client, base: &str, name: &str) -> Shopper {
    Shopper::sign_up(client, base, name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_share_one_truth() {
    let Some(cluster) = common::Cluster::start(INSTANCES, &[]).await else {
        return;
    };
    let common::Cluster {
        processes: instances,
        url,
        dir: _dir,
    } = cluster;
    let client = Server::client();
    let bases: Vec<String> = instances.iter().map(|p| p.base.clone()).collect();
    let alice = signed_up(&client, &bases[0], "alice").await;
    alice.add("BRW-FUDGE", 1).await;
    // The same shopper (same cookie) on every instance.
    let on: Vec<Shopper> = instances
        .iter()
        .map(|p| p.shopper(&client, "alice"))
        .collect();

    // 150 initiations spread across the instances: exactly one ACTIVE.
    let answers = join_all((0..150).map(|i| on[i % INSTANCES].initiate())).await;
    let ids: Vec<String> = answers
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.body);
            r.str("id")
        })
        .collect();
    let statuses = join_all(ids.iter().enumerate().map(|(i, id)| {
        let s = on[(i + 1) % INSTANCES].clone();
        async move { s.session(id).await["status"].as_str().unwrap().to_owned() }
    }))
    .await;
    assert_eq!(
        statuses.iter().filter(|s| *s == "ACTIVE").count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| *s == "INACTIVE").count(), 149);

    // Place-order races across instances: one key, then many keys — one order.
    let active = on[1].get("/checkouts/active").await;
    let active = on[1].ready(active.body).await;
    let (id, digest) = (
        active["id"].as_str().unwrap().to_owned(),
        active["digest"].as_str().unwrap().to_owned(),
    );
    let same_key =
        join_all((0..90).map(|i| on[i % INSTANCES].place_order(&id, &digest, "cross-instance")))
            .await;
    let orders: BTreeSet<String> = same_key
        .iter()
        .filter(|r| r.status == 201)
        .map(|r| r.str("id"))
        .collect();
    assert_eq!(orders.len(), 1);
    assert_eq!(
        same_key
            .iter()
            .filter(|r| r.status == 201 && !r.replayed())
            .count(),
        1
    );
    for r in &same_key {
        assert!(
            r.status == 201 || r.code() == Some("REQUEST_IN_PROGRESS"),
            "{} {}",
            r.status,
            r.body
        );
    }
    alice.add("CKE-OAT", 1).await;
    let fresh = on[2].ready(on[2].initiate().await.body).await;
    let (id, digest) = (
        fresh["id"].as_str().unwrap().to_owned(),
        fresh["digest"].as_str().unwrap().to_owned(),
    );
    let many_keys = join_all((0..90).map(|i| {
        let (shopper, id, digest) = (&on[i % INSTANCES], &id, &digest);
        async move { shopper.place_order(id, digest, &format!("key-{i}")).await }
    }))
    .await;
    assert_eq!(many_keys.iter().filter(|r| r.status == 201).count(), 1);
    assert_eq!(
        many_keys
            .iter()
            .filter(|r| r.code() == Some("CHECKOUT_COMPLETED"))
            .count(),
        89
    );

    // Numbering across instances: 120 shoppers, unique and gapless.
    let bases = &bases;
    let shoppers = join_all((0..120).map(|i| async move {
        let s = signed_up(
            &Server::client(),
            &bases[i % INSTANCES],
            &format!("shopper{i}"),
        )
        .await;
        s.add("CKE-CHOC", 1).await;
        // Start on another instance than the one signed up on.
        Shopper {
            base: bases[(i + 1) % INSTANCES].clone(),
            ..s
        }
    }))
    .await;
    let answers = join_all(shoppers.iter().map(Shopper::initiate)).await;
    let mut numbers: Vec<i64> = answers
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.body);
            number_part(&r.str("number"))
        })
        .collect();
    numbers.sort_unstable();
    // 150 + 1 sessions came before these 120.
    assert_eq!(numbers, (152..=271).collect::<Vec<_>>());
    for p in instances {
        assert!(p.terminate().success());
    }
    common::drop_postgres_database(&url).await;
}
