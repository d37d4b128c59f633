//! Pay now and submit, in three phases: `PAYMENT_PENDING` and the key's claim commit
//! first, then the gateway is called with the server's own payment key (outside any
//! transaction, bounded in time), then the outcome is settled in a second transaction.
//! An answer lost on the way (timeout, crash) is settled by [`reconcile`].

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use checkout_core::{
    idempotency::IdempotencyKey, lifecycle::retries_pending_payment, requirements, Action,
    ErrorCode, Rejection, SessionStatus, Transition,
};
use serde_json::Value;

use super::{check_order_action, endpoint, new_order, parse_body, place, OrderActionRequest};
use crate::{
    checkout::{actor, answer_and_commit, load_owned, transition},
    db::{self, events::Actor, idempotency::KeyRef, orders::Order as OrderBody},
    error::{ApiError, ApiResult},
    extract::{ApiJson, CurrentUser, IdempotencyHeader, RequestId},
    idempotency::{self, Begun, Scope},
    payments::{ChargeOutcome, ChargeRequest, Settlement},
    state::AppState,
};

/// Pay now and submit: charge the checkout's total, then create a `PAID` order.
#[utoipa::path(post, path = "/checkouts/{id}/pay", tag = "orders",
    params(("id" = String, Path), ("Idempotency-Key" = String, Header)), request_body = OrderActionRequest,
    responses((status = 201, body = OrderBody), (status = 402, description = "PAYMENT_DECLINED"),
        (status = 409, description = "PAYMENT_IN_PROGRESS (answer not known yet: retry with the same key), REQUEST_IN_PROGRESS")))]
pub async fn pay(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
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
        let row = load_owned(&mut tx, &user, &id).await?;
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
        let card = request.card_number.filter(|c| !c.trim().is_empty());
        requirements::check(Action::Pay, row.snapshot.choices(card.is_some()))?;
        let card = card.unwrap_or_default();
        // Counted under the shopper's lock, so parallel payments cannot all pass first.
        state.guards.card_attempts.hit(&user.id, now)?;
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
        Ok(Ok(ChargeRequest {
            payment_key,
            session_id: row.id.clone(),
            amount: row.snapshot.totals.grand_total,
            currency: row.snapshot.currency.clone(),
            card_number: card,
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

    // Phase 2: the gateway, outside any transaction, bounded in time.
    let answer =
        tokio::time::timeout(state.tuning.gateway_timeout, state.gateway.charge(&charge)).await;
    let settlement = match answer {
        Ok(Ok(ChargeOutcome::Approved { reference })) => Settlement::Charged { reference },
        Ok(Ok(ChargeOutcome::Declined { reason })) => Settlement::Declined { reason },
        Ok(Err(error)) => {
            tracing::warn!(session = %id, %error, "payment answer lost; reconciliation will settle it");
            return Err(payment_unsettled());
        }
        Err(_) => {
            tracing::warn!(session = %id, "payment gateway timed out; reconciliation will settle it");
            return Err(payment_unsettled());
        }
    };

    // Phase 3: settle and store the answer under the key.
    let actor = actor(&user, &request_id);
    let (status, body) = settle_payment(&state, &id, settlement, &actor).await?;
    Ok(idempotency::response(status, &body))
}

fn payment_unsettled() -> ApiError {
    Rejection::with_message(
        ErrorCode::PaymentInProgress,
        "We are confirming your payment with the bank. Do not pay again: retry with the same key, or reload, to see the result.",
    )
    .into()
}

/// Settles a pending payment with a definite outcome: a charge completes the session
/// and creates the `PAID` order; anything else returns the session to `ACTIVE` (or
/// `EXPIRED` when its window closed meanwhile). The answer is stored under the key that
/// started the payment. Settling a session that is no longer pending returns the answer
/// already stored, so settling twice is harmless.
pub async fn settle_payment(
    state: &AppState,
    session_id: &str,
    settlement: Settlement,
    actor: &Actor,
) -> ApiResult<(u16, Value)> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let owner = db::sessions::owner(tx.conn(), session_id)
        .await?
        .ok_or(ApiError::Rejected(Rejection::new(
            ErrorCode::CheckoutNotFound,
        )))?;
    tx.lock_user(&owner).await?;
    let row = db::sessions::load(tx.conn(), session_id)
        .await?
        .ok_or(ApiError::Rejected(Rejection::new(
            ErrorCode::CheckoutNotFound,
        )))?;
    let idem_key = row.payment_idem_key.clone().unwrap_or_default();
    let endpoint = endpoint(&row.id, Action::Pay);
    let key = KeyRef {
        user_id: &row.user_id,
        endpoint: &endpoint,
        key: &idem_key,
    };
    if row.status != SessionStatus::PaymentPending {
        // Settled before (by the request, or by reconciliation): the answer stored then.
        return match db::idempotency::find(tx.conn(), key).await? {
            Some(db::idempotency::StoredKey {
                answer: Some(answer),
                ..
            }) => Ok(answer),
            _ => Err(ErrorCode::CheckoutCompleted.into()),
        };
    }
    let (status, body) = match settlement {
        Settlement::Charged { reference } => {
            let (step, completion) = Action::Pay
                .completion()
                .ok_or_else(|| ApiError::Internal("pay has no completion".into()))?;
            let order = new_order(&row, completion, Some(&reference), actor, now);
            let body = serde_json::to_value(&order).unwrap_or_default();
            place(&mut tx, &row, step, &order, actor, (key, 201, &body)).await?;
            tx.commit().await?;
            crate::metrics::payment("charged");
            return Ok((201, body));
        }
        not_charged => {
            let why = match not_charged {
                Settlement::Declined { reason } => reason,
                _ => "the payment did not go through".to_owned(),
            };
            let step = checkout_core::lifecycle::after_unpaid(row.view().expiry(), now);
            transition(tx.conn(), &row.id, row.status, step, actor, now).await?;
            crate::metrics::payment("declined");
            let problem = Rejection::with_message(
                ErrorCode::PaymentDeclined,
                format!("Payment not taken: {why}. Nothing was charged."),
            )
            .to_problem();
            (402, serde_json::to_value(problem).unwrap_or_default())
        }
    };
    idempotency::complete(&mut tx, key, status, &body).await?;
    tx.commit().await?;
    Ok((status, body))
}

/// Reconciles payments left pending longer than the configured bound (the server died,
/// or the gateway never answered): asks the gateway for the final outcome, voiding
/// never-charged payments so a late charge cannot happen, and settles each.
pub async fn reconcile(state: &AppState) -> Result<usize, ApiError> {
    let cutoff = state.clock.now()
        - chrono::Duration::from_std(state.tuning.reconcile_after).unwrap_or_default();
    let stuck = db::sessions::stuck_payments(&state.db, cutoff).await?;
    let mut settled = 0;
    for (id, payment_key) in stuck {
        let Some(payment_key) = payment_key else {
            continue;
        };
        match state.gateway.settle(&payment_key).await {
            Ok(settlement) => {
                let actor = Actor {
                    request_id: Some("reconciliation".into()),
                    ..Actor::default()
                };
                settle_payment(state, &id, settlement, &actor).await?;
                settled += 1;
            }
            Err(error) => tracing::warn!(session = %id, %error, "reconciliation postponed"),
        }
    }
    Ok(settled)
}
