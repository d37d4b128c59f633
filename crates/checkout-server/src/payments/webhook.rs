//! The provider's webhook (CONTRACT §13, §20): the adapter verifies it with every header
//! the provider sent, and what it reports is settled like any other report.

use axum::{body::Bytes, extract::State, http::HeaderMap, Json};
use checkout_core::{payment::Source, ErrorCode, Rejection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{settle, WebhookError};
use crate::{
    db::{self, events::Actor},
    http::error::ApiResult,
    state::AppState,
};

/// The answer to a webhook.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookAck {
    /// Always `true`: the provider may stop resending.
    pub received: bool,
    /// The event id was applied before; nothing was done again.
    #[serde(default)]
    pub duplicate: bool,
}

/// The payment provider's webhook, verified by the provider's adapter with every header
/// it came with (the simulated provider's `Checkout-Signature: t=<unix>,v1=<hex
/// HMAC-SHA256 of "t.body">`; a shop's adapter reads `Stripe-Signature`, say); unsigned,
/// badly signed or more than 5 minutes old is `FORBIDDEN` (and counted in
/// `checkout_payment_webhooks`); an event id seen before is acknowledged and
/// ignored. The event names a payment by the shop's key; the server looks that payment
/// up with the provider and applies what the provider answers, like any other report
/// (`SERVICE_UNAVAILABLE` while the provider cannot be reached: the provider retries).
#[utoipa::path(post, path = "/payments/webhook", tag = "payments",
    request_body(content = String, content_type = "application/json", description = "The provider's event"),
    params(("Checkout-Signature" = Option<String>, Header, description = "The simulated provider's signature; a shop's own adapter reads its provider's headers")),
    responses((status = 200, body = WebhookAck), (status = 403, description = "FORBIDDEN: unsigned, badly signed or stale"),
        (status = 503, description = "SERVICE_UNAVAILABLE: the provider could not be asked"),
        (status = 422, description = "VALIDATION_FAILED: signed but not an event")))]
pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<WebhookAck>> {
    // The provider signs with its own clock, not the shop's (test) clock.
    let event = match state.provider.webhook(&headers, &body, chrono::Utc::now()) {
        Ok(event) => event,
        Err(WebhookError::Signature(refused)) => {
            crate::ops::metrics::webhook("bad_signature");
            tracing::warn!(why = %refused.message, "payment webhook refused");
            return Err(refused.into());
        }
        Err(WebhookError::Malformed(why)) => {
            crate::ops::metrics::webhook("malformed");
            return Err(Rejection::with_message(
                ErrorCode::ValidationFailed,
                format!("Not a payment event: {why}."),
            )
            .into());
        }
    };
    if db::payments::seen_event(&state.db, &event.id).await? {
        crate::ops::metrics::webhook("duplicate");
        return Ok(Json(WebhookAck {
            received: true,
            duplicate: true,
        }));
    }
    if let Some(claimed) = &event.payment {
        // An event is a hint, even signed: which checkout a key is for is the shop's own
        // record, and what the payment is, the provider's answer to a lookup by that key.
        match db::payments::attempt_session(&state.db, &claimed.key).await? {
            None => {
                crate::ops::metrics::webhook("unknown_payment");
                tracing::warn!(event = %event.id, "payment webhook for a key this shop never made");
            }
            Some(session_id) => {
                let found = state
                    .provider
                    .lookup(&claimed.key)
                    .await
                    .map_err(|e| settle::provider_unavailable(&e))?;
                if let Some(payment) = found.filter(|p| p.key == claimed.key) {
                    let actor = Actor {
                        request_id: Some("payment-webhook".into()),
                        ..Actor::default()
                    };
                    let report = settle::report_of(Source::Webhook, &payment);
                    let resolution =
                        settle::apply(&state, &session_id, report, Some(&payment), &actor).await?;
                    tracing::info!(event = %event.id, ?resolution, "payment webhook applied");
                }
            }
        }
    }
    let mut tx = state.db.begin_write().await?;
    db::payments::record_event(&mut tx, &event.id, state.clock.now()).await?;
    tx.commit().await?;
    crate::ops::metrics::webhook("applied");
    Ok(Json(WebhookAck {
        received: true,
        duplicate: false,
    }))
}
