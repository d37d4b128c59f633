//! Pay now and submit, in three phases: `PAYMENT_PENDING` and the key's claim commit
//! first, then the provider is asked to create and confirm a payment for the browser's
//! token under the server's own payment key (outside any transaction, bounded in time),
//! then its answer is applied like any other report (`settle::apply`). An answer lost
//! on the way, or a payment still processing, is settled by the provider's webhook or
//! by reconciliation.
//!
//! A payment that needs the shopper (3-D Secure, CONTRACT §20) is answered `202` with
//! the checkout (`PAYMENT_PENDING`) and its `next_action`: the storefront sends the
//! shopper there, and the provider sends them back to the payment's `return_url`. A
//! retry with the same key answers the same `202` while the action is open.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use checkout_core::{
    idempotency::IdempotencyKey,
    lifecycle::retries_pending_payment,
    payment::{action, PaymentToken, ProviderStatus, Report, Resolution, Source},
    requirements, Action, ErrorCode, Rejection, SessionStatus, Transition,
};
use serde_json::Value;

use super::settle;
use crate::orders::{check_order_action, endpoint, parse_body, OrderActionRequest};
use crate::{
    checkout::{actor, answer_and_commit, body::CheckoutBody, load_owned, transition},
    db::{self, orders::Order as OrderBody},
    http::error::{ApiError, ApiResult},
    http::extract::{ApiJson, ClientAddr, CurrentUser, IdempotencyHeader, RequestId},
    http::idempotency::{self, Begun, Scope},
    payments::provider::{NewPayment, ProviderError},
    state::AppState,
};

/// Pay now and submit: charge the checkout's total with the provider's token for the
/// card (`payment_token`; a card number is refused), then create a `PAID` order.
#[utoipa::path(post, path = "/checkouts/{id}/pay", tag = "orders",
    params(("id" = String, Path), ("Idempotency-Key" = String, Header)), request_body = OrderActionRequest,
    responses((status = 201, body = OrderBody),
        (status = 202, body = crate::checkout::body::CheckoutBody, description = "The payment waits for the shopper at the provider: send them to `next_action.url`"),
        (status = 402, description = "PAYMENT_DECLINED"),
        (status = 409, description = "PAYMENT_IN_PROGRESS (answer not known yet: retry with the same key), REQUEST_IN_PROGRESS")))]
