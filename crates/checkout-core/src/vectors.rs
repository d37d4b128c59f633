//! The shared verdict test vectors: one data file of inputs and expected outcomes that
//! the native tests and the wasm tests in Chromium both run, proving the two targets
//! agree. Kept in the library (not only in tests) so the wasm crate can reuse the runner.

use serde::Deserialize;

use crate::{
    error::ErrorCode,
    verdict::{evaluate, CheckInput, VerdictState},
};

/// The vector file, embedded at compile time.
pub const VERDICT_VECTORS: &str = include_str!("../../../tests/vectors/verdicts.json");

/// The expected outcome of a case.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Expected {
    /// The verdict state.
    pub state: VerdictState,
    /// The rejection code; `None` when allowed.
    pub code: Option<ErrorCode>,
}

/// One case.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    /// What it checks.
    pub name: String,
    /// The input.
    pub input: CheckInput,
    /// The expected outcome.
    pub expect: Expected,
}

#[derive(Deserialize)]
struct File {
    cases: Vec<Case>,
}

/// Parses the embedded vector file.
pub fn cases() -> Result<Vec<Case>, String> {
    serde_json::from_str::<File>(VERDICT_VECTORS)
        .map(|f| f.cases)
        .map_err(|e| format!("verdicts.json: {e}"))
}

/// Runs every case; returns how many ran, or the failures.
pub fn run_all() -> Result<usize, Vec<String>> {
    let cases = cases().map_err(|e| vec![e])?;
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let verdict = evaluate(&case.input);
            let got = Expected {
                state: verdict.state,
                code: verdict.rejection.map(|r| r.code),
            };
            (got != case.expect)
                .then(|| format!("{}: expected {:?}, got {:?}", case.name, case.expect, got))
        })
        .collect();
    if failures.is_empty() {
        Ok(cases.len())
    } else {
        Err(failures)
    }
}
