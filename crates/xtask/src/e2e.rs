//! The end-to-end tests' server and the Node runs against it (`cargo xtask e2e`, the
//! key scenarios in every engine, `bench-browser`), shared by `cargo xtask test`.

use crate::{
    build_wasm_package, root,
    scratch_server::{test_server, E2E_ADMIN_TOKEN},
    tools::{self, run, run_captured, Cmd},
};

/// `cargo xtask e2e [FILE…]`: only the end-to-end tests (all of `tests/e2e/`, or the
/// files named), against a fresh server as in `cargo xtask test`.
pub fn cmd_e2e(files: &[String]) -> Result<(), String> {
    let mut node_args = vec!["--test".to_owned(), "--test-concurrency=1".to_owned()];
    if files.is_empty() {
        node_args.push("tests/e2e/".to_owned());
    } else {
        node_args.extend(files.iter().cloned());
    }
    let args: Vec<&str> = node_args.iter().map(String::as_str).collect();
    let output = run_node_against_server(&args)?;
    let (passed, failed) = node_totals(&output);
    println!("end-to-end: {passed} passed, {failed} failed");
    Ok(())
}

/// Builds the wasm package, starts the debug server with the test clock on a scratch
/// data directory, and runs the Playwright tests against it with Node's test runner.
pub fn run_e2e() -> Result<String, String> {
    run_node_against_server(&["--test", "--test-concurrency=1", "tests/e2e/"])
}

/// Starts the server for browser work and runs `node ARGS` against it.
pub fn run_node_against_server(node_args: &[&str]) -> Result<String, String> {
    with_e2e_server(|env| run_captured(env(Cmd::new("node").args(node_args.iter().copied()))))
}

/// Starts the server for browser work (the wasm package built, the tests' npm packages
/// installed) and runs `work` with a function that points a command at it.
pub fn with_e2e_server<T>(
    work: impl FnOnce(&dyn Fn(Cmd) -> Cmd) -> Result<T, String>,
) -> Result<T, String> {
    tools::ensure_chromium()?;
    tools::ensure_node()?;
    crate::pypi::ensure_standardwebhooks()?;
    build_wasm_package()?;
    let tests = root().join("tests");
    run(Cmd::new("npm").args([
        "ci",
        "--prefix",
        &tests.to_string_lossy(),
        "--no-audit",
        "--no-fund",
    ]))?;
    let (server, scratch) = test_server(
        "e2e",
        // The simulated bank's slow card (confirmed after 2 s) outlasts the server's
        // wait, so the page meets a payment that is still being confirmed.
        &[
            "--reconcile-after-secs",
            "2",
            "--sweep-every-ms",
            "200",
            "--gateway-timeout-ms",
            "1000",
            // The order-event receivers of tests/e2e/webhooks.test.mjs are on loopback.
            "--outbox-allow-private",
            // The shop's own sign-in (tests/e2e/identity.test.mjs mints with npm jose).
            "--jwt-hs256-secret",
            E2E_JWT_SECRET,
            "--jwt-audience",
            "checkout-guard",
            "--jwt-cookie",
            "shop_id_token",
            // The shop's backend (tests/e2e/backend.test.mjs runs the README's example).
            "--backend-api-key",
            E2E_BACKEND_KEY,
        ],
    )?;
    let url = server.url.clone();
    let output = work(&move |cmd: Cmd| {
        cmd.env("E2E_BASE_URL", &url)
            .env("E2E_ADMIN_TOKEN", E2E_ADMIN_TOKEN)
            .env("E2E_JWT_SECRET", E2E_JWT_SECRET)
            .env("E2E_BACKEND_KEY", E2E_BACKEND_KEY)
    });
    drop(server);
    let _ = std::fs::remove_dir_all(&scratch);
    output
}

/// The shop backend's key on the end-to-end and schemathesis servers.
pub const E2E_BACKEND_KEY: &str = "e2e-shop-backend-key-of-32-characters-or-more";

/// The HS256 secret the end-to-end server trusts for the shop's tokens.
pub const E2E_JWT_SECRET: &str = "e2e-shop-identity-secret-of-32-chars-or-more";

/// Reads node's "# pass N" / "# fail N" summary.
pub fn node_totals(output: &str) -> (usize, usize) {
    let count = |prefix: &str| {
        output
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    (count("# pass "), count("# fail "))
}
