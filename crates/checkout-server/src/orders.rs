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

use crate::db::{Backend, Conn};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
    Json,
};
use checkout_core::{
    evaluate, idempotency::IdempotencyKey, requirements, Action, CheckInput, Completion, ErrorCode,
    Rejection, SessionStatus, Transition,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    checkout::{
        actor,
        body::OrderBody,
        finish, load_owned,
        store::{self, Actor, SessionRow},
    },
    clock::{from_ms, to_ms},
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
    let at_once = tx.backend() == Backend::Postgres;
    let result = async {
        let request = parse_body(&body)?;
        let row = load_owned(&mut tx, user, id).await?;
        let actor = actor(user, request_id);
        check(
            &mut tx,
            user,
            &row,
            action,
            request.snapshot_digest,
            &actor,
            now,
        )
        .await?;
        requirements::check(action, row.snapshot.choices(false))?;
        let (step, completion) = action
            .completion()
            .ok_or_else(|| ApiError::Internal(format!("{action:?} is not an order action")))?;
        let order = new_order(&row, completion, None, &actor, now);
        let answer = serde_json::to_value(&order).unwrap_or_default();
        if at_once {
            let stored = (&scope, StatusCode::CREATED.as_u16(), &answer);
            write_order_at_once(&mut tx, &row, step, &order, &actor, stored).await?;
        } else {
            store::transition(tx.conn(), &row.id, row.status, step, &actor, now).await?;
            insert_order(tx.conn(), &row, &order).await?;
        }
        Ok(answer)
    }
    .await;
    // A successful one-statement write stored the answer already.
    let scope = (!(at_once && result.is_ok())).then_some(&scope);
    finish(tx, scope, result, StatusCode::CREATED).await
}

/// The core's checks for an order action; a refusal persists read-time expiry first.
async fn check(
    tx: &mut crate::db::WriteTx,
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
            store::persist_expiry(tx.conn(), row, actor, now).await?;
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

/// The order insert and its columns (bound by [`bind_order`]).
macro_rules! insert_order {
    () => {
        "INSERT INTO orders (id, session_id, user_id, checkout_number, kind, status, \
         snapshot, grand_total, currency, payment_reference, acting_admin, created_at)"
    };
}

/// Binds an order's columns in the order of [`insert_order!`].
fn bind_order<'q>(
    query: crate::db::Query<'q>,
    row: &'q SessionRow,
    order: &'q OrderBody,
) -> crate::db::Query<'q> {
    query
        .bind(&order.id)
        .bind(&row.id)
        .bind(&row.user_id)
        .bind(&row.number)
        .bind(&order.kind)
        .bind(&order.status)
        .bind(serde_json::to_string(&row.snapshot).unwrap_or_default())
        .bind(order.grand_total)
        .bind(&order.currency)
        .bind(order.payment_reference.as_deref())
        .bind(order.acting_admin.as_deref())
        .bind(to_ms(order.created_at))
}

/// A second order for one session is refused by `orders.session_id`'s uniqueness.
fn order_error(e: crate::db::DbError) -> ApiError {
    if e.is_unique_violation() {
        ErrorCode::CheckoutCompleted.into()
    } else {
        e.into()
    }
}

/// Stores the session's one order and takes what was ordered out of the cart (items
/// added to the cart after the checkout started stay there).
async fn insert_order(
    conn: impl Into<Conn<'_>>,
    row: &SessionRow,
    order: &OrderBody,
) -> ApiResult<()> {
    let mut conn = conn.into();
    let sql = concat!(
        insert_order!(),
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    );
    bind_order(crate::db::query(sql), row, order)
        .execute(&mut conn)
        .await
        .map_err(order_error)?;
    for line in &row.snapshot.lines {
        // Usually the whole line leaves the cart; only what was added since stays.
        let quantity = i64::from(line.quantity);
        let deleted = crate::db::query(
            "DELETE FROM cart_items WHERE user_id = $1 AND sku = $2 AND quantity <= $3",
        )
        .bind(&row.user_id)
        .bind(&line.sku)
        .bind(quantity)
        .execute(&mut conn)
        .await?;
        if deleted == 0 {
            crate::db::query(
                "UPDATE cart_items SET quantity = quantity - $3 WHERE user_id = $1 AND sku = $2",
            )
            .bind(&row.user_id)
            .bind(&line.sku)
            .bind(quantity)
            .execute(&mut conn)
            .await?;
        }
    }
    crate::metrics::order(&order.kind);
    Ok(())
}

