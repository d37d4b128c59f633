//! Pay now and submit, in three phases: `PAYMENT_PENDING` and the key's claim commit
//! first, then the provider is asked to create and confirm a payment for the browser's
//! token under the server's own payment key (outside any transaction, bounded in time),
//! then its answer is applied like any other report (`settle::apply`). An answer lost
//! on the way, or a payment still processing, is settled by the provider's webhook or
//! by reconciliation.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use checkout_core::{
    idempotency::IdempotencyKey,
    lifecycle::retries_pending_payment,
    payment::{PaymentToken, ProviderStatus, Report, Source},
    requirements, Action, ErrorCode, Rejection, Transition,
};
use serde_json::Value;

use super::{check_order_action, endpoint, parse_body, settle, OrderActionRequest};
use crate::{
    checkout::{actor, answer_and_commit, load_owned, transition},
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
    responses((status = 201, body = OrderBody), (status = 402, description = "PAYMENT_DECLINED"),
        (status = 409, description = "PAYMENT_IN_PROGRESS (answer not known yet: retry with the same key), REQUEST_IN_PROGRESS")))]
pub async fn pay(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    ClientAddr(address): ClientAddr,
    Path(id): Path<String>,
    IdempotencyHeader(key): IdempotencyHeader,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Response> {
    let key = IdempotencyKey::parse(key.as_deref())?;
    let scope = Scope::new(&user.id, endpoint(&id, Action::Pay), key, &body);
    let now = state.clock.now();

    // Phase 1: claim the key, check, and write PAYMENT_PENDING before any money moves.
    let mut tx = match idempotency::begin(&state, &scope, now).await? {
        Begun::Run(tx) => tx,
        Begun::Replay(answer) => return Ok(answer),
    };
    let begun = async {
        let request = parse_body(&body)?;
        let row = load_owned(&mut tx, &user, &id, now).await?;
        if retries_pending_payment(
            row.status,
            row.payment_idem_key.as_deref(),
            scope.key.as_str(),
        ) {
            // This key's own payment is still being settled (a retry after a lost answer).
            return Ok(Err(ApiError::from(ErrorCode::RequestInProgress)));
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
        Ok(Ok(NewPayment {
            key: payment_key,
            checkout_id: row.id.clone(),
            amount: row.snapshot.totals.grand_total,
            currency: row.snapshot.currency.clone(),
            token: token.as_str().to_owned(),
        }))
    }
    .await;
    let charge = match begun {
        Ok(Ok(charge)) => {
            tx.commit().await?;
            charge
        }
        Ok(Err(in_progress)) => {
            tx.commit().await?;
            return Err(in_progress);
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
    let (report, payment_id) = match answer {
        Ok(Ok(payment)) if payment.key == charge.key => (
            settle::report_of(Source::Answer, &payment),
            Some(payment.id),
        ),
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

    // Phase 3: apply the answer like any report; answer what is stored under the key.
    let actor = actor(&user, &request_id);
    settle::apply(&state, &id, report, payment_id.as_deref(), &actor).await?;
    match db::idempotency::find(&state.db, scope.key_ref()).await? {
        Some(db::idempotency::StoredKey {
            answer: Some((status, body)),
            ..
        }) => Ok(idempotency::response(status, &body)),
        _ => Err(payment_unsettled()),
    }
}

fn payment_unsettled() -> ApiError {
    Rejection::with_message(
        ErrorCode::PaymentInProgress,
        "We are confirming your payment with the bank. Do not pay again: retry with the same key, or reload, to see the result.",
    )
    .into()
}
