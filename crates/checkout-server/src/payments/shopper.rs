//! The shopper and a payment that waits for them at the provider (CONTRACT §20): back
//! from the provider's page, the storefront asks the server to look the payment up now
//! ([`refresh`]) rather than wait for the webhook, and a shopper who abandoned the
//! bank's page may cancel the payment to pay another way ([`cancel`]). Neither ever
//! sends a payment: what the provider says is applied like any report.

use std::{
    collections::HashMap,
    sync::{LazyLock, Mutex},
    time::{Duration, Instant},
};

use axum::{
    extract::{Path, State},
    Json,
};
use checkout_core::{
    payment::{action, Source},
    ErrorCode, SessionStatus,
};

use super::settle::{self, bounded, provider_unavailable, report_of};
use crate::{
    checkout::{actor, body::CheckoutBody},
    db::{self, sessions::SessionRow},
    http::error::ApiResult,
    http::extract::{CurrentUser, RequestId},
    state::AppState,
};

/// The shortest pause between two lookups of one checkout's payment that its shopper
/// asks for (a page polling, or a thousand tabs, costs the provider one call a second).
const LOOKUP_EVERY: Duration = Duration::from_secs(1);

/// When each checkout's payment was last looked up for its shopper (this instance).
static LOOKED_UP: LazyLock<Mutex<HashMap<String, Instant>>> = LazyLock::new(Mutex::default);

/// Whether the shopper may have checkout `id`'s payment looked up now.
fn may_look_up(id: &str) -> bool {
    let mut looked = LOOKED_UP.lock().unwrap_or_else(|p| p.into_inner());
    let now = Instant::now();
    if looked.len() > 10_000 {
        looked.retain(|_, at| now.duration_since(*at) < LOOKUP_EVERY);
    }
    match looked.get(id) {
        Some(at) if now.duration_since(*at) < LOOKUP_EVERY => false,
        _ => {
            looked.insert(id.to_owned(), now);
            true
        }
    }
}

/// The caller's checkout `id`, or `CHECKOUT_NOT_FOUND`.
async fn owned(state: &AppState, user: &CurrentUser, id: &str) -> ApiResult<SessionRow> {
    match db::sessions::load(&state.db, id).await? {
        Some(row) if row.user_id == user.id => Ok(row),
        _ => Err(ErrorCode::CheckoutNotFound.into()),
    }
}

async fn answer(state: &AppState, user: &CurrentUser, id: &str) -> ApiResult<Json<CheckoutBody>> {
    let row = owned(state, user, id).await?;
    Ok(Json(CheckoutBody::new(
        &row,
        &user.viewer(),
        state.clock.now(),
    )))
}

/// Back from the payment provider's page (or waiting on the checkout page): the
/// provider is asked now about the payment the checkout waits for, and what it says is
/// applied (an approved payment becomes the order at once, even before its webhook).
/// Answers the checkout as it then stands; a provider that cannot be reached changes
/// nothing (the page keeps waiting). At most one lookup a second per checkout.
#[utoipa::path(post, path = "/checkouts/{id}/payment/refresh", tag = "payments",
    params(("id" = String, Path)),
    responses((status = 200, body = CheckoutBody), (status = 404, description = "CHECKOUT_NOT_FOUND")))]
pub async fn refresh(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    Path(id): Path<String>,
) -> ApiResult<Json<CheckoutBody>> {
    let row = owned(&state, &user, &id).await?;
    let waiting = row.effective(state.clock.now()) == SessionStatus::PaymentPending;
    if let (true, Some(key)) = (waiting, row.payment_key.as_deref()) {
        if may_look_up(&id) {
            match bounded(&state, state.provider.lookup(key)).await {
                Ok(Some(payment)) if payment.key == key => {
                    let report = report_of(Source::Shopper, &payment);
                    let actor = actor(&user, &request_id);
                    settle::apply(&state, &id, report, Some(&payment), &actor).await?;
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(session = %id, %error, "provider unreachable on the shopper's return");
                }
            }
        }
    }
    answer(&state, &user, &id).await
}

/// Cancel the payment that waits for the shopper at the provider (they left the bank's
/// page and want to pay another way): the provider voids it and the checkout is
/// `ACTIVE` again, to be paid with a new `Idempotency-Key`. Should the provider say it
/// was confirmed meanwhile, that is the order. A checkout not paying is answered as it
/// stands; a payment not waiting for the shopper cannot be cancelled from here
/// (`PAYMENT_IN_PROGRESS`).
#[utoipa::path(post, path = "/checkouts/{id}/payment/cancel", tag = "payments",
    params(("id" = String, Path)),
    responses((status = 200, body = CheckoutBody), (status = 404, description = "CHECKOUT_NOT_FOUND"),
        (status = 409, description = "PAYMENT_IN_PROGRESS: the payment is being confirmed, not waiting for the shopper"),
        (status = 503, description = "SERVICE_UNAVAILABLE: the provider could not be asked; nothing changed")))]
pub async fn cancel(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    Path(id): Path<String>,
) -> ApiResult<Json<CheckoutBody>> {
    let row = owned(&state, &user, &id).await?;
    if row.effective(state.clock.now()) != SessionStatus::PaymentPending {
        return answer(&state, &user, &id).await;
    }
    // (A recorded action always has its payment's key.)
    action::shopper_may_cancel(row.payment_key.is_some() && row.payment_action.is_some())?;
    let key = row.payment_key.as_deref().unwrap_or_default();
    let found = bounded(&state, state.provider.lookup(key))
        .await
        .map_err(|e| provider_unavailable(&e))?;
    if let Some(payment) = found.filter(|p| p.key == key) {
        let after = if action::voided_on_cancel(payment.status) {
            bounded(&state, state.provider.cancel(&payment.id))
                .await
                .map_err(|e| provider_unavailable(&e))?
        } else {
            payment
        };
        let report = report_of(Source::Shopper, &after);
        let actor = actor(&user, &request_id);
        settle::apply(&state, &id, report, Some(&after), &actor).await?;
    }
    answer(&state, &user, &id).await
}