/// PostgreSQL: the whole effect of an order action in one statement, one round trip
/// instead of five or more: the session's compare-and-set transition, its event, the
/// order, the ordered quantities out of the cart, and the answer stored under the
/// key. Every part depends on the compare-and-set: if the session was not in the state
/// it was read in, nothing is written. (SQLite has no data-modifying `WITH`, and runs
/// its statements in process, where a round trip costs nothing.)
async fn write_order_at_once(
    tx: &mut crate::db::WriteTx,
    row: &SessionRow,
    step: Transition,
    order: &OrderBody,
    actor: &Actor,
    (scope, status, answer): (&Scope, u16, &Value),
) -> ApiResult<()> {
    let to = row.status.apply(step)?;
    // $1–$12 the order ($12 is also the time of the change); $13–$25 the transition,
    // its event and the key; then two per cart line.
    let lines = (0..row.snapshot.lines.len())
        .map(|i| format!("(${}, ${}::BIGINT)", 26 + 2 * i, 27 + 2 * i))
        .collect::<Vec<_>>();
    let cart = if lines.is_empty() {
        String::new()
    } else {
        format!(
            ", ordered (sku, quantity) AS (VALUES {}), \
             emptied AS (DELETE FROM cart_items c USING ordered o, s \
                WHERE c.user_id = $3 AND c.sku = o.sku AND c.quantity <= o.quantity), \
             reduced AS (UPDATE cart_items c SET quantity = c.quantity - o.quantity FROM ordered o, s \
                WHERE c.user_id = $3 AND c.sku = o.sku AND c.quantity > o.quantity)",
            lines.join(", ")
        )
    };
    let sql = format!(
        "WITH s AS (UPDATE checkout_sessions SET status = $13, reason = $14, updated_at = $12 \
            WHERE id = $2 AND status = $15 AND COALESCE(reason, '') = COALESCE($16, '') RETURNING id), \
         event AS ({insert_event} SELECT id, $15, $16, $13, $14, $17, $18, $19, $12, $20 FROM s), \
         placed AS ({insert_order} SELECT $1, id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM s), \
         answered AS (UPDATE idempotency_keys k SET state = 'completed', response_status = $21, \
            response_body = $22 FROM s WHERE k.user_id = $23 AND k.endpoint = $24 AND k.idem_key = $25){cart} \
         SELECT COUNT(*) AS moved FROM s",
        insert_event = store::insert_event!(),
        insert_order = insert_order!(),
    );
    let mut query = bind_order(crate::db::query(&sql), row, order)
        .bind(to.name())
        .bind(to.reason())
        .bind(row.status.name())
        .bind(row.status.reason())
        .bind(format!("{step:?}"))
        .bind(actor.user_id.as_deref())
        .bind(actor.admin.as_deref())
        .bind(actor.request_id.as_deref())
        .bind(i64::from(status))
        .bind(answer.to_string())
        .bind(&scope.user_id)
        .bind(&scope.endpoint)
        .bind(scope.key.as_str());
    for line in &row.snapshot.lines {
        query = query.bind(&line.sku).bind(i64::from(line.quantity));
    }
    let moved: i64 = query
        .fetch_one(tx.conn())
        .await
        .map_err(order_error)?
        .try_get("moved")?;
    if moved != 1 {
        return Err(store::changed_under_lock(&row.id));
    }
    crate::metrics::transition(step);
    crate::metrics::order(&order.kind);
    Ok(())
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
        if row.status == SessionStatus::PaymentPending
            && row.payment_idem_key.as_deref() == Some(scope.key.as_str())
        {
            // This key's own payment is still being settled (a retry after a lost answer).
            return Ok(Err(ApiError::from(ErrorCode::RequestInProgress)));
        }
        let actor = actor(&user, &request_id);
        check(&mut tx, &user, &row, Action::Pay, request.snapshot_digest, &actor, now).await?;
        let card = request.card_number.filter(|c| !c.trim().is_empty());
        requirements::check(Action::Pay, row.snapshot.choices(card.is_some()))?;
        let card = card.unwrap_or_default();
        store::transition(tx.conn(), &row.id, row.status, Transition::BeginPayment, &actor, now).await?;
        let payment_key = format!("pay_{}", uuid::Uuid::now_v7().simple());
        crate::db::query(
            "UPDATE checkout_sessions SET payment_key = $1, payment_idem_key = $2, payment_started_at = $3 WHERE id = $4",
        )
        .bind(&payment_key)
        .bind(scope.key.as_str())
        .bind(to_ms(now))
        .bind(&row.id)
        .execute(tx.conn())
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
    let owner: Option<String> =
        crate::db::query("SELECT user_id FROM checkout_sessions WHERE id = $1")
            .bind(session_id)
            .fetch_optional(tx.conn())
            .await?
            .map(|r| r.try_get("user_id"))
            .transpose()?;
    let owner = owner.ok_or(ApiError::Rejected(Rejection::new(
        ErrorCode::CheckoutNotFound,
    )))?;
    tx.lock_user(&owner).await?;
    let row = store::load(tx.conn(), session_id)
        .await?
        .ok_or(ApiError::Rejected(Rejection::new(
            ErrorCode::CheckoutNotFound,
        )))?;
    let idem_key = row.payment_idem_key.clone().unwrap_or_default();
    let endpoint = endpoint(&row.id, Action::Pay);
    if row.status != SessionStatus::PaymentPending {
        let stored = crate::db::query(
            "SELECT response_status, response_body FROM idempotency_keys WHERE user_id = $1 AND endpoint = $2 AND idem_key = $3",
        )
        .bind(&row.user_id)
        .bind(&endpoint)
        .bind(&idem_key)
        .fetch_optional(tx.conn())
        .await?;
        let answer = match stored {
            Some(r) => match (
                r.try_get::<Option<i64>>("response_status")?,
                r.try_get::<Option<String>>("response_body")?,
            ) {
                (Some(status), Some(body)) => (
                    u16::try_from(status).unwrap_or(500),
                    serde_json::from_str(&body).unwrap_or_default(),
                ),
                _ => return Err(ErrorCode::CheckoutCompleted.into()),
            },
            None => return Err(ErrorCode::CheckoutCompleted.into()),
        };
        return Ok(answer);
    }
    let (status, body) = match settlement {
        Settlement::Charged { reference } => {
            let (step, completion) = Action::Pay
                .completion()
                .ok_or_else(|| ApiError::Internal("pay has no completion".into()))?;
            store::transition(tx.conn(), &row.id, row.status, step, actor, now).await?;
            let order = new_order(&row, completion, Some(&reference), actor, now);
            insert_order(tx.conn(), &row, &order).await?;
            crate::metrics::payment("charged");
            (201, serde_json::to_value(order).unwrap_or_default())
        }
        not_charged => {
            let why = match not_charged {
                Settlement::Declined { reason } => reason,
                _ => "the payment did not go through".to_owned(),
            };
            let step = checkout_core::lifecycle::after_unpaid(row.view().expiry(), now);
            store::transition(tx.conn(), &row.id, row.status, step, actor, now).await?;
            crate::metrics::payment("declined");
            let problem = Rejection::with_message(
                ErrorCode::PaymentDeclined,
                format!("Payment not taken: {why}. Nothing was charged."),
            )
            .to_problem();
            (402, serde_json::to_value(problem).unwrap_or_default())
        }
    };
    idempotency::complete(&mut tx, &row.user_id, &endpoint, &idem_key, status, &body).await?;
    tx.commit().await?;
    Ok((status, body))
}

