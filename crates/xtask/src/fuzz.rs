//! `cargo xtask fuzz [--seconds N] [TARGET…]`: each fuzz target of `fuzz/` (cargo-fuzz,
//! libFuzzer) for a bounded time, starting from the committed seeds (`fuzz/seeds/`) and
//! the corpus of earlier runs (`fuzz/corpus/`, not committed). cargo-fuzz's
//! instrumentation flags are nightly-only; RUSTC_BOOTSTRAP=1 lets the stable toolchain
//! take them. A failing property or a crash fails the run and leaves the input in
//! `fuzz/artifacts/<target>/`.

use std::process::{Command, Stdio};

use crate::{root, tools};

/// Every fuzz target, as named in `fuzz/Cargo.toml`.
pub const TARGETS: [&str; 5] = [
    "token",
    "recovery_record",
    "idempotency_key",
    "numbering_template",
    "admin_bodies",
];

/// Runs `targets` (all when empty) for `seconds` each; returns (target, executions).
pub fn run_targets(seconds: u64, targets: &[String]) -> Result<Vec<(String, u64)>, String> {
    tools::ensure_cargo_fuzz()?;
    let root = root();
    let chosen: Vec<String> = if targets.is_empty() {
        TARGETS.iter().map(|t| (*t).to_owned()).collect()
    } else {
        targets.to_vec()
    };
    let mut results = Vec::new();
    for target in &chosen {
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
        let status = Command::new("cargo")
            .current_dir(&root)
            .env("RUSTC_BOOTSTRAP", "1")
            .args(["fuzz", "run", target])
            .arg(&corpus)
            .arg(&seeds)
            .args([
                "--",
                &format!("-max_total_time={seconds}"),
                "-print_final_stats=1",
            ])
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
        println!("fuzz {target}: {runs} executions in {seconds} s, no failure");
        results.push((target.clone(), runs));
    }
    Ok(results)
}

/// The command.
pub fn cmd_fuzz(args: &[String]) -> Result<(), String> {
    let mut seconds = 60;
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
            target if TARGETS.contains(&target) => targets.push(target.to_owned()),
            other => {
                return Err(format!(
                    "unknown fuzz argument {other:?}; targets: {TARGETS:?}"
                ))
            }
        }
    }
    let results = run_targets(seconds, &targets)?;
    println!("| target | seconds | executions |\n|---|---|---|");
    for (target, runs) in results {
        println!("| {target} | {seconds} | {runs} |");
    }
    Ok(())
}
