//! The order actions: place order, submit for approval, and pay-and-submit. Each needs an
//! `Idempotency-Key` and the digest of the summary the shopper confirmed, and passes the
//! core's checks first. A session yields at most one order whatever the keys: the
//! transition out of `ACTIVE` is a compare-and-set and `orders.session_id` is unique.
//!
//! Place order and submit for approval make their effect and store their answer in one
//! transaction. Pay cannot (the gateway is outside the database), so it is two-phase:
//! `PAYMENT_PENDING` and the key's claim commit first, the gateway is called with the
//! server's own payment key, and the outcome is settled in a second transaction. An
//! answer lost on the way (timeout, crash) is settled by reconciliation in the sweeper.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
    Json,
};
use checkout_core::{
    evaluate, idempotency::IdempotencyKey, lifecycle::retries_pending_payment, requirements,
    Action, CheckInput, Completion, ErrorCode, Rejection, SessionStatus, Transition,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    checkout::{actor, changed_under_lock, finish, load_owned, persist_expiry, transition},
    db::{
        self,
        idempotency::KeyRef,
        orders::{Order as OrderBody, Placed, Placement},
        sessions::{Actor, SessionRow},
        WriteTx,
    },
    error::{ApiError, ApiResult},
    extract::{ApiJson, CurrentUser, IdempotencyHeader, RequestId},
    idempotency::{self, Begun, Scope},
    payments::{ChargeOutcome, ChargeRequest, Settlement},
    state::AppState,
};

/// The order routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(place_order))
        .routes(routes!(submit_for_approval))
        .routes(routes!(pay))
        .routes(routes!(get_order))
}

/// The body of an order action.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderActionRequest {
    /// The digest of the summary the shopper confirmed (required).
    #[serde(default)]
    pub snapshot_digest: Option<String>,
    /// Pay only: the card (or payment token) to charge.
    #[serde(default)]
    pub card_number: Option<String>,
}

fn parse_body(value: &Value) -> ApiResult<OrderActionRequest> {
    serde_json::from_value(value.clone()).map_err(|e| {
        Rejection::with_message(
            ErrorCode::ValidationFailed,
            format!("invalid body: {}", crate::extract::bounded(&e.to_string())),
        )
        .into()
    })
}

/// The idempotency scope of an order action on a session.
fn endpoint(id: &str, action: Action) -> String {
    format!(
        "POST /api/v1/checkouts/{id}/{}",
        action.order_segment().unwrap_or("unknown")
    )
}

/// Place the order.
#[utoipa::path(post, path = "/checkouts/{id}/place-order", tag = "orders",
    params(("id" = String, Path), ("Idempotency-Key" = String, Header)), request_body = OrderActionRequest,
    responses((status = 201, body = OrderBody), (status = 409, description = "SNAPSHOT_MISMATCH, CHECKOUT_SUPERSEDED, …"),
        (status = 410, description = "CHECKOUT_EXPIRED")))]
pub async fn place_order(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    Path(id): Path<String>,
    IdempotencyHeader(key): IdempotencyHeader,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Response> {
    complete_action(
        &state,
        &user,
        &request_id,
        &id,
        key,
        body,
        Action::PlaceOrder,
    )
    .await
}

/// Submit the order for approval (B2B): an order in `PENDING_APPROVAL`.
#[utoipa::path(post, path = "/checkouts/{id}/submit-for-approval", tag = "orders",
    params(("id" = String, Path), ("Idempotency-Key" = String, Header)), request_body = OrderActionRequest,
    responses((status = 201, body = OrderBody)))]
