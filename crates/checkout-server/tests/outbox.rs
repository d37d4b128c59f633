//! Order events to downstream systems (CONTRACT §14) with a real receiver over real
//! HTTP: signed, stable ids, at least once, in order per checkout, retried while the
//! receiver fails or is down, kept across a `kill -9`, and delivered by several
//! instances sharing PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use common::{
    receiver::{receiver, Hit},
    Backend, Process, Resp, Server, Shopper, ADMIN,
};
use reqwest::Method;
use serde_json::{json, Value};

async fn admin_at(base: &str, method: Method, path: &str, body: Option<Value>) -> Resp {
    let mut req = Server::client()
        .request(method, format!("{base}/api/v1{path}"))
        .bearer_auth(ADMIN);
    if let Some(body) = body {
        req = req.json(&body);
    }
    common::read(req.send().await.unwrap()).await
}

/// Adds an endpoint; returns its secret.
async fn endpoint(base: &str, url: &str) -> String {
    let r = admin_at(
        base,
        Method::POST,
        "/admin/webhook-endpoints",
        Some(json!({"url": url})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.str("secret")
}

async fn submit(shopper: &Shopper, key: &str) -> Value {
    let s = shopper.checkout().await;
    let r = shopper
        .action(
            s["id"].as_str().unwrap(),
            "submit-for-approval",
            s["digest"].as_str().unwrap(),
            key,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

async fn events_arrive(backend: Backend) {
    let server = Server::start(backend).await;
    let rx = receiver(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        3,
    );
    let secret = endpoint(&server.base, &rx.url()).await;
    let bob = server.shopper("bob").await;
    let carol = server.shopper("carol").await;
    let dave = server.shopper("dave").await;
    let bobs = submit(&bob, "b").await;
    let approve = format!("/approvals/{}/approve", bobs["id"].as_str().unwrap());
    let r = server
        .admin(
            Method::POST,
            &approve,
            Some(json!({"snapshot_digest": bobs["snapshot"]["digest"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    carol.order("c").await;
    let daves = submit(&dave, "d").await;
    let reject = format!("/approvals/{}/reject", daves["id"].as_str().unwrap());
    assert_eq!(
        server
            .admin(Method::POST, &reject, Some(json!({"reason": "no"})))
            .await
            .status,
        200
    );
    rx.wait_for(5, Duration::from_secs(30)).await;

    let hits = rx.hits();
    let now = chrono::Utc::now();
    for hit in &hits {
        // Signed as Standard Webhooks with the endpoint's secret, over the id, the time
        // and the exact body (the official libraries check the same in the test
        // command's webhook phase); the body is `{type, timestamp, data}`.
        let key = checkout_core::webhook::Secret::parse(&secret).unwrap();
        checkout_core::webhook::verify(
            checkout_core::webhook::Headers {
                id: Some(&hit.event_id),
                timestamp: hit.timestamp.as_deref(),
                signature: hit.signature.as_deref(),
            },
            hit.body.as_bytes(),
            &[&key],
            now,
        )
        .unwrap_or_else(|e| panic!("{e}: {hit:?}"));
        assert!(hit.event_id.starts_with("evt_"), "{hit:?}");
        let body: Value = serde_json::from_str(&hit.body).unwrap();
        let fields: BTreeSet<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(fields, BTreeSet::from(["type", "timestamp", "data"]));
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'), "{body}");
        // The order as an ERP ships it (CONTRACT §18): the customer, the address and
        // each line's net, tax and gross.
        let order = &body["data"]["order"];
        assert!(
            order["customer"]["id"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            "{order}"
        );
        assert_eq!(
            order["snapshot"]["shipping_address"]["country"], "US",
            "{order}"
        );
        for line in order["snapshot"]["lines"].as_array().unwrap() {
            let part = |f: &str| line[f].as_i64().unwrap();
            assert_eq!(part("net") + part("tax"), part("gross"), "{line}");
        }
    }
    // The three failures were retried with the same event ids.
    let failed: BTreeSet<String> = hits
        .iter()
        .filter(|h| h.answered == 500)
        .map(|h| h.event_id.clone())
        .collect();
    assert!(
        !failed.is_empty() && failed.is_subset(&rx.delivered()),
        "{hits:?}"
    );
    // Each event delivered; the types are the effects, per checkout in order: no later
    // event of a checkout is sent before the earlier one was delivered.
    let mut per_checkout: BTreeMap<String, Vec<(usize, &Hit)>> = BTreeMap::new();
    for (i, hit) in hits.iter().enumerate() {
        per_checkout
            .entry(hit.checkout_id.clone())
            .or_default()
            .push((i, hit));
    }
    let kinds = |id: &str| -> Vec<String> {
        let mut seen = Vec::new();
        for (_, h) in &per_checkout[id] {
            if h.answered < 300 && !seen.contains(&h.event_type) {
                seen.push(h.event_type.clone());
            }
        }
        seen
    };
    assert_eq!(
        kinds(bobs["checkout_id"].as_str().unwrap()),
        ["order.submitted_for_approval", "order.approved"]
    );
    assert_eq!(
        kinds(daves["checkout_id"].as_str().unwrap()),
        ["order.submitted_for_approval", "order.rejected"]
    );
    for attempts in per_checkout.values() {
        let first_delivered = attempts
            .iter()
            .find(|(_, h)| h.answered < 300)
            .map(|(i, _)| *i)
            .unwrap();
        let first_kind = &attempts[0].1.event_type;
        for (i, h) in attempts {
            if &h.event_type != first_kind {
                assert!(
                    *i > first_delivered,
                    "a later event was sent before the first was delivered: {attempts:?}"
                );
            }
        }
    }
    // The admin sees every delivery with its attempts, once the sender has stored the
    // receiver's last answer (it does so after the answer arrives).
    let start = Instant::now();
    let rows = loop {
        let list = server
            .admin(Method::GET, "/admin/outbox/deliveries", None)
            .await;
        assert_eq!(list.status, 200, "{}", list.body);
        let rows = list.body.as_array().unwrap().clone();
        if rows.len() == 5 && rows.iter().all(|d| d["state"] == "delivered") {
            break rows;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{rows:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let attempts: i64 = rows.iter().map(|d| d["attempts"].as_i64().unwrap()).sum();
    assert_eq!(attempts, 5 + 3);
    server.stop().await;
}
on_both_backends!(
    events_arrive_signed_once_and_in_order_after_failures,
    events_arrive
);

async fn receiver_down(backend: Backend) {
    let server = Server::start(backend).await;
    // A port with nothing listening on it yet.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    endpoint(&server.base, &format!("http://127.0.0.1:{port}/hook")).await;
    let bob = server.shopper("bob").await;
    let carol = server.shopper("carol").await;
    bob.order("b").await;
    carol.order("c").await;
    // Attempts fail and are kept, with why.
    let start = Instant::now();
    loop {
        let rows = server
            .admin(Method::GET, "/admin/outbox/deliveries", None)
            .await
            .body;
        let rows = rows.as_array().unwrap();
        if rows.len() == 2 && rows.iter().all(|d| d["attempts"].as_i64() >= Some(1)) {
            assert!(
                rows.iter()
                    .all(|d| d["state"] == "pending" && d["last_error"].is_string()),
                "{rows:?}"
            );
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{rows:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The receiver comes up: everything arrives.
    let rx = receiver(
        tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap(),
        0,
    );
    rx.wait_for(2, Duration::from_secs(30)).await;
    server.stop().await;
}
on_both_backends!(a_receiver_down_for_a_while_gets_every_event, receiver_down);

/// `kill -9` after the order and before its delivery: the event is in the database with
/// the order, and the restarted server delivers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_server_still_delivers_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let first = Process::spawn(dir.path(), &[]);
    endpoint(&first.base, &format!("http://127.0.0.1:{port}/hook")).await;
    let client = Server::client();
    let bob = Shopper::sign_up(&client, &first.base, "bob").await;
    let order = bob.order("k").await;
    first.kill();
    let rx = receiver(
        tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap(),
        0,
    );
    let second = Process::spawn(dir.path(), &[]);
    rx.wait_for(1, Duration::from_secs(30)).await;
    let hit = rx.hits().into_iter().find(|h| h.answered < 300).unwrap();
    assert_eq!(hit.event_type, "order.placed");
    let body: Value = serde_json::from_str(&hit.body).unwrap();
    assert_eq!(body["data"]["order"]["id"], order["id"]);
    second.kill();
}

/// Two instances on one PostgreSQL database: every event is delivered (at least once).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_deliver_every_event() {
    if common::postgres_admin_url().is_none() {
        println!("SKIPPED (no CHECKOUT_TEST_POSTGRES_URL): two instances need PostgreSQL");
        return;
    }
    let url = common::fresh_postgres_database().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = "one shared secret for every instance, 32+ bytes";
    let instances: Vec<Process> = (0..2)
        .map(|i| {
            Process::spawn(
                &dir.path().join(format!("i{i}")),
                &["--database-url", &url, "--token-secret", secret],
            )
        })
        .collect();
    let rx = receiver(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        0,
    );
    endpoint(&instances[0].base, &rx.url()).await;
    let client = Server::client();
    let mut orders = BTreeSet::new();
    for i in 0..20 {
        let base = &instances[i % 2].base;
        let shopper = Shopper::sign_up(&client, base, &format!("shopper{i}")).await;
        let order = shopper.order("k").await;
        orders.insert(order["id"].as_str().unwrap().to_owned());
    }
    rx.wait_for(20, Duration::from_secs(30)).await;
    let delivered_orders: BTreeSet<String> = rx.delivered_orders();
    assert_eq!(delivered_orders, orders);
    let sent = rx.hits().len();
    println!(
        "two instances: 20 events, {sent} requests ({} duplicates)",
        sent - 20
    );
    drop(instances);
    common::drop_postgres_database(&url).await;
}

async fn finished_deliveries_are_purged(backend: Backend) {
    let server = Server::start_with(backend, |c| c.session_retention_secs = 60).await;
    let rx = receiver(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        0,
    );
    endpoint(&server.base, &rx.url()).await;
    // One delivered, one pending for ever (an endpoint with nothing listening).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    endpoint(&server.base, &format!("http://127.0.0.1:{port}/hook")).await;
    server.shopper("bob").await.order("b").await;
    rx.wait_for(1, Duration::from_secs(30)).await;
    server.advance(120).await;
    let start = Instant::now();
    loop {
        let rows = server
            .admin(Method::GET, "/admin/outbox/deliveries", None)
            .await
            .body;
        let states: Vec<&str> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["state"].as_str().unwrap())
            .collect();
        if states == ["pending"] {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "{states:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The event stays while a delivery of it is pending.
    let events = common::count(server.db(), "SELECT COUNT(*) AS n FROM outbox_events", &[]).await;
    assert_eq!(events, 1);
    server.stop().await;
}
on_both_backends!(
    finished_deliveries_are_purged_after_the_retention,
    finished_deliveries_are_purged
);

async fn held_back_and_sent_again(backend: Backend) {
    let server = Server::start(backend).await;
    let rx = receiver(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        usize::MAX,
    );
    endpoint(&server.base, &rx.url()).await;
    let bob = server.shopper("bob").await;
    let order = submit(&bob, "b").await;
    let approve = format!("/approvals/{}/approve", order["id"].as_str().unwrap());
    assert_eq!(
        server
            .admin(
                Method::POST,
                &approve,
                Some(json!({"snapshot_digest": order["snapshot"]["digest"]}))
            )
            .await
            .status,
        200
    );
    // The first event is tried and refused; the second waits behind it.
    let start = Instant::now();
    while rx.hits().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Past its retry time it is given up; the later one is never sent meanwhile.
    server.advance(73 * 3600).await;
    let start = Instant::now();
    loop {
        let rows = server
            .admin(Method::GET, "/admin/outbox/deliveries", None)
            .await
            .body;
        let states: Vec<(String, String)> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["event_type"].as_str().unwrap().to_owned(),
                    d["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        if states.contains(&("order.submitted_for_approval".into(), "failed".into())) {
            assert!(
                states.contains(&("order.approved".into(), "pending".into())),
                "{states:?}"
            );
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{states:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let types: BTreeSet<String> = rx.hits().into_iter().map(|h| h.event_type).collect();
    assert_eq!(
        types,
        BTreeSet::from(["order.submitted_for_approval".to_owned()])
    );
    // The receiver is fixed; the admin sends the given-up event again, and both arrive
    // in order.
    rx.failures.store(0, Ordering::SeqCst);
    let r = server
        .admin(Method::POST, "/admin/outbox/redeliver", Some(json!({})))
        .await;
    assert_eq!(
        (r.status, r.body["redelivered"].as_i64()),
        (200, Some(1)),
        "{}",
        r.body
    );
    rx.wait_for(2, Duration::from_secs(20)).await;
    let delivered: Vec<String> = rx
        .hits()
        .into_iter()
        .filter(|h| h.answered < 300)
        .map(|h| h.event_type)
        .collect();
    assert_eq!(
        delivered,
        ["order.submitted_for_approval", "order.approved"]
    );
    server.stop().await;
}
on_both_backends!(
    a_given_up_event_holds_later_ones_back_until_sent_again,
    held_back_and_sent_again
);

async fn endpoints_are_checked_and_can_be_stopped(backend: Backend) {
    let server = Server::start(backend).await;
    for bad in [
        "http:///x",
        "http://127.0.0.1:0/x",
        "http://user:pass@127.0.0.1/x",
        "http://127.0.0.1/a b",
        "http://127.0.0.1/x\r\nX-Injected: 1",
        "http://10.0.0.1/x",
        "http://erp.example.com/x",
        "ftp://127.0.0.1/x",
        "not a url",
    ] {
        let r = server
            .admin(
                Method::POST,
                "/admin/webhook-endpoints",
                Some(json!({"url": bad})),
            )
            .await;
        r.assert_problem("VALIDATION_FAILED", 422);
    }
    // Stopped, an endpoint gets nothing; resumed, it gets what waited.
    let rx = receiver(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        0,
    );
    endpoint(&server.base, &rx.url()).await;
    let id = server
        .admin(Method::GET, "/admin/webhook-endpoints", None)
        .await
        .body[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let stop = server
        .admin(
            Method::DELETE,
            &format!("/admin/webhook-endpoints/{id}"),
            None,
        )
        .await;
    assert_eq!(stop.status, 204);
    // While stopped, a new order adds no delivery for it; one made before it stopped waits.
    server.shopper("bob").await.order("b").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(rx.hits().is_empty());
    let resume = server
        .admin(
            Method::PUT,
            &format!("/admin/webhook-endpoints/{id}"),
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(resume.status, 204);
    server.shopper("carol").await.order("c").await;
    rx.wait_for(1, Duration::from_secs(10)).await;
    // At most 20 active endpoints.
    for i in 0..19 {
        endpoint(&server.base, &format!("http://127.0.0.1:9/{i}")).await;
    }
    server
        .admin(
            Method::POST,
            "/admin/webhook-endpoints",
            Some(json!({"url": "http://127.0.0.1:9/one-more"})),
        )
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    server.stop().await;
}
on_both_backends!(
    endpoints_are_checked_capped_and_can_be_stopped,
    endpoints_are_checked_and_can_be_stopped
);