// An axum handler: each argument is an extractor.
#[allow(clippy::too_many_arguments)]
pub async fn pay(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    ClientAddr(address): ClientAddr,
    Path(id): Path<String>,
    IdempotencyHeader(key): IdempotencyHeader,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Response> {
    let key = IdempotencyKey::parse(key.as_deref())?;
    let scope = Scope::new(&user.id, endpoint(&id, Action::Pay), key, &body);
    let now = state.clock.now();

    // Phase 1: claim the key, check, and write PAYMENT_PENDING before any money moves.
    let mut tx = match idempotency::begin(&state, &scope, now).await {
        Ok(Begun::Run(tx)) => tx,
        Ok(Begun::Replay(answer)) => return Ok(answer),
        // The key's request is still in progress: if that payment waits for the shopper
        // at the provider, the same `202` again (the first answer was lost, or another
        // tab retried); else the refusal.
        Err(ApiError::Rejected(refused)) if refused.code == ErrorCode::RequestInProgress => {
            return match waiting_for_shopper(&state, &user, &id, Some(scope.key.as_str())).await {
                Ok(answer) => Ok(answer),
                Err(_) => Err(ApiError::Rejected(refused)),
            };
        }
        Err(error) => return Err(error),
    };
    let begun = async {
        let request = parse_body(&body)?;
        let row = load_owned(&mut tx, &user, &id, now).await?;
        if retries_pending_payment(
            row.status,
            row.payment_idem_key.as_deref(),
            scope.key.as_str(),
        ) {
            if row.payment_action.as_ref().is_some_and(|a| a.url.is_some()) {
                // Waiting for the shopper at the provider: the same answer again (the
                // first was lost on the way, or a second tab retried).
                return Ok(Begin::Waiting(row.id.clone()));
            }
            // This key's own payment is still being settled (a retry after a lost answer).
            return Ok(Begin::InProgress(ApiError::from(
                ErrorCode::RequestInProgress,
            )));
        }
        let actor = actor(&user, &request_id);
        check_order_action(
            &mut tx,
            &user,
            &row,
            Action::Pay,
            request.snapshot_digest,
            &actor,
            now,
        )
        .await?;
        let token = request.payment_token.filter(|c| !c.trim().is_empty());
        requirements::check(
            Action::Pay,
            requirements::Choices::of(&row.snapshot, token.is_some()),
        )?;
        let token = PaymentToken::parse(token.as_deref().unwrap_or_default())?;
        let return_url = super::return_url::return_url(
            state.public_url.as_deref(),
            &state.trusted_origins.origins,
            &headers,
            &row.id,
            request.return_url.as_deref(),
        )?;
        // Counted in this transaction: parallel payments cannot all pass first, and a
        // restart forgets nothing.
        crate::auth::throttle::card_attempt(&state.guards, &mut tx, &user.id, address, now).await?;
        transition(
            tx.conn(),
            &row.id,
            row.status,
            Transition::BeginPayment,
            &actor,
            now,
        )
        .await?;
        let payment_key = format!("pay_{}", uuid::Uuid::now_v7().simple());
        db::sessions::begin_payment(tx.conn(), &row.id, &payment_key, scope.key.as_str(), now)
            .await?;
        let (amount, currency) = (row.snapshot.totals.grand_total, &row.snapshot.currency);
        db::payments::record_attempt(tx.conn(), &payment_key, &row.id, amount, currency, now)
            .await?;
        Ok(Begin::Charge(NewPayment {
            key: payment_key,
            checkout_id: row.id.clone(),
            amount: row.snapshot.totals.grand_total,
            currency: row.snapshot.currency.clone(),
            token: token.as_str().to_owned(),
            return_url,
        }))
    }
    .await;
    let charge = match begun {
        Ok(Begin::Charge(charge)) => {
            tx.commit().await?;
            charge
        }
        Ok(Begin::InProgress(in_progress)) => {
            tx.commit().await?;
            return Err(in_progress);
        }
        Ok(Begin::Waiting(session_id)) => {
            tx.commit().await?;
            return waiting_for_shopper(&state, &user, &session_id, None).await;
        }
        Err(error) => {
            return answer_and_commit(tx, Some(&scope), Err(error), StatusCode::CREATED).await
        }
    };

    // Phase 2: the provider, outside any transaction, bounded in time.
    let answer = tokio::time::timeout(
        state.tuning.gateway_timeout,
        state.provider.create_and_confirm(&charge),
    )
    .await;
    let (report, payment) = match answer {
        Ok(Ok(payment)) if payment.key == charge.key => {
            (settle::report_of(Source::Answer, &payment), Some(payment))
        }
        Ok(Ok(other)) => {
            tracing::error!(session = %id, payment = %other.id, "the provider answered another payment's key");
            return Err(payment_unsettled());
        }
        Ok(Err(ProviderError::Refused(why))) => {
            // Refused outright (a bad or used token): nothing was charged.
            tracing::info!(session = %id, %why, "payment refused by the provider");
            let refused = Report {
                source: Source::Answer,
                payment_key: charge.key.clone(),
                status: ProviderStatus::Failed,
                amount: charge.amount,
                currency: charge.currency.clone(),
            };
            (refused, None)
        }
        Ok(Err(error)) => {
            tracing::warn!(session = %id, %error, "payment answer lost; the webhook or reconciliation will settle it");
            return Err(payment_unsettled());
        }
        Err(_) => {
            tracing::warn!(session = %id, "payment provider timed out; the webhook or reconciliation will settle it");
            return Err(payment_unsettled());
        }
    };

    // A confirmation at the bank the shopper cannot be sent to (no URL, or not a web
    // address): cancelled at once, so the shopper is told and may pay another way.
    let unusable = payment.as_ref().filter(|p| {
        p.status == ProviderStatus::RequiresAction
            && !p
                .next_action
                .as_deref()
                .is_some_and(|url| action::is_web_address(url, action::MAX_ACTION_URL))
    });
    let (report, payment) = match unusable {
        Some(asked) => {
            tracing::warn!(session = %id, payment = %asked.id, "the provider asked for a step with no usable address; cancelled");
            match settle::bounded(&state, state.provider.cancel(&asked.id)).await {
                Ok(cancelled) => (
                    settle::report_of(Source::Answer, &cancelled),
                    Some(cancelled),
                ),
                // Not reached: the action timeout cancels it later.
                Err(_) => (report, payment),
            }
        }
        None => (report, payment),
    };

    // Phase 3: apply the answer like any report; answer what is stored under the key.
    let actor = actor(&user, &request_id);
    let resolution = settle::apply(&state, &id, report, payment.as_ref(), &actor).await?;
    if resolution == Resolution::Wait
        && payment
            .as_ref()
            .is_some_and(|p| p.status == ProviderStatus::RequiresAction)
    {
        return waiting_for_shopper(&state, &user, &id, None).await;
    }
    match db::idempotency::find(&state.db, scope.key_ref()).await? {
        Some(db::idempotency::StoredKey {
            answer: Some((status, body)),
            ..
        }) => Ok(idempotency::response(status, &body)),
        _ => Err(payment_unsettled()),
    }
}

/// What the first phase came to (its transaction commits in each case).
enum Begin {
    /// Ask the provider for this payment.
    Charge(NewPayment),
    /// A retry while this key's payment is being settled.
    InProgress(ApiError),
    /// A retry while this key's payment waits for the shopper at the provider.
    Waiting(String),
}

/// `202` with the checkout and its `next_action`, while the payment (begun with the
/// Idempotency-Key `idem_key`, when given) waits for the shopper at the provider;
/// otherwise what the payment came to is not known yet.
async fn waiting_for_shopper(
    state: &AppState,
    user: &CurrentUser,
    session_id: &str,
    idem_key: Option<&str>,
) -> ApiResult<Response> {
    let now = state.clock.now();
    let row = db::sessions::load(&state.db, session_id).await?;
    let body = row
        .filter(|row| row.user_id == user.id && row.status == SessionStatus::PaymentPending)
        .filter(|row| idem_key.is_none_or(|k| row.payment_idem_key.as_deref() == Some(k)))
        .map(|row| CheckoutBody::new(&row, &user.viewer(), now))
        .filter(|body| body.next_action.is_some());
    match body {
        Some(body) => Ok((StatusCode::ACCEPTED, Json(body)).into_response()),
        None => Err(payment_unsettled()),
    }
}

fn payment_unsettled() -> ApiError {
    Rejection::with_message(
        ErrorCode::PaymentInProgress,
        "We are confirming your payment with the bank. Do not pay again: retry with the same key, or reload, to see the result.",
    )
    .into()
}