pub async fn submit_for_approval(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    Path(id): Path<String>,
    IdempotencyHeader(key): IdempotencyHeader,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Response> {
    complete_action(
        &state,
        &user,
        &request_id,
        &id,
        key,
        body,
        Action::SubmitForApproval,
    )
    .await
}

async fn complete_action(
    state: &AppState,
    user: &CurrentUser,
    request_id: &RequestId,
    id: &str,
    key: Option<String>,
    body: Value,
    action: Action,
) -> ApiResult<Response> {
    let key = IdempotencyKey::parse(key.as_deref())?;
    let scope = Scope::new(&user.id, endpoint(id, action), key, &body);
    let now = state.clock.now();
    let mut tx = match idempotency::begin(state, &scope, now).await? {
        Begun::Run(tx) => tx,
        Begun::Replay(answer) => return Ok(answer),
    };
    let result = async {
        let request = parse_body(&body)?;
        let row = load_owned(&mut tx, user, id).await?;
        let actor = actor(user, request_id);
        check_order_action(&mut tx, user, &row, action, request.snapshot_digest, &actor, now)
            .await?;
        requirements::check(action, row.snapshot.choices(false))?;
        let (step, completion) = action
            .completion()
            .ok_or_else(|| ApiError::Internal(format!("{action:?} is not an order action")))?;
        let order = new_order(&row, completion, None, &actor, now);
        let answer = serde_json::to_value(&order).unwrap_or_default();
        let key = scope.key_ref();
        place(&mut tx, &row, step, &order, &actor, (key, StatusCode::CREATED.as_u16(), &answer))
            .await?;
        Ok(answer)
    }
    .await;
    // A placed order stored its answer under the key already.
    let scope = result.is_err().then_some(&scope);
    finish(tx, scope, result, StatusCode::CREATED).await
}

/// The core's checks for an order action; a refusal persists read-time expiry first.
async fn check_order_action(
    tx: &mut WriteTx,
    user: &CurrentUser,
    row: &SessionRow,
    action: Action,
    digest: Option<String>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let verdict = evaluate(&CheckInput {
        session: Some(row.view()),
        viewer: user.viewer(),
        action,
        digest,
        now,
    });
    match verdict.rejection {
        None => Ok(()),
        Some(rejection) => {
            persist_expiry(tx.conn(), row, actor, now).await?;
            Err(rejection.into())
        }
    }
}

/// The session's one order, as it will be stored.
fn new_order(
    row: &SessionRow,
    completion: Completion,
    payment_reference: Option<&str>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> OrderBody {
    let kind = SessionStatus::Completed(completion)
        .reason()
        .unwrap_or("ORDER_PLACED");
    OrderBody {
        id: uuid::Uuid::now_v7().to_string(),
        checkout_id: row.id.clone(),
        checkout_number: row.number.clone(),
        kind: kind.to_owned(),
        status: completion.order_status().to_owned(),
        snapshot: row.snapshot.clone(),
        grand_total: row.snapshot.totals.grand_total,
        currency: row.snapshot.currency.clone(),
        payment_reference: payment_reference.map(str::to_owned),
        acting_admin: actor.admin.clone(),
        created_at: now,
    }
}

/// Writes the order with its transition, its event, the cart and the stored answer
/// (`db::orders::place`); a second order for one session is `CHECKOUT_COMPLETED`.
async fn place(
    tx: &mut WriteTx,
    row: &SessionRow,
    step: Transition,
    order: &OrderBody,
    actor: &Actor,
    answer: (KeyRef<'_>, u16, &Value),
) -> ApiResult<()> {
    let to = row.status.apply(step)?;
    let placement = Placement {
        session: row,
        step,
        to,
        order,
        actor,
        answer,
    };
    match db::orders::place(tx, &placement).await? {
        Placed::Done => {
            crate::metrics::transition(step);
            crate::metrics::order(&order.kind);
            Ok(())
        }
        Placed::AlreadyOrdered => Err(ErrorCode::CheckoutCompleted.into()),
        Placed::StateChanged => Err(changed_under_lock(&row.id)),
    }
}

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
        if retries_pending_payment(row.status, row.payment_idem_key.as_deref(), scope.key.as_str()) {
            // This key's own payment is still being settled (a retry after a lost answer).
            return Ok(Err(ApiError::from(ErrorCode::RequestInProgress)));
        }
        let actor = actor(&user, &request_id);
        check_order_action(&mut tx, &user, &row, Action::Pay, request.snapshot_digest, &actor, now)
            .await?;
        let card = request.card_number.filter(|c| !c.trim().is_empty());
        requirements::check(Action::Pay, row.snapshot.choices(card.is_some()))?;
        let card = card.unwrap_or_default();
        transition(tx.conn(), &row.id, row.status, Transition::BeginPayment, &actor, now).await?;
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
        Err(error) => return finish(tx, Some(&scope), Err(error), StatusCode::CREATED).await,
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
        .ok_or(ApiError::Rejected(Rejection::new(ErrorCode::CheckoutNotFound)))?;
    tx.lock_user(&owner).await?;
    let row = db::sessions::load(tx.conn(), session_id)
        .await?
        .ok_or(ApiError::Rejected(Rejection::new(ErrorCode::CheckoutNotFound)))?;
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

/// An order of the signed-in shopper.
#[utoipa::path(get, path = "/orders/{id}", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = OrderBody), (status = 404, description = "CHECKOUT_NOT_FOUND")))]
pub async fn get_order(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<OrderBody>> {
    db::orders::find(&state.db, &id, &user.id)
        .await?
        .map(Json)
        .ok_or_else(|| {
            Rejection::with_message(ErrorCode::CheckoutNotFound, "No such order.").into()
        })
}
