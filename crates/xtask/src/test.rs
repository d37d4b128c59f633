//! `cargo xtask test`, the one command that runs every check and test, and the pieces it
//! shares with `e2e`, `schemathesis` and the benchmarks: the scratch test server, the
//! Node runs against it, and the counting of what passed.

use crate::{
    build_wasm_package,
    engines::Engine,
    fuzz, root,
    scratch_server::{test_server, E2E_ADMIN_TOKEN},
    structure,
    tools::{self, run, run_captured, Cmd},
};

pub fn cmd_test() -> Result<(), String> {
    let started = *START.get_or_init(std::time::Instant::now);
    tools::ensure_wasm_toolchain()?;
    crate::engines::ensure_browsers()?;
    let postgres = tools::ensure_postgres();
    match &postgres {
        Ok(_) => {
            println!("PostgreSQL: running on 127.0.0.1; server tests run on SQLite and PostgreSQL")
        }
        Err(why) => println!(
            "PostgreSQL: NOT AVAILABLE ({why}); PostgreSQL and multi-instance tests will be SKIPPED"
        ),
    }

    // The previous release (for the upgrade test) and the fuzz targets build beside the
    // checks below, at the lowest priority: on the cores the phases leave idle (a test
    // run, schemathesis and the browsers keep about one of two busy).
    let previous = crate::upgrade::start()?;
    let fuzz_build = fuzz::build_in_background()?;
    let geckodriver = crate::engines::geckodriver_in_background()?;

    section("rustfmt");
    run(Cmd::new("cargo").args(["fmt", "--all", "--check"]))?;

    section("structure (file sizes, no import cycle in any crate)");
    println!("{}", structure::check(&root())?);

    section("clippy (native, all targets, -D warnings)");
    run(Cmd::new("cargo").args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]))?;
    section("clippy (wasm32: the core library and the binding with its tests, -D warnings)");
    for (package, scope) in [
        ("checkout-core", "--lib"),
        ("checkout-wasm", "--all-targets"),
    ] {
        run(Cmd::new("cargo").args([
            "clippy",
            "--package",
            package,
            scope,
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    section("core builds for wasm32 without any web dependency");
    run(Cmd::new("cargo").args([
        "build",
        "--package",
        "checkout-core",
        "--target",
        "wasm32-unknown-unknown",
    ]))?;
    let tree = run_captured(Cmd::new("cargo").args([
        "tree",
        "--package",
        "checkout-core",
        "--edges",
        "normal",
        "--target",
        "all",
    ]))?;
    for forbidden in ["wasm-bindgen", "web-sys", "js-sys"] {
        if tree.contains(forbidden) {
            return Err(format!("checkout-core depends on {forbidden}"));
        }
    }

    section("native tests (workspace; the upgrade test after them)");
    // The identity tests' tokens are made by PyJWT, not by our code.
    crate::pypi::ensure_pyjwt()?;
    let tests = |args: &[&str]| {
        let mut tests = Cmd::new("cargo")
            .args(["test", "--all-features"])
            .args(args.iter().copied())
            .env("RUST_LOG", "warn");
        if let Ok(url) = &postgres {
            tests = tests.env("CHECKOUT_TEST_POSTGRES_URL", url);
        }
        tests
    };
    let mut native = run_captured(tests(&[
        "--workspace",
        "--",
        "--nocapture",
        "--skip",
        UPGRADE_TEST,
    ]))?;
    section("the upgrade test (the previous release was built beside the checks)");
    let previous = previous.wait()?;
    // The same selection and features as above, so the test binary built there is used.
    let upgrade = tests(&["--workspace", "--test", "upgrade", "--", "--nocapture"]);
    native.push_str(&match &previous {
        Some(previous) => {
            run_captured(upgrade.env("CHECKOUT_PREVIOUS_SERVER_BIN", &previous.to_string_lossy()))?
        }
        None => run_captured(upgrade)?,
    });

    section("the systemd unit (systemd-analyze verify packaging/checkout-server.service)");
    let unit = verify_systemd_unit()?;
    println!("{unit}");

    section(
        "schemathesis against the served OpenAPI document (--checks all, as shopper, admin and shop backend)",
    );
    let schemathesis = run_schemathesis("60")?;

    section("wasm tests in Chromium, Firefox and WebKit (crates/checkout-wasm/tests)");
    crate::engines::wait_for_geckodriver(geckodriver)?;
    let mut browsers = Vec::new();
    for engine in Engine::ALL {
        println!("{}:", engine.name());
        browsers.push((engine, crate::engines::wasm_tests(engine)?));
    }

    section("end-to-end tests in headless Chromium (tests/e2e)");
    let e2e = run_e2e()?;

    section("the packed package in a Vite 7 storefront (tests/storefront-vite)");
    let storefront = crate::storefront::run_storefront()?;

    section("fuzz targets (cargo-fuzz, 20 s each, two at a time; `cargo xtask fuzz --seconds N` for longer)");
    fuzz_build.wait()?;
    let fuzzed = fuzz::run_targets(20, None, &[])?;

    section("summary");
    for kind in ["verdict", "record", "requirement", "answer"] {
        let native_count = vector_count(&native, kind, "natively");
        let mut counts = format!("shared {kind} vectors: {native_count} natively");
        let mut same = native_count > 0;
        for (engine, out) in &browsers {
            let count = vector_count(out, kind, &format!("in {}", engine.name()));
            counts.push_str(&format!(", {count} in {}", engine.name()));
            same &= count == native_count;
        }
        println!("{counts}");
        if !same {
            return Err(format!(
                "the shared {kind} vectors did not run the same number of times natively and in every engine"
            ));
        }
    }
    let skipped = native
        .matches("SKIPPED (no CHECKOUT_TEST_POSTGRES_URL)")
        .count();
    if skipped > 0 {
        println!("SKIPPED: {skipped} PostgreSQL test(s) did not run (no PostgreSQL here)");
        if std::env::var_os("CI").is_some() {
            return Err(
                "CI must run the PostgreSQL tests, but PostgreSQL was not available".into(),
            );
        }
    } else {
        println!("PostgreSQL: every server test also ran on PostgreSQL, and so did the multi-instance test");
    }
    let (passed, failed) = totals(&native);
    let (mut wasm_passed, mut wasm_failed) = (0, 0);
    for (engine, out) in &browsers {
        let (p, f) = totals(out);
        println!("wasm tests in {}: {p} passed, {f} failed", engine.name());
        wasm_passed += p;
        wasm_failed += f;
    }
    let (e2e_passed, e2e_failed) = node_totals(&e2e);
    println!(
        "end-to-end: {e2e_passed} passed, {e2e_failed} failed (screenshots in tests/artifacts/)"
    );
    println!("{}", schemathesis.trim());
    for line in e2e
        .lines()
        .map(|l| l.trim_start_matches(['#', ' ']))
        .filter(|l| l.starts_with("standardwebhooks "))
    {
        println!("{line}");
    }
    for line in storefront
        .lines()
        .filter(|l| l.starts_with("storefront-vite "))
    {
        println!("{line}");
    }
    for line in native.lines().filter(|l| l.starts_with("upgrade: ")) {
        println!("{line}");
    }
    for f in &fuzzed {
        println!("fuzz {}: {} executions, no failure", f.target, f.runs);
    }
    println!("{unit}");
    println!("all checks passed in {:.0?}", started.elapsed());
    println!(
        "{} passed, {} failed",
        passed + wasm_passed + e2e_passed + storefront.matches(": ok (").count(),
        failed + wasm_failed + e2e_failed
    );
    Ok(())
}

/// `systemd-analyze verify` over the repository's unit, with its `ExecStart` pointed at
/// the debug build (verify checks that the binary exists); any warning fails it too
/// (verify exits 0 on an unknown key).
fn verify_systemd_unit() -> Result<String, String> {
    tools::ensure_apt(&["systemd-analyze"], &["systemd"])?;
    let unit = std::fs::read_to_string(root().join("packaging/checkout-server.service"))
        .map_err(|e| format!("packaging/checkout-server.service: {e}"))?;
    let bin = root().join("target/debug/checkout-server");
    let unit = unit.replace("/usr/local/bin/checkout-server", &bin.to_string_lossy());
    let dir = std::env::temp_dir().join(format!("checkout-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join("checkout-server.service");
    std::fs::write(&path, unit).map_err(|e| e.to_string())?;
    let out = std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .map_err(|e| format!("systemd-analyze: {e}"))?;
    let _ = std::fs::remove_dir_all(&dir);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && said.trim().is_empty() {
        Ok("systemd unit: systemd-analyze verify found nothing to say".into())
    } else {
        Err(format!("the systemd unit does not verify:\n{said}"))
    }
}

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

/// Starts the debug server on a scratch directory and runs tests/schemathesis/run.py
/// against it (each of its two runs bounded by `max_time` seconds); returns its summary.
pub fn run_schemathesis(max_time: &str) -> Result<String, String> {
    crate::pypi::ensure_schemathesis()?;
    let (server, scratch) = test_server(
        "schemathesis",
        &[
            // schemathesis signs up and starts checkouts far faster than a person.
            "--login-failures-per-address",
            "100000000",
            "--initiations-per-shopper-per-minute",
            "100000000",
            "--backend-api-key",
            E2E_BACKEND_KEY,
        ],
    )?;
    let output = run_captured(
        Cmd::new("python3")
            .args(["tests/schemathesis/run.py"])
            .env("CHECKOUT_URL", &server.url)
            .env("CHECKOUT_ADMIN_TOKEN", E2E_ADMIN_TOKEN)
            .env("CHECKOUT_BACKEND_KEY", E2E_BACKEND_KEY)
            .env("ST_MAX_TIME", max_time),
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&scratch);
    let output = output?;
    Ok(output
        .lines()
        .filter(|l| l.starts_with("schemathesis:"))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// Builds the wasm package, starts the debug server with the test clock on a scratch
/// data directory, and runs the Playwright tests against it with Node's test runner.
fn run_e2e() -> Result<String, String> {
    run_node_against_server(&["--test", "--test-concurrency=1", "tests/e2e/"])
}

/// Starts the server for browser work and runs `node ARGS` against it.
pub fn run_node_against_server(node_args: &[&str]) -> Result<String, String> {
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
    let output = run_captured(
        Cmd::new("node")
            .args(node_args.iter().copied())
            .env("E2E_BASE_URL", &server.url)
            .env("E2E_ADMIN_TOKEN", E2E_ADMIN_TOKEN)
            .env("E2E_JWT_SECRET", E2E_JWT_SECRET)
            .env("E2E_BACKEND_KEY", E2E_BACKEND_KEY),
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&scratch);
    output
}

/// The shop backend's key on the end-to-end and schemathesis servers.
pub const E2E_BACKEND_KEY: &str = "e2e-shop-backend-key-of-32-characters-or-more";

/// The HS256 secret the end-to-end server trusts for the shop's tokens.
pub const E2E_JWT_SECRET: &str = "e2e-shop-identity-secret-of-32-chars-or-more";

/// Reads node's "# pass N" / "# fail N" summary.
fn node_totals(output: &str) -> (usize, usize) {
    let count = |prefix: &str| {
        output
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    (count("# pass "), count("# fail "))
}

/// The upgrade test's name (`crates/checkout-server/tests/upgrade.rs`): run on its own
/// once the previous release is built.
const UPGRADE_TEST: &str = "an_old_and_a_new_release_serve_one_database_through_an_upgrade";

/// Prints a phase's title with the time since the test command started, so a log shows
/// where the time goes.
fn section(title: &str) {
    let since = START.get_or_init(std::time::Instant::now).elapsed();
    println!(
        "\n==> [{:02}:{:02}] {title}",
        since.as_secs() / 60,
        since.as_secs() % 60
    );
}

static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Reads "shared <kind> vectors: N passed <where>" from a test run's output.
fn vector_count(output: &str, kind: &str, place: &str) -> usize {
    let label = format!("shared {kind} vectors:");
    output
        .lines()
        .filter(|l| l.contains(&label) && l.contains(place))
        .filter_map(|l| {
            l.split(label.as_str())
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse::<usize>()
                .ok()
        })
        .sum()
}

/// Adds up the "test result: ok. N passed; M failed" lines.
fn totals(output: &str) -> (usize, usize) {
    let mut passed = 0;
    let mut failed = 0;
    for line in output.lines().filter(|l| l.starts_with("test result:")) {
        let number_before = |word: &str| {
            line.split(';')
                .find(|part| part.trim_end().ends_with(word))
                .and_then(|part| part.split_whitespace().rev().nth(1))
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0)
        };
        passed += number_before("passed");
        failed += number_before("failed");
    }
    (passed, failed)
}
