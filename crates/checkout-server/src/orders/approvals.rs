//! Approval (CONTRACT §15): approvers — the admin (bearer token), or a shopper the admin
//! made an approver — list the orders submitted for approval and approve one (bound to
//! the digest of the submitted snapshot) or reject it with a reason. The core judges
//! each decision (`core::approval::decide`); the decision, its event on the checkout and
//! its outbox event (`order.approved`, `order.rejected`) are written in one
//! transaction. The shopper sees the outcome on the order page.

use axum::{
    extract::{FromRequestParts, Path, State},
    http::{header, request::Parts},
    Json,
};
use checkout_core::{
    approval::{self, Approver, Decision, Submitted},
    outbox::EventType,
    Change, ErrorCode, Event, Rejection, SessionStatus,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    checkout::body::OrderBody,
    db::{self, events::Actor},
    http::error::{ApiError, ApiResult},
    http::extract::{Admin, ApiJson, CurrentUser, RequestId},
    state::AppState,
};

/// The approval routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(pending))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(set_approver))
}

/// Who is deciding: the admin (with `Authorization: Bearer`) or an approver shopper.
#[derive(Debug, Clone)]
pub struct Deciding {
    /// As the core sees them.
    pub approver: Approver,
    /// The name recorded with the decision.
    pub name: String,
    /// The shopper, when not the admin.
    pub user: Option<CurrentUser>,
}

impl FromRequestParts<AppState> for Deciding {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            Admin::from_request_parts(parts, state).await?;
            return Ok(Deciding {
                approver: Approver::Admin,
                name: approval::ADMIN_NAME.into(),
                user: None,
            });
        }
        let user = CurrentUser::from_request_parts(parts, state).await?;
        if !db::users::is_approver(&state.db, &user.id).await? {
            return Err(Rejection::with_message(
                ErrorCode::Forbidden,
                "Only approvers can see and decide orders submitted for approval.",
            )
            .into());
        }
        Ok(Deciding {
            approver: Approver::Shopper {
                user_id: user.id.clone(),
            },
            name: user.username.clone(),
            user: Some(user),
        })
    }
}

/// An order waiting for a decision.
pub use crate::db::orders::PendingOrder;

/// The orders waiting for approval, oldest first.
#[utoipa::path(get, path = "/approvals", tag = "orders", security(("admin" = []), ("login" = [])),
    responses((status = 200, body = Vec<PendingOrder>), (status = 403, description = "FORBIDDEN: not an approver")))]
pub async fn pending(
    deciding: Deciding,
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<PendingOrder>>> {
    // An approver is not shown their own orders: they cannot decide them.
    let own = deciding.user.as_ref().map(|u| u.id.as_str());
    Ok(Json(
        db::orders::pending_approval(&state.db, own, 200).await?,
    ))
}

/// Approve an order: send the digest of the snapshot you looked at.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// The digest of the submitted order's snapshot.
    #[schema(schema_with = crate::http::api_doc::fields::digest)]
    pub snapshot_digest: String,
}

/// Reject an order, saying why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    /// What the shopper reads (1 to 500 characters).
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Approve a submitted order (bound to the digest of what was submitted).
#[utoipa::path(post, path = "/approvals/{id}/approve", tag = "orders", security(("admin" = []), ("login" = [])),
    params(("id" = String, Path, description = "order id")), request_body = ApproveRequest,
    responses((status = 200, body = OrderBody), (status = 403, description = "FORBIDDEN: not an approver, or your own order"),
        (status = 404, description = "CHECKOUT_NOT_FOUND: no such order"),
        (status = 409, description = "SNAPSHOT_MISMATCH, CHECKOUT_COMPLETED (decided already)")))]
pub async fn approve(
    deciding: Deciding,
    State(state): State<AppState>,
    request_id: RequestId,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ApproveRequest>,
) -> ApiResult<Json<OrderBody>> {
    let decision = Decision::Approve {
        digest: req.snapshot_digest,
    };
    decide(&state, &deciding, &request_id, &id, &decision).await
}

/// Reject a submitted order with a reason the shopper reads.
#[utoipa::path(post, path = "/approvals/{id}/reject", tag = "orders", security(("admin" = []), ("login" = [])),
    params(("id" = String, Path, description = "order id")), request_body = RejectRequest,
    responses((status = 200, body = OrderBody), (status = 403, description = "FORBIDDEN: not an approver, or your own order"),
        (status = 404, description = "CHECKOUT_NOT_FOUND: no such order"),
        (status = 409, description = "CHECKOUT_COMPLETED (decided already)"), (status = 422, description = "VALIDATION_FAILED: no reason")))]
