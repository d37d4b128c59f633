//! The order actions: place order, submit for approval, and pay-and-submit (its route is
//! with the payments, `crate::payments::pay`). Each needs an
//! `Idempotency-Key` and the digest of the summary the shopper confirmed, and passes the
//! core's checks first. A session yields at most one order whatever the keys: the
//! transition out of `ACTIVE` is a compare-and-set and `orders.session_id` is unique.
//!
//! Place order and submit for approval make their effect and store their answer in one
//! transaction. Pay cannot (the gateway is outside the database), so it is two-phase:
//! `PAYMENT_PENDING` and the key's claim commit first, the gateway is called with the
//! server's own payment key, and the outcome is settled in a second transaction. An
//! answer lost on the way (timeout, crash) is settled by reconciliation in the sweeper.

pub mod approvals;

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
    Json,
};
use checkout_core::{
    evaluate, idempotency::IdempotencyKey, outbox::EventType, requirements, Action, CheckInput,
    Completion, ErrorCode, Rejection, SessionStatus, Transition,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    checkout::{
        actor, answer_and_commit, changed_under_lock, explained, load_owned, persist_expiry,
    },
    db::{
        self,
        events::Actor,
        idempotency::KeyRef,
        orders::{Order as OrderBody, Placed, Placement},
        sessions::SessionRow,
        WriteTx,
    },
    http::error::{ApiError, ApiResult},
    http::extract::{ApiJson, CurrentUser, IdempotencyHeader, RequestId},
    http::idempotency::{self, Begun, Scope},
    state::AppState,
};

/// The order routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(place_order))
        .routes(routes!(submit_for_approval))
        .routes(routes!(get_order))
}

/// The body of an order action.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderActionRequest {
    /// The digest of the summary the shopper confirmed (required).
    #[serde(default)]
    pub snapshot_digest: Option<String>,
    /// Pay only: the token the payment provider gave the browser for the card (never
    /// the card number: one is refused).
    #[serde(default)]
    pub payment_token: Option<String>,
    /// Pay only: where the provider sends the shopper back after confirming at their
    /// bank (3-D Secure): a page of the shop's own origin (the request's `Origin`,
    /// `--public-url` or a trusted origin). Default: the storefront's checkout page.
    #[serde(default)]
    pub return_url: Option<String>,
}

pub(crate) fn parse_body(value: &Value) -> ApiResult<OrderActionRequest> {
    serde_json::from_value(value.clone()).map_err(|e| {
        Rejection::with_message(
            ErrorCode::ValidationFailed,
            format!(
                "invalid body: {}",
                crate::http::error::bounded(&e.to_string())
            ),
        )
        .into()
    })
}

/// The idempotency scope of an order action on a session.
pub(crate) fn endpoint(id: &str, action: Action) -> String {
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
        let row = load_owned(&mut tx, user, id, now).await?;
        let actor = actor(user, request_id);
        check_order_action(
            &mut tx,
            user,
            &row,
            action,
            request.snapshot_digest,
            &actor,
            now,
        )
        .await?;
        requirements::check(action, requirements::Choices::of(&row.snapshot, false))?;
        let (step, completion) = action
            .completion()
            .ok_or_else(|| ApiError::Internal(format!("{action:?} is not an order action")))?;
        let order = new_order(&row, user.customer.clone(), completion, None, &actor, now);
        let answer = serde_json::to_value(&order).unwrap_or_default();
        let key = scope.key_ref();
        place(
            &mut tx,
            &row,
            step,
            &order,
            &actor,
            (key, StatusCode::CREATED.as_u16(), &answer.to_string()),
        )
        .await?;
        Ok(answer)
    }
    .await;
    // A placed order stored its answer under the key already.
    let scope = result.is_err().then_some(&scope);
    answer_and_commit(tx, scope, result, StatusCode::CREATED).await
}

/// The core's checks for an order action; a refusal persists read-time expiry first.
pub(crate) async fn check_order_action(
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
        digest: digest.clone(),
        now,
    });
    match verdict.rejection {
        None => Ok(()),
        Some(rejection) => {
            persist_expiry(tx.conn(), row, actor, now).await?;
            let rejection = explained(tx.conn(), row, digest.as_deref(), rejection).await?;
            Err(rejection.into())
        }
    }
}

/// The session's one order, as it will be stored.
pub(crate) fn new_order(
    row: &SessionRow,
    customer: db::orders::OrderCustomer,
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
        customer,
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
        decided_by: None,
        decided_at: None,
        decision_reason: None,
        metadata: row.metadata(),
    }
}

/// Writes the order with its transition, its event, the cart and the stored answer
/// (`db::orders::place`); a second order for one session is `CHECKOUT_COMPLETED`.
pub(crate) async fn place(
    tx: &mut WriteTx,
    row: &SessionRow,
    step: Transition,
    order: &OrderBody,
    actor: &Actor,
    answer: (KeyRef<'_>, u16, &str),
) -> ApiResult<()> {
    let to = row.status.apply(step)?;
    let SessionStatus::Completed(completion) = to else {
        return Err(ApiError::Internal(format!("{step:?} places no order")));
    };
    let event = crate::outbox::events::new_event(
        order,
        answer.2,
        EventType::of(completion),
        order.created_at,
    );
    let placement = Placement {
        session: row,
        step,
        to,
        order,
        actor,
        answer,
        event: &event,
    };
    match db::orders::place(tx, &placement).await? {
        Placed::Done => {
            crate::ops::metrics::transition(step);
            crate::ops::metrics::order(&order.kind);
            Ok(())
        }
        Placed::AlreadyOrdered => Err(ErrorCode::CheckoutCompleted.into()),
        Placed::StateChanged => Err(changed_under_lock(&row.id)),
    }
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
