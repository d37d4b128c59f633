//! The payment routes (CONTRACT §13): the provider's webhook, what the storefront needs
//! to tokenize a card, and for the admin the refunds and reconciliation on demand.

pub mod provider;

// What a shop's own adapter implements and uses, at the path the README gives.
pub use provider::{
    BrowserSetup, HttpProvider, HttpProviderConfig, NewPayment, PaymentProvider, ProviderError,
    ProviderPayment, WebhookError, WebhookEvent,
};

use axum::{
    body::Bytes,
    extract::{Query, State},
    http::HeaderMap,
    Json,
};
use checkout_core::{payment::Source, ErrorCode, Rejection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    db::{self, events::Actor, payments::RefundRow},
    http::error::ApiResult,
    http::extract::{Admin, ApiJson},
    orders::settle,
    state::AppState,
};

/// The payment routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(webhook))
        .routes(routes!(browser_setup))
        .routes(routes!(refunds))
        .routes(routes!(reconcile_now))
}

/// The answer to a webhook.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookAck {
    /// Always `true`: the provider may stop resending.
    pub received: bool,
    /// The event id was applied before; nothing was done again.
    #[serde(default)]
    pub duplicate: bool,
}

/// The payment provider's webhook: `Checkout-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
/// "t.body">`; unsigned, badly signed or more than 5 minutes old is `FORBIDDEN` (and
/// counted in `checkout_payment_webhooks`); an event id seen before is acknowledged and
/// ignored. The event names a payment by the shop's key; the server looks that payment
/// up with the provider and applies what the provider answers, like any other report
/// (`SERVICE_UNAVAILABLE` while the provider cannot be reached: the provider retries).
#[utoipa::path(post, path = "/payments/webhook", tag = "payments",
    request_body(content = String, content_type = "application/json", description = "The provider's event"),
    params(("Checkout-Signature" = String, Header)),
    responses((status = 200, body = WebhookAck), (status = 403, description = "FORBIDDEN: unsigned, badly signed or stale"),
        (status = 503, description = "SERVICE_UNAVAILABLE: the provider could not be asked"),
        (status = 422, description = "VALIDATION_FAILED: signed but not an event")))]
pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<WebhookAck>> {
    let signature = headers
        .get(checkout_core::signature::HEADER)
        .and_then(|v| v.to_str().ok());
    // The provider signs with its own clock, not the shop's (test) clock.
    let event = match state.provider.webhook(signature, &body, chrono::Utc::now()) {
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
                        settle::apply(&state, &session_id, report, Some(&payment.id), &actor)
                            .await?;
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

/// What the storefront needs to tokenize a card with the payment provider (as a real
/// provider's browser SDK is set up with a publishable key).
#[utoipa::path(get, path = "/payments/config", tag = "payments",
    responses((status = 200, body = BrowserSetup)))]
pub async fn browser_setup(State(state): State<AppState>) -> Json<BrowserSetup> {
    Json(state.provider.browser())
}

/// Which refunds to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RefundQuery {
    /// Only this checkout's.
    pub checkout_id: Option<String>,
}

/// Refunds of charges that arrived for a checkout that could no longer take them,
/// newest first (at most 200).
#[utoipa::path(get, path = "/admin/payments/refunds", tag = "admin", security(("admin" = [])),
    params(RefundQuery), responses((status = 200, body = Vec<RefundRow>)))]
pub async fn refunds(
    _: Admin,
    State(state): State<AppState>,
    Query(query): Query<RefundQuery>,
) -> ApiResult<Json<Vec<RefundRow>>> {
    Ok(Json(
        db::payments::refunds(&state.db, query.checkout_id.as_deref(), 200).await?,
    ))
}

/// Reconcile now.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReconcileRequest {
    /// Only payments pending at least this long (seconds, at most a year; default 0:
    /// every one).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 31_536_000)]
    pub older_than_secs: u32,
}

/// What reconciliation did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Reconciled {
    /// Checkouts settled (ordered, released or refunded).
    pub settled: usize,
}

/// Look up every pending payment with the provider now and apply what it says (the
/// sweeper does this by itself for payments pending longer than
/// `--reconcile-after-secs`); then retry refunds the provider was not reached for.
#[utoipa::path(post, path = "/admin/payments/reconcile", tag = "admin", security(("admin" = [])),
    request_body = ReconcileRequest, responses((status = 200, body = Reconciled),
        (status = 422, description = "VALIDATION_FAILED: older_than_secs over a year")))]
pub async fn reconcile_now(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ReconcileRequest>,
) -> ApiResult<Json<Reconciled>> {
    if request.older_than_secs > 31_536_000 {
        return Err(Rejection::with_message(
            ErrorCode::ValidationFailed,
            "older_than_secs is at most 31536000 (a year).",
        )
        .into());
    }
    let older_than = std::time::Duration::from_secs(u64::from(request.older_than_secs));
    let settled = settle::reconcile(&state, older_than).await?;
    Ok(Json(Reconciled { settled }))
}
