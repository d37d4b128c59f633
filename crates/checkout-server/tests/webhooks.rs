//! Order events as receivers verify them (CONTRACT §21), with real receivers over real
//! HTTP and HTTPS: a receiver's `Retry-After` and 410 Gone honoured, event types per
//! endpoint, secret rotation with two signatures, HTTPS with a test CA, private
//! addresses refused (also when a name resolves to one at delivery), and one endpoint
//! that never answers delaying no other. (The official `standardwebhooks` libraries
//! verify the deliveries in the test command's end-to-end phase: tests/e2e/webhooks.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    collections::BTreeSet,
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use checkout_core::webhook::{self, Secret};
use common::{
    receiver::{receiver, tls_receiver, Hit, Receiver, TestPki},
    Backend, Resp, Server,
};
use reqwest::Method;
use serde_json::{json, Value};

async fn listener() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// Adds an endpoint with `body`; the answer.
async fn add(server: &Server, body: Value) -> Resp {
    server
        .admin(Method::POST, "/admin/webhook-endpoints", Some(body))
        .await
}

async fn endpoints(server: &Server) -> Vec<Value> {
    let r = server
        .admin(Method::GET, "/admin/webhook-endpoints", None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body.as_array().unwrap().clone()
}

/// Whether `hit` verifies under `secret` (the core's Standard Webhooks verifier).
fn verifies(hit: &Hit, secret: &str) -> bool {
    let secret = Secret::parse(secret).unwrap();
    webhook::verify(
        webhook::Headers {
            id: Some(&hit.event_id),
            timestamp: hit.timestamp.as_deref(),
            signature: hit.signature.as_deref(),
        },
        hit.body.as_bytes(),
        &[&secret],
        chrono::Utc::now(),
    )
    .is_ok()
}

/// Enables endpoint `id` again (after a 410, or stopped).
async fn enable(server: &Server, id: &str) {
    let r = server
        .admin(
            Method::PUT,
            &format!("/admin/webhook-endpoints/{id}"),
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
}

async fn retry_after_and_gone(backend: Backend) {
    let server = Server::start(backend).await;
    let rx = receiver(listener().await, 0);
    rx.replies
        .lock()
        .unwrap()
        .extend([(429, Some("3".to_owned())), (500, None), (410, None)]);
    let r = add(&server, json!({"url": rx.url()})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let first = server.shopper("bob").await.order("b").await;
    // 429 with Retry-After: 3 → not again before 3 s; then 500 → the schedule's 1 s
    // (the second failed attempt waits 2 s); then 410 → the endpoint is disabled.
    rx.wait_for_hits(3, Duration::from_secs(20)).await;
    let hits = rx.hits();
    let gap = |i: usize| hits[i + 1].at.duration_since(hits[i].at);
    assert!(gap(0) >= Duration::from_millis(2_900), "{:?}", gap(0));
    assert!(gap(1) < Duration::from_millis(2_900), "{:?}", gap(1));
    let mut listed = endpoints(&server).await;
    for _ in 0..40 {
        if listed[0]["status"] == "disabled" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        listed = endpoints(&server).await;
    }
    assert_eq!(listed[0]["status"], "disabled", "{listed:?}");
    assert!(
        listed[0]["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410"),
        "{listed:?}"
    );
    // Disabled, it gets nothing more; what happens meanwhile waits for it.
    let second = server.shopper("carol").await.order("c").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(rx.hits().len(), 3);
    let id = listed[0]["id"].as_str().unwrap();
    enable(&server, id).await;
    // Enabled again, it resumes from where it stopped: both events arrive.
    rx.wait_for(2, Duration::from_secs(15)).await;
    let orders: BTreeSet<String> = rx.delivered_orders();
    let expected: BTreeSet<String> = [&first, &second]
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(orders, expected);
    assert_eq!(endpoints(&server).await[0]["status"], "active");
    // Disabled again by a 410 while 19 more endpoints are on: enabling it is not a
    // 21st active endpoint.
    rx.replies.lock().unwrap().push_back((410, None));
    server.shopper("dave").await.order("d").await;
    for _ in 0..100 {
        if endpoints(&server)
            .await
            .iter()
            .any(|e| e["status"] == "disabled")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for i in 0..19 {
        let r = add(&server, json!({"url": format!("http://127.0.0.1:9/{i}")})).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    enable(&server, id).await;
    rx.wait_for(3, Duration::from_secs(15)).await;
    server.stop().await;
}
on_both_backends!(
    retry_after_is_honoured_and_410_disables_until_enabled,
    retry_after_and_gone
);

async fn event_types(backend: Backend) {
    let server = Server::start(backend).await;
    for bad in [json!([]), json!(["order.shipped"]), json!("order.paid")] {
        add(
            &server,
            json!({"url": "http://127.0.0.1:9/x", "event_types": bad}),
        )
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    }
    let (only, all) = (receiver(listener().await, 0), receiver(listener().await, 0));
    let r = add(
        &server,
        json!({"url": only.url(), "event_types": ["order.approved", "order.approved"]}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["event_types"], json!(["order.approved"]));
    add(&server, json!({"url": all.url()})).await;
    let bob = server.shopper("bob").await;
    let s = bob.checkout().await;
    let submitted = bob
        .action(
            s["id"].as_str().unwrap(),
            "submit-for-approval",
            s["digest"].as_str().unwrap(),
            "k",
        )
        .await;
    assert_eq!(submitted.status, 201, "{}", submitted.body);
    let approve = format!(
        "/approvals/{}/approve",
        submitted.body["id"].as_str().unwrap()
    );
    let r = server
        .admin(
            Method::POST,
            &approve,
            Some(json!({"snapshot_digest": submitted.body["snapshot"]["digest"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    all.wait_for(2, Duration::from_secs(10)).await;
    only.wait_for(1, Duration::from_secs(10)).await;
    let types =
        |rx: &Receiver| -> Vec<String> { rx.hits().into_iter().map(|h| h.event_type).collect() };
    assert_eq!(
        types(&all),
        ["order.submitted_for_approval", "order.approved"]
    );
    assert_eq!(types(&only), ["order.approved"]);
    server.stop().await;
}
on_both_backends!(
    an_endpoint_gets_only_the_event_types_it_asked_for,
    event_types
);

async fn rotation(backend: Backend) {
    let server = Server::start(backend).await;
    let rx = receiver(listener().await, 0);
    let created = add(&server, json!({"url": rx.url()})).await;
    let old = created.body["secret"].as_str().unwrap().to_owned();
    // 24 random bytes at least, as standard base64 behind whsec_.
    assert!(
        Secret::parse(&old).is_some() && old.starts_with("whsec_"),
        "{old}"
    );
    let id = created.body["id"].as_str().unwrap();
    let rotated = server
        .admin(
            Method::POST,
            &format!("/admin/webhook-endpoints/{id}/rotate-secret"),
            None,
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new = rotated.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    server.shopper("bob").await.order("b").await;
    rx.wait_for(1, Duration::from_secs(10)).await;
    let hit = &rx.hits()[0];
    assert_eq!(
        hit.signature.as_deref().unwrap().split(' ').count(),
        2,
        "{hit:?}"
    );
    assert!(verifies(hit, &old) && verifies(hit, &new));
    // Rotated again the same day (an admin retrying a lost answer): the first secret
    // still signs, beside both newer ones.
    let again = server
        .admin(
            Method::POST,
            &format!("/admin/webhook-endpoints/{id}/rotate-secret"),
            None,
        )
        .await;
    let newest = again.body["secret"].as_str().unwrap().to_owned();
    server.shopper("dave").await.order("d").await;
    rx.wait_for(2, Duration::from_secs(10)).await;
    let hit = &rx.hits()[1];
    let signatures = hit.signature.as_deref().unwrap().split(' ').count();
    assert_eq!(signatures, 3, "{hit:?}");
    assert!(verifies(hit, &old) && verifies(hit, &new) && verifies(hit, &newest));
    // A day later the old secrets sign no more.
    server.advance(24 * 3600 + 1).await;
    server.shopper("carol").await.order("c").await;
    rx.wait_for(3, Duration::from_secs(10)).await;
    let hit = &rx.hits()[2];
    let signatures = hit.signature.as_deref().unwrap().split(' ').count();
    assert_eq!(signatures, 1, "{hit:?}");
    assert!(verifies(hit, &newest) && !verifies(hit, &old) && !verifies(hit, &new));
    let missing = server
        .admin(
            Method::POST,
            "/admin/webhook-endpoints/we_nope/rotate-secret",
            None,
        )
        .await;
    missing.assert_problem("NOT_FOUND", 404);
    server.stop().await;
}
on_both_backends!(
    a_rotated_secret_signs_beside_the_old_one_for_a_day,
    rotation
);

/// HTTPS to a receiver whose certificate a test CA issued: delivered when the server
/// trusts that CA (`--extra-ca-file`), never when it does not.
async fn https(backend: Backend) {
    let pki = TestPki::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("test-ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let trusting = Server::start_with(backend, |c| c.extra_ca_file = Some(ca_file.clone())).await;
    let rx = tls_receiver(listener().await, &pki);
    let url = format!("https://localhost:{}/hook", rx.addr.port());
    let created = add(&trusting, json!({"url": url})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    trusting.shopper("bob").await.order("b").await;
    rx.wait_for(1, Duration::from_secs(10)).await;
    assert!(verifies(
        &rx.hits()[0],
        created.body["secret"].as_str().unwrap()
    ));
    trusting.stop().await;

    let untrusting = Server::start(backend).await;
    let rx = tls_receiver(listener().await, &pki);
    let url = format!("https://127.0.0.1:{}/hook", rx.addr.port());
    assert_eq!(add(&untrusting, json!({"url": url})).await.status, 201);
    untrusting.shopper("bob").await.order("b").await;
    let error = wait_for_error(&untrusting).await;
    assert!(error.to_lowercase().contains("certificate"), "{error}");
    assert!(rx.hits().is_empty());
    untrusting.stop().await;
}
on_both_backends!(https_receivers_are_trusted_by_the_extra_ca_only, https);

/// The first delivery's last error, once it has one.
async fn wait_for_error(server: &Server) -> String {
    let start = Instant::now();
    loop {
        let list = server
            .admin(Method::GET, "/admin/outbox/deliveries", None)
            .await;
        if let Some(error) = list.body[0]["last_error"].as_str() {
            return error.to_owned();
        }
        assert!(start.elapsed() < Duration::from_secs(15), "{}", list.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Without `--outbox-allow-private`: loopback, private and link-local endpoints are
/// refused when added, and a name that resolves to loopback is refused when sent to.
async fn private_addresses(backend: Backend) {
    let server = Server::start_with(backend, |c| c.outbox_allow_private = false).await;
    let rx = receiver(listener().await, 0);
    let port = rx.addr.port();
    for refused in [
        rx.url(),
        format!("https://127.0.0.1:{port}/hook"),
        format!("https://localhost:{port}/hook"),
        format!("https://[::1]:{port}/hook"),
        format!("https://0x7f.1:{port}/hook"),
        "https://10.0.0.1/hook".to_owned(),
        "https://169.254.169.254/latest/meta-data".to_owned(),
        "https://[::ffff:192.168.0.1]/hook".to_owned(),
        "http://erp.example.com/hook".to_owned(),
    ] {
        add(&server, json!({"url": refused}))
            .await
            .assert_problem("VALIDATION_FAILED", 422);
    }
    // A name (not an address) passes when added; this machine's own name resolves to
    // a loopback address when sent to, and is refused then.
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name = name.trim().to_owned();
    let loopback = std::net::ToSocketAddrs::to_socket_addrs(&(name.as_str(), port))
        .map(|mut addrs| addrs.all(|a| a.ip().is_loopback()))
        .unwrap_or(false);
    assert!(
        loopback && !name.is_empty() && name != "localhost",
        "this test needs the machine's name ({name:?}) to resolve to loopback, as Debian's /etc/hosts has it"
    );
    let sneaky = format!("https://{name}:{port}/hook");
    assert_eq!(add(&server, json!({"url": sneaky})).await.status, 201);
    server.shopper("bob").await.order("b").await;
    let error = wait_for_error(&server).await;
    assert!(error.contains("private"), "{error}");
    assert!(rx.hits().is_empty());
    server.stop().await;
}
on_both_backends!(
    private_addresses_are_refused_also_after_resolution,
    private_addresses
);

/// One receiver never answers, one is healthy: every delivery to the healthy one
/// arrives within a second of its order (p99), while orders keep coming.
async fn isolation(backend: Backend) {
    const ORDERS: usize = 1_000;
    const SHOPPERS: usize = 16;
    let server = Server::start(backend).await;
    let dead = receiver(listener().await, 0);
    dead.hang.store(true, Ordering::SeqCst);
    let healthy = receiver(listener().await, 0);
    assert_eq!(add(&server, json!({"url": dead.url()})).await.status, 201);
    assert_eq!(
        add(&server, json!({"url": healthy.url()})).await.status,
        201
    );
    let mut shoppers = Vec::new();
    for i in 0..SHOPPERS {
        shoppers.push(server.shopper(&format!("iso{i}")).await);
    }
    let started = Instant::now();
    let tasks = shoppers.into_iter().enumerate().map(|(i, shopper)| {
        tokio::spawn(async move {
            for n in 0..ORDERS / SHOPPERS + usize::from(i < ORDERS % SHOPPERS) {
                shopper.order(&format!("k{n}")).await;
            }
        })
    });
    for task in futures::future::join_all(tasks).await {
        task.unwrap();
    }
    let placing = started.elapsed();
    healthy.wait_for(ORDERS, Duration::from_secs(30)).await;
    let mut lags: Vec<i64> = healthy
        .hits()
        .iter()
        .filter(|h| h.answered < 300)
        .map(|h| {
            let body: Value = serde_json::from_str(&h.body).unwrap();
            let created: chrono::DateTime<chrono::Utc> = body["data"]["order"]["created_at"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            (h.arrived - created).num_milliseconds()
        })
        .collect();
    lags.sort_unstable();
    let p99 = lags[lags.len() * 99 / 100];
    println!(
        "isolation ({backend:?}): {ORDERS} orders in {placing:.1?}, healthy receiver lag p50 {} ms, p99 {p99} ms, max {} ms; the dead one held {} requests",
        lags[lags.len() / 2],
        lags[lags.len() - 1],
        dead.hits().len()
    );
    assert!(p99 < 1_000, "p99 lag {p99} ms");
    server.stop().await;
}
on_both_backends!(a_receiver_that_never_answers_delays_no_other, isolation);
