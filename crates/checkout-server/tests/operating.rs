//! Operating it (CONTRACT §22, §11): readiness beside liveness, HEAD where GET works, a
//! problem+json 404 for any path that is not a storefront page, a read-only metrics
//! token, JSON logs without colour codes, a private data directory served by one server
//! at a time, and the security probe's findings (a cross-site `Referer` without
//! `Origin`, a form-encoded state change, short or blank-padded webhook secrets).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;

use common::{Backend, Process, Server, ADMIN};
use reqwest::{header, Method};

async fn get(server: &Server, method: Method, path: &str, bearer: Option<&str>) -> common::Resp {
    let mut req = Server::client().request(method, format!("{}{path}", server.base));
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    common::read(req.send().await.unwrap()).await
}

async fn probes_and_paths(backend: Backend) {
    let server = Server::start(backend).await;
    let ready = get(&server, Method::GET, "/readyz", None).await;
    assert_eq!(
        (ready.status, ready.body["status"].as_str()),
        (200, Some("ok"))
    );
    // HEAD works wherever GET does: probes, API reads and pages.
    for path in ["/readyz", "/healthz", "/api/v1/products", "/", "/cart/"] {
        let head = get(&server, Method::HEAD, path, None).await;
        assert_eq!(head.status, 200, "HEAD {path}");
    }
    // A path that is no page of the storefront is a problem, never the index page.
    for path in [
        "/readyzz",
        "/.git/config",
        "/wp-login.php",
        "/nope/",
        "/cart/nope.html",
    ] {
        let r = get(&server, Method::GET, path, None).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.code(), Some("NOT_FOUND"), "{path}: {}", r.body);
        assert!(
            r.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("application/problem+json"),
            "{path}"
        );
    }
    let page = get(&server, Method::GET, "/cart/", None).await;
    assert_eq!(page.status, 200);
    // Asked to stop, the server is not ready at once (traffic moves elsewhere first).
    server.running.state.draining.store(true, Ordering::SeqCst);
    let draining = get(&server, Method::GET, "/readyz", None).await;
    assert_eq!(
        (draining.status, draining.body["status"].as_str()),
        (503, Some("draining"))
    );
    assert_eq!(
        get(&server, Method::GET, "/healthz", None).await.status,
        200
    );
    server.stop().await;
}
on_both_backends!(readiness_head_and_unknown_paths, probes_and_paths);

async fn metrics_token(backend: Backend) {
    const READER: &str = "metrics-reader-token-0123";
    let server = Server::start_with(backend, |c| c.metrics_token = Some(READER.into())).await;
    let read = get(&server, Method::GET, "/metrics", Some(READER)).await;
    assert_eq!(read.status, 200);
    assert_eq!(
        get(&server, Method::GET, "/metrics", Some(ADMIN))
            .await
            .status,
        200
    );
    get(
        &server,
        Method::GET,
        "/metrics",
        Some("metrics-reader-token-0124"),
    )
    .await
    .assert_problem("FORBIDDEN", 403);
    get(&server, Method::GET, "/metrics", None)
        .await
        .assert_problem("UNAUTHENTICATED", 401);
    // Read-only: it opens nothing else.
    get(&server, Method::GET, "/api/v1/admin/settings", Some(READER))
        .await
        .assert_problem("FORBIDDEN", 403);
    server.stop().await;
}
on_both_backends!(a_metrics_token_reads_metrics_only, metrics_token);

async fn csrf_findings(backend: Backend) {
    let server = Server::start(backend).await;
    let bob = server.shopper("bob").await;
    bob.add("BRW-FUDGE", 1).await;
    let send = |content_type: Option<&'static str>, referer: Option<&'static str>| {
        let mut req = bob
            .client
            .post(format!("{}/api/v1/checkouts", server.base))
            .body("a=1");
        if let Some(t) = content_type {
            req = req.header(header::CONTENT_TYPE, t);
        }
        if let Some(r) = referer {
            req = req.header(header::REFERER, r);
        }
        async move { common::read(req.send().await.unwrap()).await }
    };
    // A form (what another site's page can send without asking) changes nothing.
    for t in [
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/plain",
    ] {
        send(Some(t), None)
            .await
            .assert_problem("UNSUPPORTED_MEDIA_TYPE", 415);
    }
    // No Origin, but a Referer of another site (or one that is no URL): refused.
    for referer in [
        "https://evil.example/page",
        "http://127.0.0.1.evil.example/",
        "nonsense",
    ] {
        let r = send(Some("application/json"), Some(referer)).await;
        r.assert_problem("FORBIDDEN", 403);
    }
    assert!(
        bob.get("/checkouts/active").await.status == 404,
        "nothing was started"
    );
    // The shop's own page as Referer passes.
    let own: &'static str = Box::leak(format!("{}/cart/", server.base).into_boxed_str());
    let r = bob
        .client
        .post(format!("{}/api/v1/checkouts", server.base))
        .header(header::REFERER, own)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    server.stop().await;
}
on_both_backends!(forms_and_cross_site_referers_change_nothing, csrf_findings);

#[cfg(unix)]
#[test]
fn the_data_directory_is_private_and_served_by_one_server() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let first = Process::spawn_logging(&dir, &["--log-format", "json"], "info");
    let mode = |name: &str| {
        std::fs::metadata(dir.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(""), 0o700);
    for file in ["checkout.db", "checkout.db-wal", "token-secret", "lock"] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
    // A second server on the same directory exits with a clear message.
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_checkout-server"))
        .args([
            "--bind",
            "127.0.0.1:0",
            "--admin-token",
            ADMIN,
            "--data-dir",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(
        said.contains("already serving the data directory"),
        "{said}"
    );
    // JSON log lines, no colour codes.
    {
        use std::io::{Read, Write};
        let addr = first.base.trim_start_matches("http://");
        let mut socket = std::net::TcpStream::connect(addr).unwrap();
        write!(
            socket,
            "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        let _ = socket.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let log = first.log.lock().unwrap().clone();
    let json: Vec<serde_json::Value> = log
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        json.iter()
            .any(|l| l["message"].is_string() && l["level"].is_string()),
        "{log:?}"
    );
    assert!(
        !log.iter().any(|l| l.contains('\u{1b}')),
        "colour codes: {log:?}"
    );
    first.kill();
    // Killed, it left the lock free: the next server starts.
    let again = Process::spawn(&dir, &[]);
    again.kill();
}

#[test]
fn short_webhook_secrets_are_refused_and_blanks_are_not_part_of_one() {
    let root = tempfile::tempdir().unwrap();
    let short = std::process::Command::new(env!("CARGO_BIN_EXE_checkout-server"))
        .args(["--bind", "127.0.0.1:0", "--payment-webhook-secret", "x"])
        .arg("--data-dir")
        .arg(root.path())
        .output()
        .unwrap();
    assert_eq!(short.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 16"));
    let config = <checkout_server::config::Config as clap::Parser>::try_parse_from([
        "checkout-server",
        "--payment-webhook-secret",
        "new-secret-0123456789, old-secret-0123456789",
    ])
    .unwrap();
    assert!(config.check().is_ok());
    assert_eq!(
        config.webhook_secrets(),
        ["new-secret-0123456789", "old-secret-0123456789"]
    );
}
