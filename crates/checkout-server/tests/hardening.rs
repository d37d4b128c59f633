//! What an attacker gets (CONTRACT §11), over real HTTP: bounded memory under a login
//! flood, throttling with `Retry-After`, refused requests that leave nothing in the
//! database, and a `/metrics` page that does not grow with input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Backend, Process, Resp, Server, Shopper, PASSWORD};
use futures::future::join_all;
use reqwest::Method;
use serde_json::json;

/// A process's peak resident memory (`VmHWM`) in KiB.
fn peak_kib(pid: u32) -> u64 {
    common::status_kib(pid, "VmHWM")
}

fn retry_after(r: &Resp) -> Option<u64> {
    r.headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

async fn login(base: &str, username: &str, password: &str) -> Resp {
    common::read(
        Server::client()
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// 200 concurrent wrong logins with the production Argon2 cost (19 MiB a hash): at most
/// two hashes run at once, so the server's peak memory stays far below what 200 parallel
/// hashes take (3.8 GiB); the rest wait briefly or get 503 with `Retry-After`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_flood_keeps_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let server = Process::spawn(
        dir.path(),
        &[
            "--argon2-memory-kib",
            "19456",
            "--max-concurrent-hashes",
            "2",
            "--hash-wait-ms",
            "300",
            "--login-failures-per-account",
            "1000000",
        ],
    );
    let pid = server.child.id();
    let client = Server::client();
    Shopper::sign_up(&client, &server.base, "victim").await;
    let before = peak_kib(pid);
    let answers = join_all((0..200).map(|i| {
        let base = server.base.clone();
        async move {
            let name = if i % 2 == 0 {
                "victim".to_owned()
            } else {
                format!("nobody{i}")
            };
            login(&base, &name, "wrong password!").await
        }
    }))
    .await;
    let after = peak_kib(pid);
    let mut unauthenticated = 0;
    let mut unavailable = 0;
    for r in &answers {
        match r.status {
            401 => unauthenticated += 1,
            503 => {
                r.assert_problem("SERVICE_UNAVAILABLE", 503);
                assert!(retry_after(r).is_some(), "503 without Retry-After");
                unavailable += 1;
            }
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    let grown_mib = after.saturating_sub(before) / 1024;
    println!(
        "login flood: 200 concurrent wrong logins -> {unauthenticated} x 401, {unavailable} x 503; \
         peak memory {} MiB -> {} MiB (+{grown_mib} MiB)",
        before / 1024,
        after / 1024
    );
    assert!(unauthenticated >= 2, "some logins must have been checked");
    // At most one 19 MiB Argon2 block per hashing thread (two here) and the connections'
    // buffers. Before the blocks were kept per thread (passwords.rs), glibc kept every
    // freed block: +270 MiB.
    assert!(grown_mib < 80, "peak memory grew by {grown_mib} MiB");
    // The right password still works afterwards.
    assert_eq!(login(&server.base, "victim", PASSWORD).await.status, 200);
}

async fn throttles(backend: Backend) {
    let server = Server::start_with(backend, |c| {
        c.login_failures_per_account = 5;
        c.login_failures_per_address = 8;
        c.signups_per_address_per_hour = 4;
        c.initiations_per_shopper_per_minute = 3;
    })
    .await;
    let client = Server::client();
    let alice = Shopper::sign_up(&client, &server.base, "alice").await;
    for _ in 0..5 {
        assert_eq!(
            login(&server.base, "alice", "wrong password").await.status,
            401
        );
    }
    // Past the limit even the right password waits: the attacker learns nothing.
    for password in ["wrong password", PASSWORD] {
        let r = login(&server.base, "alice", password).await;
        r.assert_problem("RATE_LIMITED", 429);
        assert!(
            retry_after(&r).is_some_and(|s| (1..=900).contains(&s)),
            "{:?}",
            r.headers
        );
    }
    // Per address: other accounts from the same address, up to 8 failures in all.
    for i in 0..3 {
        let r = login(&server.base, &format!("other{i}"), "wrong password").await;
        assert_eq!(r.status, 401, "{}", r.body);
    }
    login(&server.base, "other9", "wrong password")
        .await
        .assert_problem("RATE_LIMITED", 429);
    // After the window the right password works again.
    server.advance(15 * 60).await;
    assert_eq!(login(&server.base, "alice", PASSWORD).await.status, 200);

    // Sign-ups per address: alice was the first of four.
    for name in ["bob", "carol", "dave"] {
        Shopper::sign_up(&Server::client(), &server.base, name).await;
    }
    let r = common::read(
        Server::client()
            .post(format!("{}/api/v1/auth/signup", server.base))
            .json(&json!({"username": "eve", "password": PASSWORD}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.assert_problem("RATE_LIMITED", 429);
    assert!(retry_after(&r).is_some());

    // Initiations per shopper.
    alice.add("BRW-FUDGE", 1).await;
    for _ in 0..3 {
        assert_eq!(alice.initiate().await.status, 201);
    }
    let r = alice.initiate().await;
    r.assert_problem("RATE_LIMITED", 429);
    assert!(retry_after(&r).is_some_and(|s| s <= 60));
    server.advance(61).await;
    assert_eq!(alice.initiate().await.status, 201);
    server.stop().await;
}
on_both_backends!(
    wrong_passwords_signups_and_initiations_are_throttled,
    throttles
);

async fn idempotency_rows(server: &Server, user: &str) -> i64 {
    common::count(
        server.db(),
        "SELECT COUNT(*) AS n FROM idempotency_keys WHERE user_id = (SELECT id FROM users WHERE username = $1)",
        &[user],
    )
    .await
}

async fn refused_leave_nothing(backend: Backend) {
    let server = Server::start_with(backend, |c| c.idempotency_keys_per_shopper = 3).await;
    let mallory = server.shopper("mallory").await;
    let long_id = "x".repeat(4_000);
    let junk = "y".repeat(8_000);
    let refused = join_all((0..60).map(|i| {
        let (mallory, long_id, junk) = (mallory.clone(), long_id.clone(), junk.clone());
        async move {
            let (path, body) = match i % 3 {
                0 => (
                    format!("/checkouts/{long_id}/place-order"),
                    json!({"snapshot_digest": "sha256:aa"}),
                ),
                1 => (
                    "/checkouts/nope/pay".to_owned(),
                    json!({"snapshot_digest": "sha256:aa", junk: 1}),
                ),
                _ => (
                    "/checkouts/nope/submit-for-approval".to_owned(),
                    json!([1, 2, 3]),
                ),
            };
            let key = format!("attack-{i}");
            mallory
                .send(
                    Method::POST,
                    &path,
                    Some(body),
                    &[("Idempotency-Key", &key)],
                )
                .await
        }
    }))
    .await;
    for r in &refused {
        assert!((400..500).contains(&r.status), "{} {}", r.status, r.body);
        assert!(
            r.body.to_string().len() < 2_000,
            "a refusal echoes its input: {} bytes",
            r.body.to_string().len()
        );
    }
    assert_eq!(
        idempotency_rows(&server, "mallory").await,
        0,
        "refused requests left keys behind"
    );
    // A shopper holds a bounded number of keys: three initiations with new keys, then
    // the fourth new key is refused (a retry of a kept key still replays).
    mallory.add("BRW-FUDGE", 1).await;
    for i in 0..3 {
        let key = format!("start-{i}");
        let r = mallory
            .send(
                Method::POST,
                "/checkouts",
                None,
                &[("Idempotency-Key", &key)],
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = mallory
        .send(
            Method::POST,
            "/checkouts",
            None,
            &[("Idempotency-Key", "start-3")],
        )
        .await;
    r.assert_problem("RATE_LIMITED", 429);
    let replay = mallory
        .send(
            Method::POST,
            "/checkouts",
            None,
            &[("Idempotency-Key", "start-2")],
        )
        .await;
    assert!(replay.replayed(), "{}", replay.body);
    assert_eq!(idempotency_rows(&server, "mallory").await, 3);
    server.stop().await;
}
on_both_backends!(
    refused_requests_leave_no_keys_and_keys_per_shopper_are_capped,
    refused_leave_nothing
);

#[tokio::test]
async fn metrics_are_for_operators_and_do_not_grow_with_input() {
    let server = Server::start(Backend::Sqlite).await;
    let client = Server::client();
    let page = || server.metrics_page();
    // Touch every known route shape once so the page has its usual series.
    let _ = client
        .get(format!("{}/api/v1/products", server.base))
        .send()
        .await;
    let before = page().await.len();
    for i in 0..150 {
        let method = Method::from_bytes(format!("X{}{}", "M".repeat(1_000), i).as_bytes()).unwrap();
        let _ = client
            .request(
                method,
                format!("{}/api/v1/made-up/{i}/{}", server.base, "p".repeat(500)),
            )
            .send()
            .await;
    }
    let after = page().await;
    assert!(
        !after.contains("MMMM") && !after.contains("made-up"),
        "input reached /metrics"
    );
    assert!(
        after.len() < before + 4_000,
        "/metrics grew from {before} to {} bytes",
        after.len()
    );
    let anonymous = client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = client
        .get(format!("{}/metrics", server.base))
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    server.stop().await;
}

fn header<'a>(r: &'a Resp, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

async fn raw(request: reqwest::RequestBuilder) -> Resp {
    common::read(request.send().await.unwrap()).await
}

async fn csrf(backend: Backend) {
    let server = Server::start_with(backend, |c| {
        c.trusted_origins = vec!["https://shop.example".into()];
    })
    .await;
    let alice = server.shopper("alice").await;
    alice.add("BRW-FUDGE", 1).await;
    let url = format!("{}/api/v1/checkouts", server.base);
    // A form on an attacker's page posting to us with the shopper's cookie.
    for (name, value) in [("origin", "https://evil.example"), ("origin", "null")] {
        let r = raw(alice
            .client
            .post(&url)
            .header(name, value)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("x=1"))
        .await;
        r.assert_problem("FORBIDDEN", 403);
    }
    let r = raw(alice
        .client
        .post(&url)
        .header("sec-fetch-site", "cross-site"))
    .await;
    r.assert_problem("FORBIDDEN", 403);
    let r = raw(alice
        .client
        .post(&url)
        .header("sec-fetch-site", "same-site"))
    .await;
    r.assert_problem("FORBIDDEN", 403);
    assert_eq!(
        alice.get("/checkouts/active").await.status,
        404,
        "a refused request started no checkout"
    );
    // The shop's own pages, a trusted storefront and server-to-server clients pass.
    let host = server.base.trim_start_matches("http://").to_owned();
    let own = raw(alice
        .client
        .post(&url)
        .header("origin", format!("http://{host}"))
        .header("sec-fetch-site", "same-origin"))
    .await;
    assert_eq!(own.status, 201, "{}", own.body);
    let trusted = raw(alice
        .client
        .post(&url)
        .header("origin", "https://shop.example")
        .header("sec-fetch-site", "cross-site"))
    .await;
    assert_eq!(trusted.status, 201, "{}", trusted.body);
    assert_eq!(raw(alice.client.post(&url)).await.status, 201);
    // Reads are never refused for their origin.
    let read = raw(alice
        .client
        .get(format!("{}/api/v1/products", server.base))
        .header("origin", "https://evil.example"))
    .await;
    assert_eq!(read.status, 200);
    server.stop().await;
}
on_both_backends!(state_changes_from_another_site_are_forbidden, csrf);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_answers_carry_security_and_cache_headers() {
    let server = Server::start(Backend::Sqlite).await;
    let alice = server.shopper("alice").await;
    let page = raw(Server::client().get(format!("{}/checkout/", server.base))).await;
    assert_eq!(page.status, 200);
    let csp = header(&page, "content-security-policy");
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    assert_eq!(header(&page, "referrer-policy"), "same-origin");
    assert_eq!(header(&page, "x-frame-options"), "DENY");
    // Pages are revalidated on every use, and name their files by version: those are
    // cached for a year (a new release has new addresses, so never an old module with
    // new pages). The plain addresses are revalidated, an unchanged file a 304.
    let page = Server::client()
        .get(format!("{}/checkout/", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["cache-control"], "no-cache");
    assert!(page.headers().get("last-modified").is_none());
    let html = page.text().await.unwrap();
    let versioned = html
        .split('"')
        .find(|part| part.starts_with("/v/") && part.ends_with("/assets/checkout.js"))
        .unwrap_or_else(|| panic!("no versioned checkout.js in {html}"))
        .to_owned();
    assert!(
        !html.contains("\"/assets/") && !html.contains("\"/pkg/"),
        "{html}"
    );
    let file = Server::client()
        .get(format!("{}{versioned}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(
        file.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    for path in ["/assets/checkout.js", "/assets/app.js"] {
        let r = Server::client()
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["cache-control"], "no-cache", "{path}");
        let modified = r.headers()["last-modified"].clone();
        let again = Server::client()
            .get(format!("{}{path}", server.base))
            .header("if-modified-since", modified)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
    }
    alice.add("BRW-FUDGE", 1).await;
    for r in [
        alice.get("/cart").await,
        alice.get("/auth/me").await,
        alice.initiate().await,
        alice.get("/checkouts/active").await,
        alice.get("/checkouts/nope").await,
    ] {
        assert_eq!(header(&r, "cache-control"), "no-store", "{}", r.body);
        assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_is_a_coded_problem_whatever_layer_sends_it() {
    let server = Server::start(Backend::Sqlite).await;
    let alice = server.shopper("alice").await;
    let base = &server.base;
    let client = Server::client();
    // 405 with Allow; unknown API routes in any version; a path segment no file can have.
    let r = raw(client.put(format!("{base}/api/v1/products"))).await;
    r.assert_problem("METHOD_NOT_ALLOWED", 405);
    assert!(header(&r, "allow").contains("GET"), "{:?}", r.headers);
    for path in ["/api/v2/checkouts", "/api/x", "/api/v1/checkouts/a/b/c/d"] {
        raw(client.get(format!("{base}{path}")))
            .await
            .assert_problem("NOT_FOUND", 404);
    }
    let long = "a".repeat(300);
    for path in [
        format!("/{long}"),
        format!("/assets/{long}.js"),
        format!("/api/v1/checkouts/{long}"),
    ] {
        let r = raw(client.get(format!("{base}{path}"))).await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
        assert!(r.code().is_some(), "{path}: {}", r.body);
    }
    // An address or headers over the limits, on a page or the API: coded, with a body.
    let long_query = "q".repeat(checkout_server::http::web::MAX_URI_BYTES);
    for path in [
        format!("/cart/?{long_query}"),
        format!("/api/v1/products?{long_query}"),
    ] {
        raw(client.get(format!("{base}{path}")))
            .await
            .assert_problem("URI_TOO_LONG", 414);
    }
    let cookie = format!(
        "tracking={}",
        "c".repeat(checkout_server::http::web::MAX_HEADER_BYTES)
    );
    raw(client
        .get(format!("{base}/api/v1/products"))
        .header("cookie", cookie))
    .await
    .assert_problem("HEADERS_TOO_LARGE", 431);
    // Far over the limit (near the longest URI an HTTP client can even send) it is the
    // same coded refusal, and the server carries on.
    let huge = "q".repeat(60_000);
    raw(client.get(format!("{base}/api/v1/products?{huge}")))
        .await
        .assert_problem("URI_TOO_LONG", 414);
    assert_eq!(raw(client.get(format!("{base}/healthz"))).await.status, 200);
    // The problem types resolve to a real page that lists every code.
    let problems = client.get(format!("{base}/problems")).send().await.unwrap();
    assert_eq!(problems.status(), 200);
    let html = problems.text().await.unwrap();
    for code in checkout_core::ErrorCode::ALL {
        let anchor = code.as_str().to_ascii_lowercase().replace('_', "-");
        assert!(
            html.contains(&format!("id=\"{anchor}\"")),
            "{anchor} missing"
        );
        assert!(code.problem_type().starts_with("/problems#"));
    }
    // A JSON array where an object is expected changes nothing.
    let before = server
        .admin(Method::GET, "/admin/settings", None)
        .await
        .body;
    let r = server
        .admin(Method::PUT, "/admin/settings", Some(json!([false, 7])))
        .await;
    r.assert_problem("VALIDATION_FAILED", 422);
    assert_eq!(
        server
            .admin(Method::GET, "/admin/settings", None)
            .await
            .body,
        before
    );
    // No refusal quotes a long input back, whichever rule refused it.
    let s = alice.checkout().await;
    let id = s["id"].as_str().unwrap();
    let long = "A".repeat(60_000);
    for r in [
        alice.select(id, "shipping-method", &long).await,
        alice.select(id, "payment-method", &long).await,
        alice
            .send(
                Method::POST,
                &format!("/checkouts/{id}/vouchers"),
                Some(json!({"code": long})),
                &[],
            )
            .await,
        alice
            .send(
                Method::POST,
                "/cart/items",
                Some(json!({"sku": long, "quantity": 1})),
                &[],
            )
            .await,
        server
            .admin(
                Method::PUT,
                "/admin/order-classes/checkout",
                Some(json!({"format": long})),
            )
            .await,
        server
            .admin(
                Method::PUT,
                "/admin/order-classes/checkout",
                Some(json!({"time_zone": long})),
            )
            .await,
    ] {
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(
            r.body.to_string().len() < 1_000,
            "{} bytes",
            r.body.to_string().len()
        );
    }
    // Two Idempotency-Key headers are refused, not guessed between.
    alice.add("BRW-FUDGE", 1).await;
    let r = raw(alice
        .client
        .post(format!("{base}/api/v1/checkouts"))
        .header("idempotency-key", "one")
        .header("idempotency-key", "two"))
    .await;
    r.assert_problem("MALFORMED_REQUEST", 400);
    // A long or unusual request id from outside is replaced by the server's own.
    let r = raw(client
        .get(format!("{base}/api/v1/products"))
        .header("x-request-id", "r".repeat(20_000)))
    .await;
    let id = header(&r, "x-request-id");
    assert!(!id.is_empty() && id.len() <= 64, "{id}");
    let r = raw(client
        .get(format!("{base}/api/v1/products"))
        .header("x-request-id", "abc-123"))
    .await;
    assert_eq!(header(&r, "x-request-id"), "abc-123");
    // Two login cookies: refused.
    let r = raw(client
        .get(format!("{base}/api/v1/auth/me"))
        .header("cookie", "cg_login=aaa; cg_login=bbb"))
    .await;
    r.assert_problem("UNAUTHENTICATED", 401);
    // The admin scheme is case-insensitive; a wrong token is still refused.
    let r = raw(client
        .get(format!("{base}/api/v1/admin/settings"))
        .header("authorization", format!("bearer {}", common::ADMIN)))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The next checkout number stays within what the database holds.
    let r = server
        .admin(
            Method::PUT,
            "/admin/order-classes/checkout",
            Some(json!({"next_number": i64::MAX})),
        )
        .await;
    r.assert_problem("VALIDATION_FAILED", 422);
    let max = checkout_core::numbering::MAX_NUMBER;
    let r = server
        .admin(
            Method::PUT,
            "/admin/order-classes/checkout",
            Some(json!({"next_number": max})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let s = alice.initiate().await;
    assert_eq!(s.status, 201, "{}", s.body);
    assert!(s.str("number").ends_with(&max.to_string()), "{}", s.body);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_declared_body_is_refused_before_it_arrives() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = Server::start(Backend::Sqlite).await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/auth/signup HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: 10000000\r\n\r\n{{"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 2048];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), socket.read(&mut answer))
        .await
        .expect("no answer while the body was still owed")
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("PAYLOAD_TOO_LARGE"), "{text}");
    // The body was not read: the connection is closed, not offered for reuse.
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
    server.stop().await;
}

/// Reads from `socket` until it closes or `limit` passes; true if the server closed it.
async fn closed_within(socket: &mut tokio::net::TcpStream, limit: std::time::Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, socket.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_idle_and_surplus_connections_are_cut_off() {
    use std::time::{Duration, Instant};
    use tokio::io::AsyncWriteExt;
    let server = Server::start_with(Backend::Sqlite, |c| {
        c.header_read_timeout_secs = 1;
        c.max_connections = 8;
    })
    .await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    // A slow-loris client: one header byte every 300 ms is cut off after about a second.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let started = Instant::now();
    let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut cut = false;
    for byte in head {
        if slow.write_all(&[*byte]).await.is_err() {
            cut = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        if started.elapsed() > Duration::from_secs(6) {
            break;
        }
    }
    assert!(
        cut || closed_within(&mut slow, Duration::from_secs(1)).await,
        "a slow client was never cut off"
    );
    assert!(started.elapsed() < Duration::from_secs(6));
    // An idle keep-alive connection is closed after the timeout.
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    idle.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    assert!(
        closed_within(&mut idle, Duration::from_secs(4)).await,
        "idle connection kept"
    );
    // More connections than the cap: the surplus is closed, and once the idle ones are
    // gone the server answers again.
    let mut held = Vec::new();
    for _ in 0..12 {
        held.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    let mut refused = 0;
    for socket in held.iter_mut().skip(8) {
        if closed_within(socket, Duration::from_millis(500)).await {
            refused += 1;
        }
    }
    assert!(refused >= 1, "no connection over the cap was closed");
    drop(held);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let health = Server::client()
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_cannot_hold_up_shutdown() {
    use std::time::{Duration, Instant};
    use tokio::io::AsyncWriteExt;
    let server = Server::start_with(Backend::Sqlite, |c| {
        c.header_read_timeout_secs = 60;
        c.body_read_timeout_secs = 60;
        c.shutdown_grace_secs = 1;
    })
    .await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    // A request whose body never finishes.
    let mut stuck = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stuck
        .write_all(
            format!(
                "POST /api/v1/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
                 Content-Length: 100\r\n\r\n{{\"user"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), server.stop())
        .await
        .expect("shutdown waited for the slow client");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

async fn logins_expire(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    assert_eq!(alice.get("/auth/me").await.status, 200);
    server.advance(8 * 24 * 3600).await; // logins last 7 days
    alice
        .get("/auth/me")
        .await
        .assert_problem("UNAUTHENTICATED", 401);
    let mut left = -1;
    for _ in 0..100 {
        left = common::count(server.db(), "SELECT COUNT(*) AS n FROM logins", &[]).await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "expired logins were not purged");
    server.stop().await;
}
on_both_backends!(expired_logins_are_purged, logins_expire);

/// The lookup of a shopper's live sessions (every initiation) uses an index, not a scan
/// of the shopper's past sessions.
#[tokio::test]
async fn the_live_session_lookup_uses_its_index() {
    let server = Server::start(Backend::Sqlite).await;
    let plan = common::query_plan(
        server.db(),
        "SELECT id, status, expires_at, managed FROM checkout_sessions \
         WHERE user_id = 'u' AND status IN ('ACTIVE', 'PAYMENT_PENDING')",
        &[],
    )
    .await;
    assert!(
        plan.iter()
            .any(|p| p.contains("checkout_sessions_live_user")),
        "{plan:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_the_login_cookie_is_host_prefixed_and_secure() {
    let server = Server::start_with(Backend::Sqlite, |c| c.secure_cookies = true).await;
    let signup = raw(Server::client()
        .post(format!("{}/api/v1/auth/signup", server.base))
        .json(&json!({"username": "alice", "password": PASSWORD})))
    .await;
    assert_eq!(signup.status, 201, "{}", signup.body);
    let set = header(&signup, "set-cookie").to_owned();
    assert!(set.starts_with("__Host-cg_login="), "{set}");
    for attribute in ["; Secure", "; HttpOnly", "; SameSite=Lax", "; Path=/"] {
        assert!(set.contains(attribute), "{set}");
    }
    assert!(!set.contains("Domain"), "{set}");
    let token = set
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, v)| v.to_owned())
        .unwrap();
    let me = |cookie: String| {
        let base = server.base.clone();
        async move {
            raw(Server::client()
                .get(format!("{base}/api/v1/auth/me"))
                .header("cookie", cookie))
            .await
        }
    };
    assert_eq!(me(format!("__Host-cg_login={token}")).await.status, 200);
    // The plain name (which any page of the domain could set) is not read.
    me(format!("cg_login={token}"))
        .await
        .assert_problem("UNAUTHENTICATED", 401);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_connection() {
    use std::time::Duration;
    let server = Server::start_with(Backend::Sqlite, |c| {
        c.max_connections = 100;
        c.max_connections_per_address = 4;
        c.header_read_timeout_secs = 30;
    })
    .await;
    let addr: std::net::SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let from = |ip: [u8; 4]| async move {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(std::net::SocketAddr::from((ip, 0))).unwrap();
        socket.connect(addr).await.unwrap()
    };
    let mut hog = Vec::new();
    for _ in 0..8 {
        hog.push(from([127, 0, 0, 9]).await);
    }
    let mut closed = 0;
    for socket in &mut hog {
        if closed_within(socket, Duration::from_millis(300)).await {
            closed += 1;
        }
    }
    assert_eq!(closed, 4, "the address's connections beyond 4 are closed");
    // Another client is still served while the first holds its four.
    let client = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 10]))
        .build()
        .unwrap();
    let health = client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    drop(hog);
    server.stop().await;
}

/// A burst of parallel guesses cannot all pass the check before any is counted: at most
/// the limit of them reach the password check.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_parallel_guesses_gets_only_the_limit() {
    let server = Server::start_with(Backend::Sqlite, |c| {
        c.login_failures_per_account = 5;
        c.initiations_per_shopper_per_minute = 3;
    })
    .await;
    let client = Server::client();
    let racer = Shopper::sign_up(&client, &server.base, "racer").await;
    let answers = join_all((0..40).map(|_| login(&server.base, "racer", "wrong password"))).await;
    let checked = answers.iter().filter(|r| r.status == 401).count();
    assert!(
        answers.iter().all(|r| r.status == 401 || r.status == 429),
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(checked, 5, "{checked} guesses reached the password check");
    // The same for initiations: 30 at once, at most three checkouts started.
    racer.add("BRW-FUDGE", 1).await;
    let started = join_all((0..30).map(|_| racer.initiate())).await;
    assert_eq!(started.iter().filter(|r| r.status == 201).count(), 3);
    server.stop().await;
}

/// A refusal of a request whose body is still on its way (cross-site, signed out) is
/// sent once the body has arrived, on a connection that stays usable: refusing first
/// and closing would reset the connection under a client still sending, which then sees
/// no answer at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_wait_for_the_body_and_keep_the_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = Server::start(Backend::Sqlite).await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let body = r#"{"sku":"BRW-FUDGE","quantity":1}"#;
    for (extra, status, code) in [
        ("Origin: http://evil.example\r\n", "403", "FORBIDDEN"),
        ("", "401", "UNAUTHENTICATED"),
    ] {
        let head = format!(
            "POST /api/v1/cart/items HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             {extra}Content-Length: {}\r\n\r\n",
            body.len()
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        // Nothing is answered while the body is owed…
        let mut answer = vec![0u8; 4096];
        let early = tokio::time::timeout(
            std::time::Duration::from_millis(300),
            socket.read(&mut answer),
        )
        .await;
        assert!(early.is_err(), "answered before the body arrived");
        // …then the refusal comes, and the connection stays open for the next request.
        socket.write_all(body.as_bytes()).await.unwrap();
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), socket.read(&mut answer))
            .await
            .expect("an answer")
            .unwrap();
        let text = String::from_utf8_lossy(&answer[..n]);
        assert!(text.starts_with(&format!("HTTP/1.1 {status}")), "{text}");
        assert!(text.contains(code), "{text}");
        assert!(
            !text.to_ascii_lowercase().contains("connection: close"),
            "{text}"
        );
    }
    server.stop().await;
}

/// The storefront's files under their versioned addresses (`http::assets`): a file
/// changed while the server runs gets a new version at once, and its old address is no
/// longer answered `immutable`; a page request gets the rewritten page whole — no range
/// of the file, no 304 by the file's date — and `HEAD` no false length.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versioned_files_follow_the_files_and_pages_come_whole() {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("assets")).unwrap();
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    std::fs::create_dir_all(site.path().join("shop")).unwrap();
    std::fs::write(site.path().join("assets/app.js"), "export const one = 1;\n").unwrap();
    std::fs::write(
        site.path().join("shop/index.html"),
        "<!doctype html><script type=\"module\" src=\"/assets/app.js\"></script>\n",
    )
    .unwrap();
    let static_dir = site.path().to_path_buf();
    let server = Server::start_with(Backend::Sqlite, |c| c.static_dir = static_dir).await;
    let client = Server::client();
    let page = |range: Option<&'static str>| {
        let mut r = client.get(format!("{}/shop/", server.base));
        if let Some(range) = range {
            r = r
                .header("range", range)
                .header("if-modified-since", "Sun, 01 Jan 2090 00:00:00 GMT");
        }
        r.send()
    };
    let first = page(None).await.unwrap().text().await.unwrap();
    let address = first
        .split('"')
        .find(|p| p.starts_with("/v/"))
        .unwrap()
        .to_owned();
    let file = client
        .get(format!("{}{address}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        file.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    // A range or a conditional request of a page: the whole rewritten page.
    let whole = page(Some("bytes=0-10")).await.unwrap();
    assert_eq!(whole.status(), 200);
    assert!(whole.headers().get("accept-ranges").is_none());
    assert_eq!(whole.text().await.unwrap(), first);
    let head = client
        .head(format!("{}/shop/", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()
            .get("content-length")
            .map(|v| v.to_str().unwrap().to_owned()),
        Some(first.len().to_string()),
        "HEAD tells the length GET sends"
    );
    // The file changes while the server runs (a deploy copying files in place).
    std::fs::write(site.path().join("assets/app.js"), "export const two = 2;\n").unwrap();
    let second = page(None).await.unwrap().text().await.unwrap();
    let new_address = second.split('"').find(|p| p.starts_with("/v/")).unwrap();
    assert_ne!(new_address, address, "a changed file, a new address");
    let old = client
        .get(format!("{}{address}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 200);
    assert_eq!(
        old.headers()["cache-control"],
        "no-cache",
        "the old address no longer promises these bytes for a year"
    );
    assert_eq!(old.text().await.unwrap(), "export const two = 2;\n");
    server.stop().await;
}
