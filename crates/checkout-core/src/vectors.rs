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

/// The stored-record vectors: texts and what reading them gives.
pub const RECORD_VECTORS: &str = include_str!("../../../tests/vectors/records.json");
/// The action-requirement vectors (CONTRACT §5a).
pub const REQUIREMENT_VECTORS: &str = include_str!("../../../tests/vectors/requirements.json");
/// The HTTP-answer vectors: what the browser does after an answer.
pub const ANSWER_VECTORS: &str = include_str!("../../../tests/vectors/answers.json");

#[derive(Deserialize)]
struct Cases<T> {
    cases: Vec<T>,
}

fn parse<T: serde::de::DeserializeOwned>(file: &str, name: &str) -> Result<Vec<T>, String> {
    serde_json::from_str::<Cases<T>>(file)
        .map(|f| f.cases)
        .map_err(|e| format!("{name}: {e}"))
}

/// What reading a stored record should give.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordExpect {
    /// `ok`, or the [`RecordError::kind`](crate::recovery::RecordError::kind).
    pub outcome: String,
    /// For `ok`: the pending action's key, if one is pending.
    #[serde(default)]
    pub pending_key: Option<String>,
}

/// One stored-record case.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordCase {
    /// What it checks.
    pub name: String,
    /// The stored text (before padding).
    text: String,
    /// Spaces appended up to this many bytes.
    #[serde(default)]
    pad_to_bytes: Option<usize>,
    /// The expected outcome.
    pub expect: RecordExpect,
}

impl RecordCase {
    /// The text as stored (padded when the case says so).
    pub fn text(&self) -> String {
        let mut text = self.text.clone();
        if let Some(len) = self.pad_to_bytes {
            while text.len() < len {
                text.push(' ');
            }
        }
        text
    }

    /// Compares a reader's result with the expectation.
    pub fn check(
        &self,
        got: &Result<crate::recovery::RecoveryRecord, crate::recovery::RecordError>,
    ) -> Result<(), String> {
        let (outcome, key) = match got {
            Ok(record) => (
                "ok",
                record.pending.as_ref().map(|p| p.idempotency_key.clone()),
            ),
            Err(e) => (e.kind(), None),
        };
        if outcome == self.expect.outcome && key == self.expect.pending_key {
            Ok(())
        } else {
            Err(format!(
                "{}: expected {} {:?}, got {outcome} {key:?} ({got:?})",
                self.name, self.expect.outcome, self.expect.pending_key
            ))
        }
    }
}

/// The stored-record cases.
pub fn record_cases() -> Result<Vec<RecordCase>, String> {
    parse(RECORD_VECTORS, "records.json")
}

/// What an action's requirements should be.
#[derive(Debug, Clone, Deserialize)]
pub struct RequirementExpect {
    /// Whether the action may go ahead.
    pub allowed: bool,
    /// What is missing, in order.
    pub missing: Vec<crate::requirements::Missing>,
}

/// One action-requirements case.
#[derive(Debug, Clone, Deserialize)]
pub struct RequirementCase {
    /// What it checks.
    pub name: String,
    /// The order action.
    pub action: crate::verdict::Action,
    /// Whether a shipping address is given.
    pub shipping_address: bool,
    /// The selected shipping method.
    pub shipping_method: Option<String>,
    /// The selected payment method.
    pub payment_method: Option<String>,
    /// Whether a payment token comes along.
    pub payment_token: bool,
    /// The expected answer.
    pub expect: RequirementExpect,
}

/// The action-requirement cases.
pub fn requirement_cases() -> Result<Vec<RequirementCase>, String> {
    parse(REQUIREMENT_VECTORS, "requirements.json")
}

/// What an answer should mean.
#[derive(Debug, Clone, Deserialize)]
pub struct AnswerExpect {
    /// `success`, `definite` or `transient`.
    pub reading: String,
    /// For `definite`: the code that stands.
    #[serde(default)]
    pub code: Option<ErrorCode>,
    /// For `transient`: the server's `Retry-After` as understood.
    #[serde(default)]
    pub retry_after_secs: Option<u32>,
}

/// One HTTP-answer case.
#[derive(Debug, Clone, Deserialize)]
pub struct AnswerCase {
    /// What it checks.
    pub name: String,
    /// The status.
    pub status: u16,
    /// The `Content-Type`.
    pub content_type: Option<String>,
    /// The body's `code`.
    pub code: Option<String>,
    /// The `Retry-After` header.
    pub retry_after: Option<String>,
    /// The expected reading.
    pub expect: AnswerExpect,
}

impl AnswerCase {
    /// Reads the case with the core.
    pub fn read(&self) -> crate::answer::Reading {
        crate::answer::read(
            self.status,
            self.content_type.as_deref(),
            self.code.as_deref(),
            self.retry_after.as_deref(),
        )
    }

    /// Compares a reading with the expectation.
    pub fn check(&self, got: &crate::answer::Reading) -> Result<(), String> {
        use crate::answer::Reading;
        let ok = match (got, self.expect.reading.as_str()) {
            (Reading::Success, "success") => true,
            (Reading::Definite(r), "definite") => Some(r.code) == self.expect.code,
            (Reading::Transient { retry_after_secs }, "transient") => {
                *retry_after_secs == self.expect.retry_after_secs
            }
            _ => false,
        };
        ok.then_some(())
            .ok_or_else(|| format!("{}: expected {:?}, got {got:?}", self.name, self.expect))
    }
}

/// The HTTP-answer cases.
pub fn answer_cases() -> Result<Vec<AnswerCase>, String> {
    parse(ANSWER_VECTORS, "answers.json")
}

/// Runs the record, requirement and answer vectors natively; returns how many of each
/// ran, or the failures.
pub fn run_rule_vectors() -> Result<(usize, usize, usize), Vec<String>> {
    let mut failures = Vec::new();
    let records = record_cases().map_err(|e| vec![e])?;
    for case in &records {
        let got = crate::recovery::RecoveryRecord::parse(&case.text());
        failures.extend(case.check(&got).err());
    }
    let requirements = requirement_cases().map_err(|e| vec![e])?;
    for case in &requirements {
        let choices = crate::requirements::Choices {
            shipping_address: case.shipping_address,
            shipping_method: case.shipping_method.as_deref(),
            payment_method: case.payment_method.as_deref(),
            payment_token: case.payment_token,
        };
        let missing = crate::requirements::missing(case.action, choices);
        let allowed = crate::requirements::check(case.action, choices).is_ok();
        if missing != case.expect.missing || allowed != case.expect.allowed {
            failures.push(format!("{}: got {allowed} {missing:?}", case.name));
        }
    }
    let answers = answer_cases().map_err(|e| vec![e])?;
    for case in &answers {
        failures.extend(case.check(&case.read()).err());
    }
    if failures.is_empty() {
        Ok((records.len(), requirements.len(), answers.len()))
    } else {
        Err(failures)
    }
}
