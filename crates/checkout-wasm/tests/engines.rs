//! Runs in each real browser engine the test command drives (`wasm-pack test --headless
//! --chrome` and `--firefox`, and WebKitGTK through its WebDriver): the shared vectors
//! through the exported JavaScript API, so the wasm build is proven to agree with the
//! native one case by case in every engine. Each count is printed with the engine's name
//! (from the user agent), which the test command compares.

#![cfg(target_arch = "wasm32")]
// `wasm_bindgen_test` functions are tests, but clippy does not know them as such.
#![allow(clippy::unwrap_used)]

use checkout_core::vectors::{cases, VERDICT_VECTORS};
use checkout_wasm::verdict::evaluate_verdict;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn field(obj: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(obj, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

#[wasm_bindgen_test]
fn shared_verdict_vectors_pass_in_this_engine() {
    let file = js_sys::JSON::parse(VERDICT_VECTORS).expect("vectors parse as JS");
    let js_cases = js_sys::Array::from(&field(&file, "cases"));
    let expected = cases().expect("vectors parse in Rust");
    assert_eq!(js_cases.length() as usize, expected.len());
    let mut failures = Vec::new();
    for (js_case, case) in js_cases.iter().zip(&expected) {
        let verdict = evaluate_verdict(field(&js_case, "input")).expect("verdict");
        let state = field(&verdict, "state").as_string().unwrap_or_default();
        let code = field(&verdict, "code").as_string();
        let want_state = serde_json::to_value(case.expect.state).unwrap();
        let want_code = case.expect.code.map(|c| c.as_str().to_owned());
        if want_state.as_str() != Some(state.as_str()) || want_code != code {
            failures.push(format!("{}: got {state} {code:?}", case.name));
        }
        assert_eq!(
            field(&verdict, "allowed").as_bool(),
            Some(want_code.is_none()),
            "{}",
            case.name
        );
    }
    assert!(failures.is_empty(), "{failures:#?}");
    web_sys_log(&format!(
        "shared verdict vectors: {} passed in {}",
        expected.len(),
        engine()
    ));
}

#[wasm_bindgen_test]
fn malformed_input_is_a_coded_error_not_a_panic() {
    let err = evaluate_verdict(JsValue::from_str("not an object")).unwrap_err();
    assert_eq!(
        field(&err, "code").as_string().as_deref(),
        Some("MALFORMED_REQUEST")
    );
}

/// A valid `CheckInput` (the first shared vector's) with `edit` applied to it.
fn input_with(edit: &str) -> JsValue {
    let input = js_sys::JSON::parse(
        r#"{"session":{"id":"s1","user_id":"u1","status":"ACTIVE","managed":true,
        "expires_at":"2026-11-22T10:05:00Z","is_latest":true,"digest":"sha256:aa","generation":0},
        "viewer":{"user_id":"u1","acting_admin":null},"action":"view","digest":null,
        "now":"2026-11-22T10:00:00Z"}"#,
    )
    .unwrap();
    js_sys::Function::new_with_args("input", edit)
        .call1(&JsValue::NULL, &input)
        .unwrap();
    input
}

fn refusal(edit: &str) -> String {
    let err = evaluate_verdict(input_with(edit)).expect_err(edit);
    assert_eq!(
        field(&err, "code").as_string().as_deref(),
        Some("MALFORMED_REQUEST"),
        "{edit}"
    );
    field(&err, "message").as_string().unwrap()
}

#[wasm_bindgen_test]
fn malformed_input_errors_say_where_and_what() {
    // Each message names the field's path, what was expected and what kind of value came.
    for (edit, want) in [
        (
            "input.session.generation = 1.5",
            "CheckInput: session.generation: expected u32, found a number with a fraction",
        ),
        (
            "input.session.generation = -1",
            "CheckInput: session.generation: expected u32, found an integer out of range",
        ),
        (
            "input.session.managed = 'yes'",
            "CheckInput: session.managed: expected a boolean, found a string",
        ),
        (
            "input.viewer = []",
            "CheckInput: viewer: expected struct Viewer, found an array",
        ),
        (
            "input.now = 5",
            "CheckInput: now: expected a string, found an integer",
        ),
        (
            "delete input.session.id",
            "CheckInput: session: missing field `id`",
        ),
    ] {
        assert_eq!(refusal(edit), want, "{edit}");
    }
    assert_eq!(
        refusal("input.action = 'teleport'"),
        r#"CheckInput: action: unknown action "teleport""#
    );
}

#[wasm_bindgen_test]
fn undefined_is_absent_and_null_is_none() {
    // `undefined` optional fields and `null` options read as absent, as in JSON.
    for edit in [
        "input.digest = undefined",
        "delete input.digest",
        "input.viewer.acting_admin = undefined",
        "input.session.expires_at = null",
        "input.extra = {nested: [1, 2.5, 'x']}",
    ] {
        let verdict = evaluate_verdict(input_with(edit)).expect(edit);
        assert_eq!(
            field(&verdict, "state").as_string().as_deref(),
            Some("ACTIVE"),
            "{edit}"
        );
    }
    // `undefined` where a value is required is a missing field, not a crash.
    assert_eq!(
        refusal("input.session.user_id = undefined"),
        "CheckInput: session: missing field `user_id`"
    );
}

