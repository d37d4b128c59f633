//! `cargo xtask test`, the one command that runs every check and test, and the pieces it
//! shares with `e2e`, `schemathesis` and the benchmarks: the scratch test server, the
//! Node runs against it, and the counting of what passed.

use crate::{
    e2e::{node_totals, run_e2e, E2E_BACKEND_KEY},
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
    // Schemathesis runs for a fixed time; the wasm tests in the three engines run beside
    // it (their output is interleaved with its in the log; each line names its engine).
    println!(
        "(beside it: the wasm tests in Chromium, Firefox and WebKit, crates/checkout-wasm/tests)"
    );
    let (schemathesis, browsers) = std::thread::scope(|scope| {
        let browsers = scope.spawn(move || {
            crate::engines::wait_for_geckodriver(geckodriver)?;
            Engine::ALL
                .into_iter()
                .map(|engine| Ok((engine, crate::engines::wasm_tests(engine)?)))
                .collect::<Result<Vec<_>, String>>()
        });
        let schemathesis = run_schemathesis("60");
        let browsers = browsers
            .join()
            .unwrap_or_else(|_| Err("the wasm tests' thread panicked".into()));
        (schemathesis, browsers)
    });
    let (schemathesis, browsers) = (schemathesis?, browsers?);

    section("end-to-end tests in headless Chromium (tests/e2e)");
    let e2e = run_e2e()?;

    section("the key scenarios in Chromium, Firefox and WebKit (tests/engines)");
    let scenarios = crate::engines::scenarios()?;

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
    let (mut scenarios_passed, mut scenarios_failed) = (0, 0);
    for (engine, out) in &scenarios {
        let (p, f) = node_totals(out);
        println!("key scenarios in {}: {p} passed, {f} failed", engine.name());
        scenarios_passed += p;
        scenarios_failed += f;
    }
    println!("{}", schemathesis.trim());
    for line in e2e
        .lines()
        .map(|l| l.trim_start_matches(['#', ' ']))
        .filter(|l| l.starts_with("standardwebhooks ") || l.starts_with("axe-core "))
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
        passed + wasm_passed + e2e_passed + scenarios_passed + storefront.matches(": ok (").count(),
        failed + wasm_failed + e2e_failed + scenarios_failed
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
