//! The three browser engines the test command drives — Chromium, Firefox and WebKit —
//! what each needs installed, and the wasm tests in each (`cargo xtask wasm-tests`).
//!
//! - Chromium: Debian's `chromium` and `chromium-driver` (`wasm-pack test --chrome`).
//! - Firefox: Debian's `firefox-esr` and geckodriver from crates.io, pinned
//!   (`wasm-pack test --firefox`).
//! - WebKit: Debian's WebKitGTK (`webkit2gtk-driver` gives `WebKitWebDriver`, which starts
//!   WebKitGTK's MiniBrowser). wasm-pack knows only Apple's `safaridriver`, so the tests
//!   run through `cargo test` with wasm-bindgen's test runner, which speaks WebDriver to
//!   `WebKitWebDriver` as `SAFARIDRIVER`. MiniBrowser has no headless mode that the
//!   runner can ask for, so it runs on a virtual display (`xvfb-run`).

use crate::{
    background::Background,
    tools::{self, output_of, run_captured, Cmd},
};

/// geckodriver's release, installed with `cargo install --locked`.
const GECKODRIVER: &str = "0.37.1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Chromium,
    Firefox,
    WebKit,
}

impl Engine {
    pub const ALL: [Engine; 3] = [Engine::Chromium, Engine::Firefox, Engine::WebKit];

    /// The name the tests print ("… passed in Firefox").
    pub fn name(self) -> &'static str {
        match self {
            Engine::Chromium => "Chromium",
            Engine::Firefox => "Firefox",
            Engine::WebKit => "WebKit",
        }
    }
}

/// Where cargo installs binaries (geckodriver is looked for there, not only on PATH).
fn cargo_bin(name: &str) -> std::path::PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")))
        .unwrap_or_default();
    home.join("bin").join(name)
}

pub fn geckodriver() -> std::path::PathBuf {
    cargo_bin("geckodriver")
}

/// Installs the Debian packages of all three engines when any is missing.
pub fn ensure_browsers() -> Result<(), String> {
    tools::ensure_chromium()?;
    tools::ensure_apt(&["firefox-esr"], &["firefox-esr"])?;
    tools::ensure_apt(
        &["WebKitWebDriver", "xvfb-run", "xauth"],
        &["webkit2gtk-driver", "xvfb", "xauth"],
    )
}

/// Starts `cargo install geckodriver` at the lowest priority when it is missing (a
/// couple of minutes of compiling, beside the other phases); `None` when it is there.
pub fn geckodriver_in_background() -> Result<Option<Background>, String> {
    let installed = output_of(&geckodriver().to_string_lossy(), &["--version"]);
    if installed.is_some_and(|v| v.contains(GECKODRIVER)) {
        return Ok(None);
    }
    println!("$ nice -n 19 cargo install geckodriver --version {GECKODRIVER} --locked &");
    let child = std::process::Command::new("nice")
        .args(["-n", "19", "cargo", "install", "geckodriver", "--locked"])
        .args(["--version", GECKODRIVER])
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cargo install geckodriver: {e}"))?;
    Ok(Some(Background::new(child)))
}

/// Waits for the install `geckodriver_in_background` started, if any.
pub fn wait_for_geckodriver(install: Option<Background>) -> Result<(), String> {
    if let Some(mut install) = install {
        match install.wait()? {
            Some(status) if !status.success() => {
                return Err(format!("cargo install geckodriver failed ({status})"))
            }
            _ => {}
        }
    }
    Ok(())
}

/// The crate's wasm tests (`crates/checkout-wasm/tests`) in one engine; their output.
pub fn wasm_tests(engine: Engine) -> Result<String, String> {
    let wasm_pack = |browser: &str| {
        Cmd::new("wasm-pack").args([
            "test",
            "--headless",
            browser,
            "crates/checkout-wasm",
            "--",
            "--nocapture",
        ])
    };
    let cmd = match engine {
        Engine::Chromium => wasm_pack("--chrome").env("CHROMEDRIVER", "/usr/bin/chromedriver"),
        Engine::Firefox => {
            wasm_pack("--firefox").env("GECKODRIVER", &geckodriver().to_string_lossy())
        }
        Engine::WebKit => Cmd::new("xvfb-run")
            .args([
                "--auto-servernum",
                "cargo",
                "test",
                "--package",
                "checkout-wasm",
            ])
            .args(["--target", "wasm32-unknown-unknown", "--", "--nocapture"])
            .env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                "wasm-bindgen-test-runner",
            )
            .env("SAFARIDRIVER", "/usr/bin/WebKitWebDriver"),
    };
    run_captured(cmd)
}

/// `cargo xtask wasm-tests`: the wasm tests in every engine, with the vector counts.
pub fn cmd_wasm_tests() -> Result<(), String> {
    tools::ensure_wasm_toolchain()?;
    ensure_browsers()?;
    wait_for_geckodriver(geckodriver_in_background()?)?;
    for engine in Engine::ALL {
        let out = wasm_tests(engine)?;
        for line in out.lines().filter(|l| l.contains("shared ")) {
            println!("{}", line.trim());
        }
    }
    Ok(())
}

/// The key scenarios (`tests/engines/scenarios.test.mjs`) in every engine, one after
/// the other against one server; each engine's node output.
pub fn scenarios() -> Result<Vec<(Engine, String)>, String> {
    crate::e2e::with_e2e_server(|at_server| {
        let mut outputs = Vec::new();
        for engine in Engine::ALL {
            println!("{}:", engine.name());
            let node = ["node", "--test", "--test-concurrency=1", SCENARIOS];
            let cmd = match engine {
                Engine::WebKit => Cmd::new("xvfb-run").args(["--auto-servernum"]).args(node),
                _ => Cmd::new(node[0]).args(node[1..].iter().copied()),
            };
            let cmd = at_server(cmd)
                .env("ENGINE", &engine.name().to_ascii_lowercase())
                .env("GECKODRIVER", &geckodriver().to_string_lossy());
            outputs.push((engine, run_captured(cmd)?));
        }
        Ok(outputs)
    })
}

const SCENARIOS: &str = "tests/engines/scenarios.test.mjs";

/// `cargo xtask engines`: the key scenarios in Chromium, Firefox and WebKit.
pub fn cmd_scenarios() -> Result<(), String> {
    ensure_browsers()?;
    wait_for_geckodriver(geckodriver_in_background()?)?;
    for (engine, out) in scenarios()? {
        let (passed, failed) = crate::e2e::node_totals(&out);
        println!(
            "scenarios in {}: {passed} passed, {failed} failed",
            engine.name()
        );
    }
    Ok(())
}

/// `cargo xtask bench-browser`: the full browser figures in Chromium
/// (`tests/bench/browser.mjs`, playwright-core), then the first local verdict in Firefox
/// (`tests/bench/first-verdict.mjs`, over WebDriver), against one server.
pub fn bench_browser() -> Result<(), String> {
    ensure_browsers()?;
    wait_for_geckodriver(geckodriver_in_background()?)?;
    crate::e2e::with_e2e_server(|at_server| {
        run_captured(at_server(
            Cmd::new("node").args(["tests/bench/browser.mjs"]),
        ))?;
        run_captured(
            at_server(Cmd::new("node").args(["tests/bench/first-verdict.mjs"]))
                .env("ENGINE", "firefox")
                .env("GECKODRIVER", &geckodriver().to_string_lossy()),
        )
        .map(drop)
    })
}