pub async fn reject(
    deciding: Deciding,
    State(state): State<AppState>,
    request_id: RequestId,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<RejectRequest>,
) -> ApiResult<Json<OrderBody>> {
    let decision = Decision::Reject { reason: req.reason };
    decide(&state, &deciding, &request_id, &id, &decision).await
}

async fn decide(
    state: &AppState,
    deciding: &Deciding,
    request_id: &RequestId,
    order_id: &str,
    decision: &Decision,
) -> ApiResult<Json<OrderBody>> {
    let now = state.clock.now();
    let not_found = || Rejection::with_message(ErrorCode::CheckoutNotFound, "No such order.");
    let owner = db::orders::owner(&state.db, order_id)
        .await?
        .ok_or_else(not_found)?;
    let mut tx = state.db.begin_write().await?;
    tx.lock_user(&owner).await?;
    let order = db::orders::find(tx.conn(), order_id, &owner)
        .await?
        .ok_or_else(not_found)?;
    let status = approval::decide(
        Submitted {
            status: &order.status,
            user_id: &owner,
            digest: &order.snapshot.digest,
        },
        &deciding.approver,
        decision,
    )?;
    let reason = match decision {
        // The shopper reads it and it is kept: never a card number.
        Decision::Reject { reason } => {
            Some(checkout_core::payment::mask_card_numbers(reason.trim()))
        }
        Decision::Approve { .. } => None,
    };
    if !db::orders::record_decision(
        tx.conn(),
        order_id,
        status,
        &deciding.name,
        reason.as_deref(),
        now,
    )
    .await?
    {
        return Err(crate::checkout::changed_under_lock(&order.checkout_id));
    }
    let (change, event_type) = if status == approval::APPROVED {
        (Change::Approve, EventType::OrderApproved)
    } else {
        (Change::Reject, EventType::OrderRejected)
    };
    let submitted = SessionStatus::Completed(checkout_core::Completion::SubmittedForApproval);
    // An admin impersonating an approver is recorded as the admin acting.
    let actor = Actor {
        user_id: deciding.user.as_ref().map(|u| u.id.clone()),
        admin: match &deciding.user {
            Some(user) => user.impersonator.clone(),
            None => Some(approval::ADMIN_NAME.to_owned()),
        },
        request_id: Some(request_id.0.clone()),
    };
    db::events::record_event(
        tx.conn(),
        &order.checkout_id,
        Some(submitted),
        submitted,
        Event::Changed(change),
        &actor,
        now,
    )
    .await?;
    let order = db::orders::find(tx.conn(), order_id, &owner)
        .await?
        .ok_or_else(not_found)?;
    crate::outbox::events::record(tx.conn(), &order, event_type, now).await?;
    tx.commit().await?;
    tracing::info!(order = %order_id, status, by = %deciding.name, "order decided");
    Ok(Json(order))
}

/// Make a shopper an approver, or not.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproverRole {
    /// Whether the shopper may decide submitted orders.
    pub approver: bool,
}

/// A shopper's approver role.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApproverBody {
    /// The shopper.
    pub username: String,
    /// Whether they may decide submitted orders.
    pub approver: bool,
}

/// Give a shopper the approver role, or take it away (admin).
#[utoipa::path(put, path = "/admin/approvers/{username}", tag = "admin", security(("admin" = [])),
    params(("username" = String, Path)), request_body = ApproverRole,
    responses((status = 200, body = ApproverBody), (status = 404, description = "NOT_FOUND: no such shopper")))]
pub async fn set_approver(
    _: Admin,
    State(state): State<AppState>,
    Path(username): Path<String>,
    ApiJson(req): ApiJson<ApproverRole>,
) -> ApiResult<Json<ApproverBody>> {
    let mut tx = state.db.begin_write().await?;
    let found = db::users::set_approver(tx.conn(), &username, req.approver).await?;
    tx.commit().await?;
    if !found {
        return Err(
            Rejection::with_message(ErrorCode::NotFound, "There is no such shopper.").into(),
        );
    }
    tracing::info!(%username, approver = req.approver, "approver role changed");
    Ok(Json(ApproverBody {
        username,
        approver: req.approver,
    }))
}