#[wasm_bindgen_test]
fn shared_rule_vectors_pass_in_this_engine() {
    use checkout_core::vectors::{answer_cases, record_cases, requirement_cases};
    let mut failures = Vec::new();
    // Stored records through the browser's reader: JSON.parse and the module's own
    // serde reader, not serde_json.
    let records = record_cases().expect("records.json");
    for case in &records {
        let got = checkout_wasm::storage::parse_record(&case.text());
        failures.extend(case.check(&got).err());
    }
    // Action requirements through the exported `actionRequirements`.
    let requirements = requirement_cases().expect("requirements.json");
    for case in &requirements {
        let action = serde_json::to_value(case.action).unwrap();
        let answer = checkout_wasm::verdict::action_requirements(
            action.as_str().unwrap(),
            case.shipping_method.clone(),
            case.payment_method.clone(),
            case.payment_token,
            Some(case.shipping_address),
        )
        .expect("an order action");
        let allowed = field(&answer, "allowed").as_bool();
        let missing: Vec<String> = js_sys::Array::from(&field(&answer, "missing"))
            .iter()
            .filter_map(|m| m.as_string())
            .collect();
        let want: Vec<String> = case
            .expect
            .missing
            .iter()
            .map(|m| m.as_str().to_owned())
            .collect();
        if allowed != Some(case.expect.allowed) || missing != want {
            failures.push(format!("{}: got {allowed:?} {missing:?}", case.name));
        }
    }
    // HTTP answers, read by the core compiled to wasm.
    let answers = answer_cases().expect("answers.json");
    for case in &answers {
        failures.extend(case.check(&case.read()).err());
    }
    assert!(failures.is_empty(), "{failures:#?}");
    web_sys_log(&format!(
        "shared record vectors: {} passed in {}",
        records.len(),
        engine()
    ));
    web_sys_log(&format!(
        "shared requirement vectors: {} passed in {}",
        requirements.len(),
        engine()
    ));
    web_sys_log(&format!(
        "shared answer vectors: {} passed in {}",
        answers.len(),
        engine()
    ));
}

/// The engine this runs in, by the user agent: `Firefox`, `Chromium` or `WebKit`.
fn engine() -> &'static str {
    let navigator = field(&js_sys::global(), "navigator");
    let agent = field(&navigator, "userAgent")
        .as_string()
        .unwrap_or_default();
    if agent.contains("Firefox/") {
        "Firefox"
    } else if agent.contains("Chrome/") {
        "Chromium"
    } else if agent.contains("AppleWebKit/") {
        "WebKit"
    } else {
        "an unknown engine"
    }
}

fn web_sys_log(message: &str) {
    wasm_bindgen_test::console_log!("{}", message);
}

/// Differential fuzzing of the two readers of a stored recovery record, in the browser:
/// mutations of the shared record vectors' texts (bytes changed, cut, repeated, JSON
/// pieces inserted), each read by the browser's reader (`JSON.parse` and the module's
/// serde reader) and by the native one (serde_json, here compiled to wasm). Both must
/// refuse it, or both read the same record. Deterministic (a fixed xorshift seed).
#[wasm_bindgen_test]
fn the_two_record_readers_agree_on_mutated_records() {
    use checkout_core::{recovery::RecoveryRecord, vectors::record_cases};
    const MUTATIONS: usize = 4_000;
    const PIECES: [&str; 14] = [
        "\"", "{", "}", "[", "]", ",", ":", "null", "-0", "1.5", "true", " ", "\\u00e9", "0",
    ];
    let texts: Vec<Vec<u8>> = record_cases()
        .expect("records.json")
        .iter()
        .map(|c| c.text().into_bytes())
        .filter(|t| t.len() < 20_000)
        .collect();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound.max(1) as u64) as usize
    };
    let mut disagreements = Vec::new();
    let mut accepted = 0;
    for _ in 0..MUTATIONS {
        let mut bytes = texts[next(texts.len())].clone();
        for _ in 0..=next(3) {
            let at = next(bytes.len() + 1);
            match next(4) {
                0 if !bytes.is_empty() => {
                    let last = bytes.len() - 1;
                    bytes[at.min(last)] = next(128) as u8;
                }
                1 => bytes.truncate(at),
                2 => {
                    let piece = PIECES[next(PIECES.len())].as_bytes();
                    bytes.splice(at..at, piece.iter().copied());
                }
                _ if !bytes.is_empty() => {
                    let end = (at + next(16)).min(bytes.len());
                    let copy: Vec<u8> = bytes[at.min(end)..end].to_vec();
                    bytes.splice(at..at, copy);
                }
                _ => {}
            }
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let browser = checkout_wasm::storage::parse_record(&text);
        let native = RecoveryRecord::parse(&text);
        match (&browser, &native) {
            (Ok(a), Ok(b)) if a == b => accepted += 1,
            (Err(_), Err(_)) => {}
            _ => disagreements.push(format!(
                "{text:?}: browser {:?}, native {:?}",
                browser.as_ref().map(|_| "record"),
                native.as_ref().map(|_| "record")
            )),
        }
    }
    disagreements.truncate(5);
    assert!(disagreements.is_empty(), "{disagreements:#?}");
    web_sys_log(&format!(
        "record readers fuzzed: {MUTATIONS} mutations ({accepted} still records), no disagreement"
    ));
}
