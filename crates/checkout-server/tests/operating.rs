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
        said.contains("already serving the data directory")
            && said.contains(&format!("process {}", first.child.id())),
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
    // A secret loosened meanwhile (by hand, or an earlier release) is narrowed again.
    let secret = dir.join("token-secret");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    // Killed, it left the lock free: the next server starts.
    let again = Process::spawn(&dir, &[]);
    assert_eq!(mode("token-secret"), 0o600);
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

/// `checkout-server backup --to FILE` while shoppers order as fast as they can: the copy
/// is whole (integrity check), holds every order acknowledged before the backup began,
/// a server starts on it, and the serving database keeps its write-ahead log.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_load_holds_every_acknowledged_order() {
    use std::{
        sync::{atomic::AtomicBool, Arc, Mutex},
        time::{Duration, Instant},
    };
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let server = Process::spawn(&dir, &[]);
    let acknowledged: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut shoppers = Vec::new();
    for i in 0..6 {
        let (base, acknowledged, stop) = (
            server.base.clone(),
            Arc::clone(&acknowledged),
            Arc::clone(&stop),
        );
        shoppers.push(tokio::spawn(async move {
            let shopper =
                common::Shopper::sign_up(&Server::client(), &base, &format!("backup{i}")).await;
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let s = shopper.checkout().await;
                let r = shopper
                    .place_order(
                        s["id"].as_str().unwrap(),
                        s["digest"].as_str().unwrap(),
                        &format!("k{n}"),
                    )
                    .await;
                assert_eq!(r.status, 201, "{}", r.body);
                acknowledged
                    .lock()
                    .unwrap()
                    .push((Instant::now(), r.body["id"].as_str().unwrap().to_owned()));
                n += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let copy = root.path().join("copy.db");
    let began = Instant::now();
    let backup = {
        let (dir, copy) = (dir.clone(), copy.clone());
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_checkout-server"))
                .arg("backup")
                .arg("--to")
                .arg(&copy)
                .arg("--data-dir")
                .arg(&dir)
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    for shopper in shoppers {
        shopper.await.unwrap();
    }
    // Another process that opens the serving database to write (here the catalog
    // export, which migrates first) closes its connection while the server still has
    // its own: it must not take itself for the last one and delete the server's
    // write-ahead log. It did while the server's checkpointer closed a descriptor of the
    // database every round, which dropped all of the server's locks on it.
    let exported = std::process::Command::new(env!("CARGO_BIN_EXE_checkout-server"))
        .args(["catalog", "export"])
        .arg(root.path().join("catalog.json"))
        .arg("--data-dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    assert!(
        dir.join("checkout.db-wal").exists(),
        "the live server's write-ahead log was deleted by a process beside it"
    );
    assert!(
        backup.status.success(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );
    let before: Vec<String> = acknowledged
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, _)| *at < began)
        .map(|(_, id)| id.clone())
        .collect();
    let after = acknowledged.lock().unwrap().len() - before.len();
    assert!(
        before.len() >= 10 && after > 0,
        "{} before, {after} during and after",
        before.len()
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let db = rusqlite::Connection::open(&copy).unwrap();
        let check: String = db
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let mut stmt = db.prepare("SELECT id FROM orders").unwrap();
        let kept: std::collections::BTreeSet<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let missing: Vec<&String> = before.iter().filter(|id| !kept.contains(*id)).collect();
        assert!(
            missing.is_empty(),
            "acknowledged before the backup, not in it: {missing:?}"
        );
        println!(
            "backup under load: {} orders acknowledged before it, all in the copy ({} in all)",
            before.len(),
            kept.len()
        );
    }
    // It never overwrites a file.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_checkout-server"))
        .args(["backup", "--to"])
        .arg(&copy)
        .arg("--data-dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    // Nor writes through a symbolic link, even one pointing nowhere.
    let nowhere = root.path().join("nowhere.db");
    let link = root.path().join("link.db");
    std::os::unix::fs::symlink(&nowhere, &link).unwrap();
    let through = std::process::Command::new(env!("CARGO_BIN_EXE_checkout-server"))
        .args(["backup", "--to"])
        .arg(&link)
        .arg("--data-dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(through.status.code(), Some(1));
    assert!(!nowhere.exists(), "the link's target was created");
    server.kill();
    // A server starts on the copy.
    let restored = root.path().join("restored");
    std::fs::create_dir(&restored).unwrap();
    std::fs::rename(&copy, restored.join("checkout.db")).unwrap();
    let on_copy = Process::spawn(&restored, &[]);
    let ready = Server::client()
        .get(format!("{}/readyz", on_copy.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    on_copy.kill();
}

/// `migrate` applies the migrations alone; a database a newer release migrated is
/// refused with a clear message; `config check` says whether a file is valid.
#[test]
fn migrate_refuse_newer_and_config_check() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_checkout-server"))
            .args(args)
            .output()
            .unwrap()
    };
    let dir_arg = dir.to_str().unwrap();
    let migrated = run(&["migrate", "--data-dir", dir_arg]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    assert!(String::from_utf8_lossy(&migrated.stdout).contains("up to date"));
    let db = rusqlite::Connection::open(dir.join("checkout.db")).unwrap();
    db.execute(
        "INSERT INTO schema_migrations (version, description, checksum, applied_at) VALUES (999, 'from the future', 'x', 0)",
        [],
    )
    .unwrap();
    drop(db);
    for args in [
        vec!["migrate", "--data-dir", dir_arg],
        vec!["--bind", "127.0.0.1:0", "--data-dir", dir_arg],
    ] {
        let refused = run(&args);
        assert_eq!(refused.status.code(), Some(1), "{args:?}");
        let said = String::from_utf8_lossy(&refused.stderr);
        assert!(said.contains("newer than this checkout-server"), "{said}");
    }
    let good = root.path().join("good.toml");
    let www = concat!(env!("CARGO_MANIFEST_DIR"), "/../../www");
    std::fs::write(
        &good,
        format!("bind = \"127.0.0.1:8080\"\nsecure_cookies = true\nstatic_dir = \"{www}\"\n"),
    )
    .unwrap();
    let ok = run(&["config", "check", good.to_str().unwrap()]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("3 settings, valid"));
    // The example the README installs is valid (its pages where this clone has them).
    let example = include_str!("../../../packaging/checkout.toml").replace(
        "/usr/local/share/checkout-guard/www",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../www"),
    );
    let installed = root.path().join("checkout.toml");
    std::fs::write(&installed, example).unwrap();
    let ok = run(&["config", "check", installed.to_str().unwrap()]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let bad = root.path().join("bad.toml");
    std::fs::write(&bad, "bind = \"nowhere\"\nbnid = 1\n").unwrap();
    let refused = run(&["config", "check", bad.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("`bnid` is no setting"));
    // Every value the server would refuse at start is named, all at once.
    let wrong = root.path().join("wrong.toml");
    let lines = [
        "admin_token = \"short\"",
        "token_secret = \"short\"",
        "otlp_endpoint = \"notaurl\"",
        "database_url = \"mysql://x\"",
        "extra_ca_file = \"/nonexistent.pem\"",
        "gateway_timeout_ms = \"abc\"",
        "log_format = \"xml\"",
        "bnid = 1",
    ];
    std::fs::write(&wrong, lines.join("\n")).unwrap();
    let refused = run(&["config", "check", wrong.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    let said = String::from_utf8_lossy(&refused.stderr);
    for flag in ["--gateway-timeout-ms", "--log-format", "`bnid`"] {
        assert!(said.contains(flag), "{flag} not named: {said}");
    }
    let valid_kinds =
        lines[..5].join("\n") + "\ntrusted_origin = [\"5\"]\nstatic_dir = \"/nonexistent\"";
    std::fs::write(&wrong, valid_kinds).unwrap();
    let refused = run(&["config", "check", wrong.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&refused.stderr);
    for flag in [
        "--admin-token",
        "--token-secret",
        "--otlp-endpoint",
        "--database-url",
        "--extra-ca-file",
        "--trusted-origin",
        "--static-dir",
    ] {
        assert!(said.contains(flag), "{flag} not named: {said}");
    }
    // A server started with the file takes its settings.
    let with_file = std::process::Command::new(env!("CARGO_BIN_EXE_checkout-server"))
        .arg("--config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(with_file.status.code(), Some(1));
}

/// SIGTERM with `--drain-secs`: the process keeps serving with `/readyz` 503 (a load
/// balancer polling it sees the 503 and stops sending), then exits cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_with_readyz_503_before_the_listener_closes() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = common::Process::spawn(dir.path(), &["--drain-secs", "2"]);
    let client = Server::client();
    let readyz = || async {
        client
            .get(format!("{}/readyz", server.base))
            .send()
            .await
            .map(|r| r.status().as_u16())
    };
    assert_eq!(readyz().await.unwrap(), 200);
    let pid = server.child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let signalled = std::time::Instant::now();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // New connections are still taken, and told not to send more.
    let fresh = Server::client();
    let drained = fresh
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(drained.status().as_u16(), 503);
    let products = fresh
        .get(format!("{}/api/v1/products", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        products.status().as_u16(),
        200,
        "still serving while draining"
    );
    let status = tokio::task::spawn_blocking(move || server.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    let took = signalled.elapsed();
    assert!(
        took >= std::time::Duration::from_secs(2) && took < std::time::Duration::from_secs(15),
        "exited {took:?} after SIGTERM with --drain-secs 2"
    );
}

/// The README's settings table names every setting of the command line, once.
#[test]
fn the_readme_lists_every_setting_once() {
    use clap::CommandFactory;
    let readme = include_str!("../../../README.md");
    let command = checkout_server::config::Config::command();
    let mut unlisted = Vec::new();
    for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "help" | "version") {
            continue;
        }
        let flag = format!("`--{long}`");
        // Rows of the settings table whose first cell names the flag.
        let rows = readme
            .lines()
            .filter_map(|l| l.strip_prefix("| `--"))
            .filter(|l| {
                l.split(" | ")
                    .next()
                    .is_some_and(|cell| format!("`--{cell}").split(", ").any(|f| f == flag))
            })
            .count();
        if rows != 1 {
            unlisted.push(format!("--{long} ({rows} rows)"));
        }
    }
    assert!(
        unlisted.is_empty(),
        "not listed once in the README: {unlisted:?}"
    );
}