/// Reconciles payments left pending longer than the configured bound (the server died,
/// or the gateway never answered): asks the gateway for the final outcome, voiding
/// never-charged payments so a late charge cannot happen, and settles each.
pub async fn reconcile(state: &AppState) -> Result<usize, ApiError> {
    let cutoff = state.clock.now()
        - chrono::Duration::from_std(state.tuning.reconcile_after).unwrap_or_default();
    let stuck = crate::db::query(
        "SELECT id, payment_key FROM checkout_sessions WHERE status = 'PAYMENT_PENDING' AND payment_started_at <= $1",
    )
    .bind(to_ms(cutoff))
    .fetch_all(&state.db)
    .await?;
    let mut settled = 0;
    for r in stuck {
        let id: String = r.try_get("id")?;
        let Some(payment_key): Option<String> = r.try_get("payment_key")? else {
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
    let row = crate::db::query(
        "SELECT id, session_id, checkout_number, kind, status, snapshot, grand_total, currency, payment_reference, \
         acting_admin, created_at FROM orders WHERE id = $1 AND user_id = $2",
    )
    .bind(&id)
    .bind(&user.id)
    .fetch_optional(&state.db)
    .await?
    .ok_or(ApiError::Rejected(Rejection::with_message(ErrorCode::CheckoutNotFound, "No such order.")))?;
    let snapshot: String = row.try_get("snapshot")?;
    Ok(Json(OrderBody {
        id: row.try_get("id")?,
        checkout_id: row.try_get("session_id")?,
        checkout_number: row.try_get("checkout_number")?,
        kind: row.try_get("kind")?,
        status: row.try_get("status")?,
        snapshot: serde_json::from_str(&snapshot).map_err(|e| ApiError::Internal(e.to_string()))?,
        grand_total: row.try_get("grand_total")?,
        currency: row.try_get("currency")?,
        payment_reference: row.try_get("payment_reference")?,
        acting_admin: row.try_get("acting_admin")?,
        created_at: from_ms(row.try_get("created_at")?),
    }))
}
