//! The server's answers as the page sees them: the session body's extras, a problem's
//! rejection, and [`Delivered`], what the `onVerdict` callback receives.

use checkout_core::{time, ErrorCode, Rejection, Verdict, VerdictBody, VerdictState};
use chrono::{DateTime, Utc};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::get;
use crate::error::malformed;

/// What the `onVerdict` callback receives: the core's [`VerdictBody`] (the same shape
/// as the server's `verdict` and `evaluateVerdict`'s answer) and where it came from.
#[derive(Debug, tsify::Tsify)]
#[tsify(missing_as_null, rename = "DeliveredVerdict")]
pub struct Delivered {
    /// `state`, `allowed`, `code`, `message`, `redirect`.
    #[serde(flatten)]
    #[tsify(type = "Verdict")]
    pub verdict: VerdictBody,
    /// `local` (from the core, at once), `server`, or `unreachable` (no answer, or an
    /// answer that decided nothing: a 5xx, a 429, a proxy's page; the local verdict
    /// stands and the module asks again after `retry_in_ms`).
    #[tsify(type = "\"local\" | \"server\" | \"unreachable\"")]
    pub source: &'static str,
    /// With `unreachable`: when the module asks the server again (the core's backoff,
    /// never sooner than the server's `Retry-After`).
    pub retry_in_ms: Option<u32>,
    /// What triggered the check: `load`, `bfcache`, `visible`, `popstate`, `online`,
    /// `storage`, or what the storefront passed to `check()`.
    pub reason: String,
    /// Whether anything was known locally (`false` before the first server answer).
    pub known: bool,
    /// The checkout this page shows.
    pub session_id: Option<String>,
    /// Its checkout number, when known.
    pub number: Option<String>,
    /// Its expiry, for a countdown.
    #[tsify(type = "string | null")]
    pub expires_at: Option<DateTime<Utc>>,
    /// The order, once completed.
    pub order_id: Option<String>,
}

/// The verdict's fields at the top level, then the rest: what `#[serde(flatten)]`
/// would write, without the 500 bytes (gzipped) of its machinery in the module.
impl Serialize for Delivered {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let v = &self.verdict;
        let mut out = serializer.serialize_struct("Delivered", 13)?;
        out.serialize_field("state", &v.state)?;
        out.serialize_field("allowed", &v.allowed)?;
        out.serialize_field("code", &v.code)?;
        out.serialize_field("message", &v.message)?;
        out.serialize_field("redirect", &v.redirect)?;
        out.serialize_field("source", self.source)?;
        out.serialize_field("retry_in_ms", &self.retry_in_ms)?;
        out.serialize_field("reason", &self.reason)?;
        out.serialize_field("known", &self.known)?;
        out.serialize_field("session_id", &self.session_id)?;
        out.serialize_field("number", &self.number)?;
        out.serialize_field("expires_at", &self.expires_at.as_ref().map(time::Rfc3339))?;
        out.serialize_field("order_id", &self.order_id)?;
        out.end()
    }
}

/// The fields of a session body the module reads besides the core's `SessionView`
/// (read field by field: a derived deserializer per body shape would cost the module
/// more than the fields themselves).
#[derive(Debug)]
pub(super) struct SessionExtras {
    pub(super) number: String,
    /// The server's verdict, `verdict: {state, code, message, redirect}`.
    pub(super) verdict: Verdict,
    pub(super) recovery_token: Option<String>,
    pub(super) order_id: Option<String>,
    pub(super) server_time: DateTime<Utc>,
}

pub(super) fn text(object: &JsValue, name: &str) -> Option<String> {
    get(object, name).as_string()
}

impl SessionExtras {
    pub(super) fn read(body: &JsValue) -> Result<SessionExtras, JsValue> {
        let missing = |what: &str| malformed("session", format!("{what} is missing or invalid"));
        let verdict = get(body, "verdict");
        let state = text(&verdict, "state")
            .and_then(|s| VerdictState::from_name(&s))
            .ok_or_else(|| missing("verdict.state"))?;
        Ok(SessionExtras {
            number: text(body, "number").ok_or_else(|| missing("number"))?,
            verdict: Verdict {
                state,
                rejection: server_rejection(&verdict, "message"),
            },
            recovery_token: text(body, "recovery_token"),
            order_id: text(body, "order_id"),
            server_time: text(body, "server_time")
                .and_then(|t| time::parse(&t).ok())
                .ok_or_else(|| missing("server_time"))?,
        })
    }
}

/// The rejection a server answer carries: its `code`, the message under `message_field`
/// (`message` in a verdict, `detail` in a problem) and its `redirect`, each falling back
/// to the core's default for the code. `None` without a known code.
pub(super) fn server_rejection(object: &JsValue, message_field: &str) -> Option<Rejection> {
    let code = text(object, "code").and_then(|c| ErrorCode::from_name(&c))?;
    let mut rejection = Rejection::new(code);
    if let Some(message) = text(object, message_field) {
        rejection.message = message;
    }
    if let Some(redirect) = text(object, "redirect") {
        rejection.redirect = Some(redirect);
    }
    Some(rejection)
}

/// What an order action's request came back with (`submit`, `resumePending`).
#[derive(serde::Serialize, tsify::Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub(super) struct OrderActionResult {
    /// The HTTP status (0 when no answer came).
    pub(super) status: u16,
    /// The answer's JSON body (the order, or a problem document), as it came.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(type = "unknown")]
    pub(super) body: JsValue,
    /// The answer decided nothing (an outage, a proxy's page): retry with the same key.
    pub(super) transient: bool,
    /// Not decided yet (still running, or the payment is being confirmed).
    pub(super) pending: bool,
    /// With `pending`: when to ask again (the core's backoff).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) retry_in_ms: Option<u32>,
    /// The key the action was sent with (every retry reuses it).
    pub(super) idempotency_key: String,
    /// With a `202` to `pay`: the step the shopper takes at the payment provider
    /// (3-D Secure, a bank's page) — send them to `url`; the pending payment is kept,
    /// so the page they come back to resumes it. `null` otherwise.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(
        type = "{ type: \"redirect\"; url: string; expires_at: string; message?: string } | null"
    )]
    pub(super) next_action: JsValue,
}
