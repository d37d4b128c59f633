//! Runs in real headless Chromium (`wasm-pack test --headless --chrome`): the shared
//! verdict vectors through the exported JavaScript API, so the wasm build is proven to
//! agree with the native one case by case.

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
fn shared_verdict_vectors_pass_in_chromium() {
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
        "shared verdict vectors: {} passed in Chromium",
        expected.len()
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

fn web_sys_log(message: &str) {
    wasm_bindgen_test::console_log!("{}", message);
}
