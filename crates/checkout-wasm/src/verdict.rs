//! `evaluateVerdict`: the core's verdict, callable from JavaScript with plain objects.

use checkout_core::{
    evaluate,
    requirements::{self, Choices, Missing},
    Action, CheckInput, VerdictBody,
};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::error::{malformed, to_js};

// The wire enums' unions, generated from the core's own tables (`wire_enum!`).
#[wasm_bindgen(typescript_custom_section)]
const TS_ERROR_CODES: &'static str = checkout_core::ErrorCode::TS_TYPE;
#[wasm_bindgen(typescript_custom_section)]
const TS_VERDICT_STATES: &'static str = checkout_core::VerdictState::TS_TYPE;
#[wasm_bindgen(typescript_custom_section)]
const TS_ACTIONS: &'static str = checkout_core::Action::TS_TYPE;
#[wasm_bindgen(typescript_custom_section)]
const TS_MISSING: &'static str = checkout_core::requirements::Missing::TS_TYPE;
#[wasm_bindgen(typescript_custom_section)]
const TS_CHANGE_KINDS: &'static str = checkout_core::changes::ChangeKind::TS_TYPE;
#[wasm_bindgen(typescript_custom_section)]
const TS_SITUATIONS: &'static str = checkout_core::words::Situation::TS_TYPE;

/// Runs the checks of the core on a plain `CheckInput` object and returns a `Verdict`.
/// Throws `{code: "MALFORMED_REQUEST", …}` when the input does not have that shape.
#[wasm_bindgen(js_name = evaluateVerdict, unchecked_return_type = "Verdict")]
pub fn evaluate_verdict(
    #[wasm_bindgen(unchecked_param_type = "CheckInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    let input: CheckInput = crate::de::from_js(&input).map_err(|e| malformed("CheckInput", e))?;
    to_js(&VerdictBody::from(evaluate(&input)))
}

/// What [`action_requirements`] returns.
#[derive(Debug, Serialize, tsify::Tsify)]
#[tsify(missing_as_null, rename = "ActionRequirements")]
struct JsRequirements {
    allowed: bool,
    missing: Vec<Missing>,
    message: Option<String>,
}

/// The core's rule of what an order action needs (CONTRACT §5a), so a page can disable
/// exactly the buttons the server would refuse and say what to choose. `action` is an
/// order action's wire name; throws `{code: "MALFORMED_REQUEST"}` for anything else.
/// `shippingAddress`: whether the snapshot holds one (CONTRACT §18; absent is `false`).
#[wasm_bindgen(js_name = actionRequirements, unchecked_return_type = "ActionRequirements")]
pub fn action_requirements(
    #[wasm_bindgen(unchecked_param_type = "\"place_order\" | \"pay\" | \"submit_for_approval\"")]
    action: &str,
    shipping_method: Option<String>,
    payment_method: Option<String>,
    payment_token: bool,
    shipping_address: Option<bool>,
) -> Result<JsValue, JsValue> {
    let action = Action::from_name(action)
        .filter(|a| a.places_order())
        .ok_or_else(|| {
            malformed(
                "action",
                format!(
                    "{} is not an order action",
                    checkout_core::detail::Quoted(action)
                ),
            )
        })?;
    let choices = Choices {
        shipping_address: shipping_address.unwrap_or(false),
        shipping_method: shipping_method.as_deref(),
        payment_method: payment_method.as_deref(),
        payment_token,
    };
    let answer = match requirements::check(action, choices) {
        Ok(()) => JsRequirements {
            allowed: true,
            missing: Vec::new(),
            message: None,
        },
        Err(rejection) => JsRequirements {
            allowed: false,
            missing: rejection.missing,
            message: Some(rejection.message),
        },
    };
    to_js(&answer)
}

#[cfg(test)]
mod tests {
    /// The wire enums' unions come from the core's tables only (its own test checks them
    /// against `ALL`), and every data type from its Rust type (tsify): the only
    /// declarations written here are the four no Rust type has.
    #[test]
    fn only_what_no_rust_type_has_is_declared_by_hand() {
        let sources = [include_str!("verdict.rs"), include_str!("guard/types.rs")];
        let generated = [
            checkout_core::ErrorCode::TS_TYPE,
            checkout_core::VerdictState::TS_TYPE,
            checkout_core::Action::TS_TYPE,
            checkout_core::requirements::Missing::TS_TYPE,
            checkout_core::changes::ChangeKind::TS_TYPE,
            checkout_core::recovery::Step::TS_TYPE,
        ];
        for union in generated {
            let declared = union
                .lines()
                .find(|l| l.starts_with("export type "))
                .expect("a declaration");
            for source in sources {
                let by_hand = source.lines().filter(|l| l.starts_with(declared)).count();
                assert_eq!(by_hand, 0, "{declared} is written out by hand");
            }
        }
        let by_hand: Vec<&str> = sources
            .iter()
            .flat_map(|s| s.lines())
            .filter_map(|l| {
                l.strip_prefix("export interface ")
                    .or_else(|| l.strip_prefix("export type "))
            })
            .filter_map(|l| l.split([' ', '<']).next())
            .collect();
        assert_eq!(
            by_hand,
            [
                "CheckoutGuardOptions",
                "OrderAction",
                "OrderActionExtra",
                "SessionBody"
            ]
        );
    }
}

/// The core's words for a situation the page describes to the shopper
/// (`checkout_core::words`: an outage, a payment being confirmed, a choice not saved…).
/// Throws `{code: "MALFORMED_REQUEST"}` for a name that is not a situation.
#[wasm_bindgen(js_name = shopperText)]
pub fn shopper_text(
    #[wasm_bindgen(unchecked_param_type = "ShopperSituation")] situation: &str,
) -> Result<String, JsValue> {
    checkout_core::words::Situation::from_name(situation)
        .map(|s| s.text().to_owned())
        .ok_or_else(|| {
            malformed(
                "situation",
                format!(
                    "{} is not a situation",
                    checkout_core::detail::Quoted(situation)
                ),
            )
        })
}
