//! Payments (CONTRACT §13, §20), one feature: the adapter a provider is reached through
//! ([`provider`], and [`http_provider`] for the simulated provider's API), pay-and-submit
//! ([`pay`]), the provider's webhook ([`webhook`]), the shopper's return from the
//! provider's page and cancelling a payment that waits for them ([`shopper`]), settling
//! every report and reconciliation ([`settle`]); and here what the storefront needs to
//! tokenize a card, and for the admin the refunds and reconciliation on demand.

pub mod http_provider;
pub mod pay;
pub mod provider;
mod return_url;
pub mod settle;
pub mod shopper;
pub mod webhook;

// What a shop's own adapter implements and uses, at the path the README gives.
pub use http_provider::{HttpProvider, HttpProviderConfig};
pub use provider::{
    BrowserSetup, NewPayment, PaymentProvider, ProviderError, ProviderPayment, WebhookError,
    WebhookEvent,
};

use axum::{
    extract::{Query, State},
    Json,
};
use checkout_core::{ErrorCode, Rejection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    db::{self, payments::RefundRow},
    http::error::ApiResult,
    http::extract::{Admin, ApiJson},
    state::AppState,
};

/// The payment routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(pay::pay))
        .routes(routes!(shopper::refresh))
        .routes(routes!(shopper::cancel))
        .routes(routes!(webhook::webhook))
        .routes(routes!(browser_setup))
        .routes(routes!(refunds))
        .routes(routes!(reconcile_now))
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
