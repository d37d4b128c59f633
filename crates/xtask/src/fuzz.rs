//! `cargo xtask fuzz [--seconds N] [--runs R] [TARGET…]`: each fuzz target of `fuzz/`
//! (cargo-fuzz, libFuzzer) for a bounded time (or until R executions, if sooner), starting from the committed seeds (`fuzz/seeds/`) and
//! the corpus of earlier runs (`fuzz/corpus/`, not committed). cargo-fuzz's
//! instrumentation flags are nightly-only; RUSTC_BOOTSTRAP=1 lets the stable toolchain
//! take them. A failing property or a crash fails the run and leaves the input in
//! `fuzz/artifacts/<target>/`.

use std::process::{Command, Stdio};

use crate::{root, tools};

/// Every fuzz target, as named in `fuzz/Cargo.toml`.
pub const TARGETS: [&str; 9] = [
    "token",
    "recovery_record",
    "idempotency_key",
    "numbering_template",
    "admin_bodies",
    "request_bodies",
    "card_masking",
    "catalog_document",
    "priced_cart",
];

/// What one target's run did.
pub struct Fuzzed {
    /// The target.
    pub target: String,
    /// libFuzzer's executions.
    pub runs: u64,
    /// How long it ran, building excluded.
    pub seconds: f64,
}

/// `cargo fuzz build` of every target, started now at the lowest priority (the test
/// command runs it beside the native tests); its output goes to `target/fuzz-build.log`.
pub fn build_in_background() -> Result<Building, String> {
    tools::ensure_cargo_fuzz()?;
    let root = root();
    let _ = std::fs::create_dir_all(root.join("target"));
    let log = root.join("target/fuzz-build.log");
    let log_file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let errors = log_file.try_clone().map_err(|e| e.to_string())?;
    println!("$ nice -n 19 cargo fuzz build &  (log: {})", log.display());
    let child = Command::new("nice")
        .args(["-n", "19", "cargo", "fuzz", "build"])
        .current_dir(&root)
        .env("RUSTC_BOOTSTRAP", "1")
        .stdout(log_file)
        .stderr(errors)
        .spawn()
        .map_err(|e| format!("cargo fuzz build: {e}"))?;
    Ok(Building {
        build: crate::background::Background::new(child),
        log,
    })
}

/// The fuzz targets, being built; stopped if dropped unwaited (an earlier phase failed).
pub struct Building {
    build: crate::background::Background,
    log: std::path::PathBuf,
}

impl Building {
    /// Waits for the build; its log's end when it failed.
    pub fn wait(mut self) -> Result<(), String> {
        let Some(status) = self.build.wait()? else {
            return Ok(());
        };
        if status.success() {
            return Ok(());
        }
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Err(format!(
            "cargo fuzz build failed ({status}):\n{}",
            tail.join("\n")
        ))
    }
}

/// How many targets fuzz at once: libFuzzer runs one process on one core, and these
/// machines have two.
const AT_ONCE: usize = 2;

/// Runs `targets` (all when empty) for `seconds` each, or until `runs` executions: all
/// built first (one build), then [`AT_ONCE`] at a time.
pub fn run_targets(
    seconds: u64,
    runs: Option<u64>,
    targets: &[String],
) -> Result<Vec<Fuzzed>, String> {
    tools::ensure_cargo_fuzz()?;
    let root = root();
    let chosen: Vec<String> = if targets.is_empty() {
        TARGETS.iter().map(|t| (*t).to_owned()).collect()
    } else {
        targets.to_vec()
    };
    // Built first (every target in one cargo build), so that the time measured is the
    // fuzzing's.
    println!("$ cargo fuzz build");
    let built = Command::new("cargo")
        .current_dir(&root)
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["fuzz", "build"])
        .status()
        .map_err(|e| format!("cargo fuzz build: {e}"))?;
    if !built.success() {
        return Err(format!("cargo fuzz build failed ({built})"));
    }
    let queue = std::sync::Mutex::new(chosen.iter());
    let outcomes = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..AT_ONCE {
            scope.spawn(|| loop {
                let Some(target) = queue.lock().ok().and_then(|mut q| q.next()) else {
                    return;
                };
                let outcome = run_one(target, seconds, runs);
                if let Ok(mut all) = outcomes.lock() {
                    all.push(outcome);
                }
            });
        }
    });
    let mut results = Vec::new();
    for outcome in outcomes.into_inner().map_err(|e| e.to_string())? {
        results.push(outcome?);
    }
    results.sort_by_key(|f| chosen.iter().position(|t| *t == f.target));
    for f in &results {
        println!(
            "fuzz {}: {} executions in {:.0} s, no failure",
            f.target, f.runs, f.seconds
        );
    }
    Ok(results)
}

/// One target for `seconds` (or `runs` executions), from its seeds and corpus.
fn run_one(target: &str, seconds: u64, runs: Option<u64>) -> Result<Fuzzed, String> {
    let root = root();
    let corpus = root.join("fuzz/corpus").join(target);
    let seeds = root.join("fuzz/seeds").join(target);
    std::fs::create_dir_all(&corpus).map_err(|e| e.to_string())?;
    let log = root.join("target").join(format!("fuzz-{target}.log"));
    let _ = std::fs::create_dir_all(root.join("target"));
    let log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    println!(
        "$ cargo fuzz run {target} … -max_total_time={seconds}  (log: {})",
        log.display()
    );
    let started = std::time::Instant::now();
    let mut options = vec![
        format!("-max_total_time={seconds}"),
        "-print_final_stats=1".to_owned(),
    ];
    if let Some(runs) = runs {
        options.push(format!("-runs={runs}"));
    }
    let status = Command::new("cargo")
        .current_dir(&root)
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["fuzz", "run", target])
        .arg(&corpus)
        .arg(&seeds)
        .arg("--")
        .args(&options)
        .stdout(Stdio::null())
        .stderr(log_file)
        .status()
        .map_err(|e| format!("cargo fuzz: {e}"))?;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let runs = text
        .lines()
        .rev()
        .filter_map(|l| l.strip_prefix("Done "))
        .filter_map(|l| l.split_whitespace().next())
        .find_map(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    if !status.success() {
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "fuzz target {target} failed ({status}); the input is in fuzz/artifacts/{target}/\n{}",
            tail.join("\n")
        ));
    }
    Ok(Fuzzed {
        target: target.to_owned(),
        runs,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The command.
pub fn cmd_fuzz(args: &[String]) -> Result<(), String> {
    let mut seconds = 60;
    let mut runs = None;
    let mut targets = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--seconds takes a whole number")?;
            }
            "--runs" => {
                runs = Some(
                    args.next()
                        .and_then(|s| s.parse().ok())
                        .ok_or("--runs takes a whole number")?,
                );
            }
            target if TARGETS.contains(&target) => targets.push(target.to_owned()),
            other => {
                return Err(format!(
                    "unknown fuzz argument {other:?}; targets: {TARGETS:?}"
                ))
            }
        }
    }
    let results = run_targets(seconds, runs, &targets)?;
    println!("| target | seconds | executions | per second |\n|---|---|---|---|");
    for f in results {
        let rate = f.runs as f64 / f.seconds.max(0.001);
        println!(
            "| {} | {:.0} | {} | {rate:.0} |",
            f.target, f.seconds, f.runs
        );
    }
    Ok(())
}
