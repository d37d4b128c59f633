//! `cargo xtask bench-server`: starts release `checkout-server` instance(s) and drives
//! them with `checkout-load` from a separate process, printing a Markdown table for
//! BENCHMARKS.md.
//!
//! Flags: `--postgres` (a fresh database on the local PostgreSQL, see
//! `tools::ensure_postgres`), `--instances N` (default 1), `--connections C` (default
//! 64), `--seconds S` per timed phase (default 5), `--shoppers-per-connection K`,
//! `--database-max-connections M` (PostgreSQL connections of each instance; default the
//! server's), `--jwt` (shoppers are the shop's customers: RS256 tokens minted by PyJWT
//! from a key set file, sent in a cookie, instead of accounts with login cookies),
//! `--catalog-products N` (the servers start with the demo bakery plus N generated
//! products as their catalog, `--catalog`: pricing and lookups at a real shop's size),
//! `--prefill N` (the database holds N checkouts before the phases: `prefill.rs`),
//! `--keep` (the database is left, and named, for a look at its query plans).

use std::process::Command;

use crate::{
    root,
    tools::{self, run, spawn_server, Cmd},
};

/// Builds the release server and load generator; returns their directory.
pub fn build_release() -> Result<std::path::PathBuf, String> {
    run(Cmd::new("cargo").args([
        "build",
        "--release",
        "--package",
        "checkout-server",
        "--package",
        "checkout-payment-sim",
        "--package",
        "checkout-load",
        "--bins",
    ]))?;
    Ok(root().join("target/release"))
}

/// The value after `name` in `args`.
pub fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

