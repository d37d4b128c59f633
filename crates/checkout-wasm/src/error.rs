//! Errors at the boundary: every failure reaches JavaScript as a plain object
//! `{code, message, redirect}` with the core's stable code.

use checkout_core::{ErrorCode, Rejection};
use serde::Serialize;
use wasm_bindgen::JsValue;

/// The object JavaScript receives for a refused call.
#[derive(Debug, Serialize)]
pub struct JsRejection {
    /// Stable code, e.g. `CHECKOUT_EXPIRED`.
    pub code: ErrorCode,
    /// Message for the shopper.
    pub message: String,
    /// Where to send the shopper, or `null`.
    pub redirect: Option<String>,
}

impl From<Rejection> for JsRejection {
    fn from(r: Rejection) -> Self {
        JsRejection {
            code: r.code,
            message: r.message,
            redirect: r.redirect,
        }
    }
}

/// Serialises plain data for JavaScript: maps become objects, `None` becomes `null`.
pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsValue::from_str(&e.to_string()))
}

/// A malformed argument from JavaScript, as a rejection object.
pub(crate) fn malformed(what: &str, error: impl std::fmt::Display) -> JsValue {
    let rejection =
        Rejection::with_message(ErrorCode::MalformedRequest, format!("{what}: {error}"));
    to_js(&JsRejection::from(rejection)).unwrap_or_else(|e| e)
}
