//! The project's commands, so that a fresh Debian machine with only the Rust toolchain
//! needs nothing else:
//!
//! - `cargo xtask run [SERVER FLAGS…]` — build the wasm package into `www/pkg` and start
//!   the server on the embedded SQLite default, serving the storefront.
//! - `cargo xtask test` — install what is missing, then rustfmt, clippy, the native tests,
//!   the wasm tests in headless Chromium, and the end-to-end tests.
//! - `cargo xtask wasm` — only build the wasm package.
//! - `cargo xtask size` — the wasm size report for BENCHMARKS.md.
//!
//! Std only: this binary is built before every command, so it must build in seconds.

mod background;
mod bench;
mod e2e;
mod engines;
mod fuzz;
mod modgraph;
mod package;
mod prefill;
mod probe;
mod pypi;
mod scratch_server;
mod soak;
mod source;
mod storefront;
mod structure;
mod test;
mod tools;
mod upgrade;
mod wasm_sections;

use std::{
    env,
    path::{Path, PathBuf},
    process::ExitCode,
};

use tools::{run, run_captured, Cmd};

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => cmd_run(&args[1..]),
        Some("test") => test::cmd_test(),
        Some("wasm") => build_wasm_package().map(|_| ()),
        Some("wasm-tests") => engines::cmd_wasm_tests(),
        Some("engines") => engines::cmd_scenarios(),
        Some("e2e") => e2e::cmd_e2e(&args[1..]),
        Some("fuzz") => fuzz::cmd_fuzz(&args[1..]),
        Some("schemathesis") => test::run_schemathesis("90").map(|_| ()),
        Some("size") => cmd_size(),
        Some("structure") => structure::check(&root()).map(|summary| println!("{summary}")),
        Some("openapi") => cmd_openapi(),
        Some("bench-server") => bench::bench_server(&args[1..]),
        Some("prefill") => prefill::cmd_prefill(&args[1..]),
        Some("bench-pay") => bench::bench_pay(&args[1..]),
        Some("bench-outbox") => bench::bench_outbox(&args[1..]),
        Some("soak") => soak::cmd_soak(&args[1..]),
        Some("storefront-vite") => storefront::cmd_storefront(),
        Some("bench-browser") => engines::bench_browser(),
        _ => {
            eprintln!(
                "usage: cargo xtask <run [server flags…] | test | wasm | e2e [FILE…] | fuzz [--seconds N] | size | openapi | bench-server [flags]>\n\
                 run   build the wasm package and start the server (SQLite in ./data), the\n\
                 \x20    simulated provider (:8081) and the demo identity page (:8082)\n\
                 test  install what is missing and run every check and test\n\
                 wasm  build the wasm package into www/pkg\n\
                 wasm-tests  the wasm tests in Chromium, Firefox and WebKit, with the vector counts\n\
                 engines  the key shopper scenarios (tests/engines) in Chromium, Firefox and WebKit\n\
                 e2e [FILE…]  only the end-to-end tests in headless Chromium\n\
                 fuzz [--seconds N] [--runs R] [TARGET…]  the fuzz targets, N seconds each\n\
                 \x20    (default 60), or until R executions\n\
                 storefront-vite  the packed wasm package in a Vite 7 app (dev and build),\n\
                 \x20    type-checked by a strict tsc, driven in Chromium\n\
                 schemathesis  schemathesis against the served OpenAPI document (90 s a run)\n\
                 size  report the wasm package size\n\
                 structure  file sizes and every crate's module graph (no import cycle)\n\
                 openapi  regenerate docs/openapi.json from the server's code\n\
                 bench-server [--postgres] [--instances N] [--connections C] [--seconds S]\n\
                 \x20        [--shoppers-per-connection K] [--database-max-connections M]\n\
                 \x20        load-test release server(s) from a separate process\n\
                 bench-pay [--postgres] [--connections C] [--seconds S] [--card N]\n\
                 \x20    Pay Now end to end (tokenize → pay → webhook → order) per second\n\
                 bench-outbox [--postgres] [--rate R] [--connections C] [--seconds S] [--dead-endpoint]\n\
                 \x20    order events delivered to a receiver: throughput and lag\n\
                 bench-browser  first-verdict time and verdict cost in headless Chromium; first-verdict time in Firefox\n\
                 soak [--minutes N] [--postgres] [--connections C] [--shoppers-per-connection K]\n\
                 \x20    [--sample-secs S] [--idle-minutes M] [--session-retention-secs S]\n\
                 \x20    the release server under a realistic\n\
                 \x20    mix, sampling memory, threads, fds, database size and p99"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root (the workspace containing this crate).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `cargo xtask run [-- SERVER FLAGS]`: the wasm package, then the release server on
/// the embedded SQLite default with the storefront, the simulated payment provider as
/// its own process on 127.0.0.1:8081 (unless the flags name another provider), the two
/// sharing a fresh webhook secret, and the demo's stand-in for a shop's identity
/// provider on 127.0.0.1:8082 (unless a `--jwt-…` flag names the shop's own, or
/// `--no-demo-identity`), whose tokens the server accepts besides built-in accounts.
fn cmd_run(server_args: &[String]) -> Result<(), String> {
    tools::ensure_wasm_toolchain()?;
    build_wasm_package()?;
    run(Cmd::new("cargo").args([
        "build",
        "--release",
        "--package",
        "checkout-server",
        "--package",
        "checkout-payment-sim",
        "--package",
        "checkout-demo-identity",
        "--bins",
    ]))?;
    let bin = root().join("target/release");
    // `cargo xtask run -- --help` and `cargo xtask run --help` both reach the server.
    let server_args = match server_args.first().map(String::as_str) {
        Some("--") => &server_args[1..],
        _ => server_args,
    };
    // The demo's stand-in for the shop's identity provider, unless the operator names
    // their own (any --jwt-… flag) or asks for none.
    let no_identity = server_args.iter().any(|a| a == "--no-demo-identity");
    let server_args: Vec<String> = server_args
        .iter()
        .filter(|a| *a != "--no-demo-identity")
        .cloned()
        .collect();
    let server_args = &server_args[..];
    let own_identity = no_identity || server_args.iter().any(|a| a.starts_with("--jwt-"));
    let own_provider = server_args
        .iter()
        .any(|a| a.starts_with("--payment-provider-url"));
    let secret = tools::webhook_secret();
    let bind = bench::flag(server_args, "--bind")
        .map(str::to_owned)
        .or_else(|| std::env::var("CHECKOUT_BIND").ok())
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let port = bind.rsplit(':').next().unwrap_or("8080");
    let provider = if own_provider {
        None
    } else {
        let webhook = format!("http://127.0.0.1:{port}/api/v1/payments/webhook");
        // The secret goes by environment: the command lines are printed (and seen by ps).
        let child = std::process::Command::new(bin.join("checkout-payment-sim"))
            .env("SIM_WEBHOOK_SECRET", &secret)
            .args(["--webhook-url", &webhook])
            .spawn()
            .map_err(|e| format!("checkout-payment-sim: {e}"))?;
        Some(child)
    };
    let identity = if own_identity {
        None
    } else {
        let child = std::process::Command::new(bin.join("checkout-demo-identity"))
            .args(["--checkout-url", &format!("http://127.0.0.1:{port}")])
            .spawn()
            .map_err(|e| format!("checkout-demo-identity: {e}"))?;
        Some(child)
    };
    let server = bin.join("checkout-server");
    let mut cmd = Cmd::new(&server.to_string_lossy()).args(["--static-dir", "www"]);
    if !own_provider {
        cmd = cmd.env("CHECKOUT_PAYMENT_WEBHOOK_SECRET", &secret);
    }
    if identity.is_some() {
        cmd = cmd.args([
            "--jwt-jwks-url",
            "http://127.0.0.1:8082/jwks.json",
            "--jwt-issuer",
            "http://127.0.0.1:8082",
            "--jwt-audience",
            "checkout-guard",
            "--jwt-cookie",
            "shop_id_token",
        ]);
    }
    // The shop's backend (CONTRACT §24): a demo key, unless the operator gives one, so
    // the README's shop-backend example runs against this server as it is.
    if std::env::var_os("CHECKOUT_BACKEND_API_KEY").is_none()
        && !server_args
            .iter()
            .any(|a| a.starts_with("--backend-api-key"))
    {
        cmd = cmd.env("CHECKOUT_BACKEND_API_KEY", DEMO_BACKEND_KEY);
        println!(
            "the shop backend's demo key: CHECKOUT_BACKEND_API_KEY={DEMO_BACKEND_KEY} (README: \"Checkouts from the shop's own priced cart\")"
        );
    }
    if std::env::var_os("CHECKOUT_PUBLIC_URL").is_none()
        && !server_args.iter().any(|a| a.starts_with("--public-url"))
    {
        cmd = cmd.env("CHECKOUT_PUBLIC_URL", &format!("http://127.0.0.1:{port}"));
    }
    let result = run(cmd.args(server_args.iter().map(String::as_str)));
    for mut child in [provider, identity].into_iter().flatten() {
        let _ = child.kill();
        let _ = child.wait();
    }
    result
}

/// The shop backend's key `cargo xtask run` gives the demo server (never a production
/// key: it is in the source).
const DEMO_BACKEND_KEY: &str = "demo-shop-backend-key-0123456789abcdef";

/// Builds `crates/checkout-wasm` with wasm-pack (web target, size profile) into
/// `www/pkg`. Returns the path of the `.wasm`.
pub fn build_wasm_package() -> Result<PathBuf, String> {
    tools::ensure_wasm_toolchain()?;
    let out = root().join("www/pkg");
    run(Cmd::new("wasm-pack").args([
        "build",
        "crates/checkout-wasm",
        "--target",
        "web",
        "--profile",
        "wasm-release",
        "--no-opt",
        "--out-dir",
        &out.to_string_lossy(),
        "--out-name",
        "checkout_guard",
    ]))?;
    let wasm = out.join("checkout_guard_bg.wasm");
    // No wasm-opt: Debian's binaryen (108) mis-rewrites the externref table that
    // wasm-bindgen emits for reference types (the module then fails to instantiate in
    // Chromium), and binaryen 132's `-Oz` shrank the raw module but not the gzipped one
    // (measured in BENCHMARKS.md). The name and producers sections are dropped instead.
    let module = std::fs::read(&wasm).map_err(|e| format!("{}: {e}", wasm.display()))?;
    let stripped = wasm_sections::without_custom_sections(&module, &["name", "producers"])
        .map_err(|e| format!("{}: {e}", wasm.display()))?;
    std::fs::write(&wasm, stripped).map_err(|e| format!("{}: {e}", wasm.display()))?;
    // wasm-pack writes a .gitignore of "*" into the package; the demo serves it as is.
    let _ = std::fs::remove_file(out.join(".gitignore"));
    package::assemble(&out)?;
    Ok(wasm)
}

fn cmd_openapi() -> Result<(), String> {
    let doc = run_captured(Cmd::new("cargo").args([
        "run",
        "--quiet",
        "--package",
        "checkout-server",
        "--",
        "--print-openapi",
    ]))?;
    let path = root().join("docs/openapi.json");
    std::fs::write(&path, doc).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

fn cmd_size() -> Result<(), String> {
    let wasm = build_wasm_package()?;
    let pkg = wasm.parent().map(Path::to_path_buf).unwrap_or_default();
    for name in ["checkout_guard_bg.wasm", "checkout_guard.js"] {
        let path = pkg.join(name);
        let raw = std::fs::metadata(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .len();
        let gz = run_captured(
            Cmd::new("sh").args(["-c", &format!("gzip -9 -c '{}' | wc -c", path.display())]),
        )?;
        println!("size: {name}: {raw} bytes raw, {} bytes gzip -9", gz.trim());
    }
    Ok(())
}