pub fn bench_server(args: &[String]) -> Result<(), String> {
    let postgres = args.iter().any(|a| a == "--postgres");
    let instances: usize = flag(args, "--instances")
        .unwrap_or("1")
        .parse()
        .map_err(|e| format!("--instances: {e}"))?;
    let connections = flag(args, "--connections").unwrap_or("64");
    let seconds = flag(args, "--seconds").unwrap_or("5");
    let per_connection = flag(args, "--shoppers-per-connection").unwrap_or("40");
    let pool = flag(args, "--database-max-connections");
    let jwt = args.iter().any(|a| a == "--jwt");
    let prefill: Option<u64> = flag(args, "--prefill")
        .map(|n| n.parse().map_err(|e| format!("--prefill: {e}")))
        .transpose()?;
    if prefill.is_some() && !postgres && instances > 1 {
        return Err("--prefill with SQLite: one instance (each has its own database)".into());
    }
    let products: Option<usize> = flag(args, "--catalog-products")
        .map(|n| n.parse().map_err(|e| format!("--catalog-products: {e}")))
        .transpose()?;

    let bin = build_release()?;
    let scratch = std::env::temp_dir().join(format!("checkout-bench-{}", std::process::id()));
    let catalog = products.map(|n| big_catalog(&scratch, n)).transpose()?;
    let shoppers =
        connections.parse::<usize>().unwrap_or(64) * per_connection.parse::<usize>().unwrap_or(40);
    let identity = if jwt {
        Some(shop_tokens(&scratch, shoppers)?)
    } else {
        None
    };
    let database_url = if postgres {
        Some(create_postgres_database("bench")?)
    } else {
        None
    };
    // The first instance's SQLite database (the one `--prefill` fills).
    let sqlite_file = scratch.join("instance-0/checkout.db");
    let mut servers = Vec::new();
    let mut targets = Vec::new();
    for i in 0..instances {
        let data = scratch.join(format!("instance-{i}"));
        let data = data.to_string_lossy();
        let mut args = server_args(&data, database_url.as_deref(), pool);
        if let Some(file) = &catalog {
            args.extend(["--catalog".to_owned(), file.to_string_lossy().into_owned()]);
        }
        args.extend(["--backend-api-key", BACKEND_KEY].map(str::to_owned));
        if let Some((jwks, _)) = &identity {
            args.extend(
                [
                    "--jwt-jwks-file",
                    &jwks.to_string_lossy(),
                    "--jwt-audience",
                    "checkout-guard",
                ]
                .map(str::to_owned),
            );
            args.extend(["--jwt-cookie", "shop_id_token"].map(str::to_owned));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        if let (0, Some(n)) = (i, prefill) {
            let target = match &database_url {
                Some(url) => crate::prefill::Target::Postgres(url),
                None => crate::prefill::Target::Sqlite(&sqlite_file),
            };
            crate::prefill::seed(&bin, &args, BACKEND_KEY)?;
            crate::prefill::fill(&target, n)?;
        }
        let server = spawn_server(&bin.join("checkout-server"), &args)?;
        targets.push(server.url.clone());
        servers.push(server);
    }
    let label = format!(
        "{} ×{instances}, {connections} conn{}{}",
        if postgres { "PostgreSQL" } else { "SQLite" },
        if jwt { ", JWT" } else { "" },
        products.map_or(String::new(), |n| format!(", +{n} products")),
    ) + &prefill.map_or(String::new(), |n| format!(", {n} stored"));
    let mut load = Cmd::new(&bin.join("checkout-load").to_string_lossy()).args([
        "--connections",
        connections,
        "--seconds",
        seconds,
        "--shoppers-per-connection",
        per_connection,
        "--label",
        &label,
        "--backend-key",
        BACKEND_KEY,
    ]);
    for t in &targets {
        load = load.args(["--target", t]);
    }
    if let Some((_, tokens)) = &identity {
        load = load.args(["--shop-tokens", &tokens.to_string_lossy()]);
    }
    let result = run(load);
    drop(servers);
    // `--keep`: the database stays for a look at its plans (`EXPLAIN ANALYZE`).
    if args.iter().any(|a| a == "--keep") {
        eprintln!(
            "kept: {}",
            database_url
                .as_deref()
                .map_or_else(|| sqlite_file.display().to_string(), str::to_owned)
        );
        return result;
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if let Some(url) = &database_url {
        drop_postgres_database(url);
    }
    result
}

/// The demo bakery's catalog with `count` more products (their SKUs `GEN-00000`…), as
/// a file in `scratch`; its path. (Written as text: xtask has no dependencies.)
fn big_catalog(scratch: &std::path::Path, count: usize) -> Result<std::path::PathBuf, String> {
    let bakery = std::fs::read_to_string(root().join("catalogs/bakery.json"))
        .map_err(|e| format!("catalogs/bakery.json: {e}"))?;
    let mut generated = String::new();
    for i in 0..count {
        let class = if i % 3 == 0 { "standard" } else { "food" };
        generated.push_str(&format!(
            "{{\"sku\": \"GEN-{i:05}\", \"name\": \"Generated product {i}\", \
             \"description\": \"A product of the benchmark's large catalog.\", \
             \"category\": \"generated\", \"unit_price\": {}, \"tax_class\": \"{class}\"}},\n",
            100 + i % 5_000
        ));
    }
    let anchor = "\"products\": [";
    if !bakery.contains(anchor) {
        return Err("catalogs/bakery.json has no products list".into());
    }
    let doc = bakery.replacen(anchor, &format!("{anchor}\n{generated}"), 1);
    std::fs::create_dir_all(scratch).map_err(|e| e.to_string())?;
    let path = scratch.join("catalog.json");
    std::fs::write(&path, doc).map_err(|e| e.to_string())?;
    Ok(path)
}

/// A key set and `count` RS256 tokens (one per line, valid two hours, audience
/// `checkout-guard`) made by PyJWT in `scratch` (tests/identity/tokens.py); their paths.
fn shop_tokens(
    scratch: &std::path::Path,
    count: usize,
) -> Result<(std::path::PathBuf, std::path::PathBuf), String> {
    crate::pypi::ensure_pyjwt()?;
    let dir = scratch.join("identity");
    let script = root().join("tests/identity/tokens.py");
    run(Cmd::new("python3").args([&*script.to_string_lossy(), "keys", &dir.to_string_lossy()]))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Plain JSON of ASCII names and numbers: written without a JSON library.
    let requests: Vec<String> = (0..count)
        .map(|i| {
            format!(
                r#"{{"key":"rsa","alg":"RS256","kid":"rsa-1","claims":{{"sub":"bench-customer-{i}","aud":"checkout-guard","iat":{now},"exp":{}}}}}"#,
                now + 7_200
            )
        })
        .collect();
    let requests_file = dir.join("requests.json");
    std::fs::write(&requests_file, format!("[{}]", requests.join(",")))
        .map_err(|e| e.to_string())?;
    let out = Command::new("python3")
        .arg(&script)
        .args(["mint-lines", &dir.to_string_lossy()])
        .stdin(std::fs::File::open(&requests_file).map_err(|e| e.to_string())?)
        .output()
        .map_err(|e| format!("tokens.py: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "tokens.py mint-lines: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let file = dir.join("tokens.txt");
    std::fs::write(&file, &out.stdout).map_err(|e| e.to_string())?;
    Ok((dir.join("jwks.json"), file))
}

/// The shop backend's key on benchmark servers (the last phase, CONTRACT §24).
const BACKEND_KEY: &str = "bench-backend-key-0123456789abcdef0123";

/// The admin token of benchmark and soak servers.
pub const ADMIN_TOKEN: &str = "bench-admin-token-0001";

/// The flags of a benchmark or soak server: loopback on a free port, cheap Argon2 (1 MiB,
/// as a load test signs in thousands), throttles out of the way (one address drives
/// every shopper), and the database.
pub fn server_args(data: &str, database_url: Option<&str>, pool: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> = [
        "--bind",
        "127.0.0.1:0",
        "--admin-token",
        ADMIN_TOKEN,
        "--argon2-memory-kib",
        "1024",
        "--signups-per-address-per-hour",
        "100000000",
        "--initiations-per-shopper-per-minute",
        "100000000",
        "--changes-per-shopper-per-minute",
        "100000000",
        "--card-attempts-per-shopper-per-hour",
        "100000000",
        // Every load shopper pays from 127.0.0.1.
        "--card-attempts-per-address-per-hour",
        "100000000",
        // A load shopper makes thousands of orders within the keys' 24 hours.
        "--idempotency-keys-per-shopper",
        "100000000",
        "--hash-wait-ms",
        "600000",
        "--data-dir",
        data,
        "--token-secret",
        "benchmark secret shared by all instances",
        // bench-outbox's receivers listen on 127.0.0.1.
        "--outbox-allow-private",
    ]
    .map(str::to_owned)
    .to_vec();
    if let Some(url) = database_url {
        args.extend(["--database-url".to_owned(), url.to_owned()]);
    }
    if let Some(pool) = pool {
        args.extend(["--database-max-connections".to_owned(), pool.to_owned()]);
    }
    args
}

/// A fresh PostgreSQL database on the local cluster; returns its URL.
pub fn create_postgres_database(purpose: &str) -> Result<String, String> {
    let admin = tools::ensure_postgres()?;
    let name = format!("cg_{purpose}_{}", std::process::id());
    let (base, _) = admin.rsplit_once('/').ok_or("bad PostgreSQL URL")?;
    let status = Command::new("psql")
        .args([&admin, "-qc", &format!("CREATE DATABASE {name}")])
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("cannot create the {purpose} database"));
    }
    Ok(format!("{base}/{name}"))
}

/// Drops a database [`create_postgres_database`] made.
pub fn drop_postgres_database(url: &str) {
    if let (Some((_, name)), Ok(admin)) = (url.rsplit_once('/'), tools::ensure_postgres()) {
        let _ = Command::new("psql")
            .args([
                &admin,
                "-qc",
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            ])
            .status();
    }
}

/// The release server (and its simulated provider) for `bench-pay` and `bench-outbox`:
/// one instance on SQLite or a fresh PostgreSQL database. Returns them with the
/// database URL to drop.
fn bench_instance(
    bin: &std::path::Path,
    postgres: bool,
    provider_args: &[&str],
    scratch: &std::path::Path,
) -> Result<(tools::ServerProcess, Option<String>), String> {
    let database_url = if postgres {
        Some(create_postgres_database("bench")?)
    } else {
        None
    };
    let secret = tools::webhook_secret();
    let provider =
        tools::spawn_provider(&bin.join("checkout-payment-sim"), &secret, provider_args)?;
    let data = scratch.join("instance");
    let mut args = server_args(&data.to_string_lossy(), database_url.as_deref(), None);
    args.extend([
        "--payment-provider-url".to_owned(),
        provider.url.clone(),
        "--payment-webhook-secret".to_owned(),
        secret,
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut server = spawn_server(&bin.join("checkout-server"), &args)?;
    tools::send_webhooks_to(&provider.url, &server.url)?;
    server.provider = Some(Box::new(provider));
    Ok((server, database_url))
}

/// `cargo xtask bench-pay`: Pay Now end to end per second (tokenize with the provider,
/// start, choose, pay, and wait for the order), by default with the card the provider
/// confirms only by webhook (`--async-ms 0`: at once, then the webhook), so every order
/// is made by the webhook.
pub fn bench_pay(args: &[String]) -> Result<(), String> {
    let postgres = args.iter().any(|a| a == "--postgres");
    let connections = flag(args, "--connections").unwrap_or("32");
    let seconds = flag(args, "--seconds").unwrap_or("10");
    let card = flag(args, "--card").unwrap_or("4000000000003220");
    let bin = build_release()?;
    let scratch = std::env::temp_dir().join(format!("checkout-bench-pay-{}", std::process::id()));
    let (server, database_url) = bench_instance(
        &bin,
        postgres,
        &["--async-ms", "0", "--webhook-delay-ms", "0"],
        &scratch,
    )?;
    let label = format!(
        "{}, {connections} conn, card {card}",
        if postgres { "PostgreSQL" } else { "SQLite" }
    );
    let load = [
        "--connections",
        connections,
        "--shoppers-per-connection",
        "1",
        "--seconds",
        seconds,
        "--pay-flow",
        card,
        "--label",
        &label,
    ];
    drive_one(&bin, server, database_url, &scratch, &load)
}

/// `cargo xtask bench-outbox`: orders at `--rate` per second (default 1,000) for
/// `--seconds`, each event delivered to a receiver in the load process; the events'
/// throughput and lag. `--dead-endpoint` adds, first, an endpoint that never answers.
pub fn bench_outbox(args: &[String]) -> Result<(), String> {
    let postgres = args.iter().any(|a| a == "--postgres");
    let connections = flag(args, "--connections").unwrap_or("32");
    let seconds = flag(args, "--seconds").unwrap_or("10");
    let rate = flag(args, "--rate").unwrap_or("1000");
    let dead = args.iter().any(|a| a == "--dead-endpoint");
    let bin = build_release()?;
    let scratch =
        std::env::temp_dir().join(format!("checkout-bench-outbox-{}", std::process::id()));
    let (server, database_url) = bench_instance(&bin, postgres, &[], &scratch)?;
    let label = format!(
        "{}, {connections} conn, {rate} orders/s asked{}",
        if postgres { "PostgreSQL" } else { "SQLite" },
        if dead { ", beside a dead endpoint" } else { "" }
    );
    let mut load = vec![
        "--connections",
        connections,
        "--shoppers-per-connection",
        "4",
        "--seconds",
        seconds,
        "--outbox-lag",
        "--rate",
        rate,
        "--admin-token",
        ADMIN_TOKEN,
        "--label",
        &label,
    ];
    if dead {
        load.push("--dead-endpoint");
    }
    drive_one(&bin, server, database_url, &scratch, &load)
}

/// Runs `checkout-load` with `load` against `server`, then stops it and removes its data.
fn drive_one(
    bin: &std::path::Path,
    server: tools::ServerProcess,
    database_url: Option<String>,
    scratch: &std::path::Path,
    load: &[&str],
) -> Result<(), String> {
    let result = run(Cmd::new(&bin.join("checkout-load").to_string_lossy())
        .args(["--target", &server.url])
        .args(load.iter().copied()));
    drop(server);
    let _ = std::fs::remove_dir_all(scratch);
    if let Some(url) = &database_url {
        drop_postgres_database(url);
    }
    result
}
