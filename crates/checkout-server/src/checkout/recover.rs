//! Resuming an interrupted checkout with its recovery token (CONTRACT §8): the token is
//! verified and bound by the core (`token::verify`, `token::check_binding`); redeeming it
//! moves the session's generation on, so each token works once.

use axum::{extract::State, http::StatusCode, response::Response};
use checkout_core::{
    token::{self, RecoveryClaims},
    Change, ErrorCode, Event, Rejection,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    actor, answer_and_commit, body::CheckoutBody, load_owned, persist_expiry, to_json, with_token,
};
use crate::{
    db::{self, sessions::SessionRow, WriteTx},
    http::error::{ApiError, ApiResult},
    http::extract::{ApiJson, CurrentUser, RequestId},
    state::AppState,
};

/// Resume an interrupted checkout.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverRequest {
    /// The recovery token from initiation or the last recovery.
    pub token: String,
}

/// Resume an interrupted checkout with its recovery token. Tokens are single use: the
/// answer carries the next one.
#[utoipa::path(post, path = "/checkouts/recover", tag = "checkout", request_body = RecoverRequest,
    responses((status = 200, body = CheckoutBody), (status = 401, description = "TOKEN_INVALID, TOKEN_EXPIRED"),
        (status = 409, description = "TOKEN_REPLAYED")))]
pub async fn recover(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    ApiJson(req): ApiJson<RecoverRequest>,
) -> ApiResult<Response> {
    let now = state.clock.now();
    let claims = token::verify(&req.token, &state.keys, now)?;
    let mut tx = state.db.begin_write().await?;
    tx.lock_user(&user.id).await?;
    let result = recover_in(&state, &mut tx, &user, &request_id, &claims, now).await;
    answer_and_commit(tx, None, result, StatusCode::OK).await
}

async fn recover_in(
    state: &AppState,
    tx: &mut WriteTx,
    user: &CurrentUser,
    request_id: &RequestId,
    claims: &RecoveryClaims,
    now: DateTime<Utc>,
) -> ApiResult<serde_json::Value> {
    let row = db::sessions::load(tx.conn(), &claims.sid).await?;
    let actor = actor(user, request_id);
    if let Err(rejection) = token::check_binding(
        claims,
        row.as_ref().map(SessionRow::view).as_ref(),
        &user.viewer(),
        now,
    ) {
        if let Some(row) = &row {
            if row.user_id == user.id {
                persist_expiry(tx.conn(), row, &actor, now).await?;
            }
        }
        return Err(rejection.into());
    }
    let row = row.ok_or(ApiError::Rejected(Rejection::new(
        ErrorCode::CheckoutNotFound,
    )))?;
    if !db::sessions::next_generation(tx.conn(), &row.id, claims.gen, now).await? {
        return Err(ErrorCode::TokenReplayed.into());
    }
    let event = Event::Changed(Change::Recover);
    db::events::record_event(
        tx.conn(),
        &row.id,
        Some(row.status),
        row.status,
        event,
        &actor,
        now,
    )
    .await?;
    let row = load_owned(tx, user, &row.id, now).await?;
    Ok(to_json(&with_token(state, &row, user, now)))
}
