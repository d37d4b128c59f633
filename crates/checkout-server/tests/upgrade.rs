//! Upgrading several instances on one PostgreSQL database, expand then contract (CONTRACT
//! §22, README "Operating"), with a real earlier release: the previous release's binary
//! (`CHECKOUT_PREVIOUS_SERVER_BIN`, built from git by `cargo xtask test`) serves while
//! shoppers keep ordering; the new release's `migrate` expands the schema under it; a new
//! instance joins and both serve the same shoppers — a checkout started on one is placed
//! on the other; the old one drains and stops. Every acknowledged order is there once,
//! and an old instance restarted mid-upgrade refuses the newer schema with a clear message.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use common::{Process, Server, Shopper};

const SECRET: &str = "one shared secret for every instance, 32+ bytes";

/// Orders placed by one shopper until `stop`, each checkout started on one live
/// instance and placed on the next: (order id, where it started, where it was placed).
async fn keep_ordering(
    client: reqwest::Client,
    name: String,
    live: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
) -> Vec<(String, String, String)> {
    let mut placed = Vec::new();
    let mut turn = 0usize;
    while !stop.load(Ordering::SeqCst) {
        let bases = live.lock().unwrap().clone();
        let (start, place) = (&bases[turn % bases.len()], &bases[(turn + 1) % bases.len()]);
        turn += 1;
        let on = |base: &String| Shopper {
            client: client.clone(),
            base: base.clone(),
            name: name.clone(),
        };
        let s = on(start).bare_checkout().await;
        let id = s["id"].as_str().unwrap();
        // The shopper goes on where the order is placed: an address (the previous
        // release has no addresses: 404 there, and it needs none), then the methods.
        let placer = on(place);
        let addressed = placer.ship_to(id, "US").await;
        assert!(
            addressed.status == 200 || addressed.code() == Some("NOT_FOUND"),
            "{}",
            addressed.body
        );
        let shipped = placer.select(id, "shipping-method", "standard").await;
        assert_eq!(shipped.status, 200, "{}", shipped.body);
        let chosen = placer.select(id, "payment-method", "invoice").await;
        assert_eq!(chosen.status, 200, "{}", chosen.body);
        let r = placer
            .place_order(id, &chosen.str("digest"), &format!("{name}-{turn}"))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        placed.push((r.str("id"), start.clone(), place.clone()));
    }
    placed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_old_and_a_new_release_serve_one_database_through_an_upgrade() {
    let Some(old_binary) = std::env::var_os("CHECKOUT_PREVIOUS_SERVER_BIN").map(PathBuf::from)
    else {
        println!("SKIPPED (no CHECKOUT_PREVIOUS_SERVER_BIN): `cargo xtask test` builds it");
        return;
    };
    if common::postgres_admin_url().is_none() {
        println!("SKIPPED (no CHECKOUT_TEST_POSTGRES_URL): the upgrade runs on PostgreSQL");
        return;
    }
    let url = common::fresh_postgres_database().await;
    let dir = tempfile::tempdir().unwrap();
    let args = ["--database-url", url.as_str(), "--token-secret", SECRET];
    let old = Process::spawn_binary(&old_binary, &dir.path().join("old"), &args, "warn");
    let live = Arc::new(Mutex::new(vec![old.base.clone()]));
    let stop = Arc::new(AtomicBool::new(false));
    let mut shoppers = Vec::new();
    for i in 0..4 {
        // Each with its own cookies (its login holds on every instance: same host).
        let client = Server::client();
        let name = format!("reader-{i}");
        Shopper::sign_up(&client, &old.base, &name).await;
        let task = keep_ordering(client.clone(), name, Arc::clone(&live), Arc::clone(&stop));
        shoppers.push(tokio::spawn(task));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // (1) The new release's migrate expands the schema under the serving old release.
    let migrated = std::process::Command::new(env!("CARGO_BIN_EXE_checkout-server"))
        .args(["migrate", "--database-url", &url])
        .arg("--data-dir")
        .arg(dir.path().join("migrate"))
        .output()
        .unwrap();
    assert!(migrated.status.success(), "{migrated:?}");
    tokio::time::sleep(Duration::from_secs(1)).await;

    // (2) A new instance joins: both serve the same shoppers.
    let new = Process::spawn(&dir.path().join("new"), &args);
    live.lock().unwrap().push(new.base.clone());
    tokio::time::sleep(Duration::from_secs(3)).await;

    // An old instance (re)started now refuses the newer schema, saying why.
    let restarted = std::process::Command::new(&old_binary)
        .args(["--bind", "127.0.0.1:0", "--admin-token", common::ADMIN])
        .args(args)
        .arg("--data-dir")
        .arg(dir.path().join("old-again"))
        .output()
        .unwrap();
    assert!(!restarted.status.success());
    let said = String::from_utf8_lossy(&restarted.stderr);
    assert!(said.contains("newer than this checkout-server"), "{said}");

    // (3) The old instance drains (no new work is sent to it) and stops.
    live.lock().unwrap().retain(|base| *base != old.base);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let old_base = old.base.clone();
    assert!(old.terminate().success());
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    let mut acknowledged = Vec::new();
    for shopper in shoppers {
        acknowledged.extend(shopper.await.unwrap());
    }

    let mixed = |from: &str, to: &str| {
        acknowledged
            .iter()
            .filter(|(_, start, place)| start == from && place == to)
            .count()
    };
    let (old_to_new, new_to_old) = (mixed(&old_base, &new.base), mixed(&new.base, &old_base));
    assert!(
        old_to_new > 0 && new_to_old > 0,
        "checkouts moved between releases: {old_to_new} old→new, {new_to_old} new→old"
    );
    let db = checkout_server::db::Db::connect(Some(&url), dir.path(), 2)
        .await
        .unwrap();
    let stored = common::texts(&db, "SELECT id AS s FROM orders ORDER BY id", &[]).await;
    let mut ids: Vec<String> = acknowledged.iter().map(|(id, _, _)| id.clone()).collect();
    ids.sort();
    assert_eq!(stored, ids, "every acknowledged order, once, and no other");
    println!(
        "upgrade: {} orders acknowledged ({old_to_new} started on the old release and placed on \
         the new, {new_to_old} the other way), all stored once",
        ids.len()
    );
    db.close().await;
    common::drop_postgres_database(&url).await;
}
