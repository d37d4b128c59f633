//! Checkout sessions over HTTP: initiation (with supersession, in one transaction),
//! reading, the changes a shopper makes to a checkout (shipping, payment, voucher,
//! removing a line) and recovery with a token. Every decision comes from the core; the
//! handlers load, ask, store.

pub mod body;
pub mod store;

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use checkout_core::{
    evaluate,
    lifecycle::plan_initiation,
    snapshot::Snapshot,
    token::{self, RecoveryClaims},
    Action, CheckInput, ErrorCode, Rejection, SessionStatus, Transition,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use self::{
    body::CheckoutBody,
    store::{Actor, SessionRow},
};
use crate::{
    admin::load_settings,
    db::WriteTx,
    error::{ApiError, ApiResult},
    extract::{ApiJson, CurrentUser, IdempotencyHeader, RequestId},
    idempotency::{self, Claimed, Scope},
    state::AppState,
};

/// The checkout routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(initiate))
        .routes(routes!(active))
        .routes(routes!(get_checkout))
        .routes(routes!(select_shipping))
        .routes(routes!(select_payment))
        .routes(routes!(apply_voucher))
        .routes(routes!(remove_item))
        .routes(routes!(recover))
}

/// The actor of a shopper's request.
pub fn actor(user: &CurrentUser, request_id: &RequestId) -> Actor {
    Actor {
        user_id: Some(user.id.clone()),
        admin: user.impersonator.clone(),
        request_id: Some(request_id.0.clone()),
    }
}

/// Loads a session the shopper owns; another shopper's session is not found.
pub async fn load_owned(
    tx: &mut WriteTx,
    user: &CurrentUser,
    id: &str,
) -> Result<SessionRow, ApiError> {
    match store::load(tx.conn(), id).await? {
        Some(row) if row.user_id == user.id => Ok(row),
        _ => Err(ErrorCode::CheckoutNotFound.into()),
    }
}

/// Ends a write whose result is final. A success commits and stores its answer under
/// the idempotency key, if any, in the same transaction. A rejection commits what the
/// checks wrote (read-time expiry) and releases the key: nothing of a refused request is
/// kept, so refused requests cannot fill the database and the same key may be retried
/// once the shopper fixed what was refused. An internal error rolls everything back, the
/// key's claim included, so a retry runs again.
pub async fn finish(
    mut tx: WriteTx,
    idem: Option<&Scope>,
    result: ApiResult<serde_json::Value>,
    ok: StatusCode,
) -> ApiResult<Response> {
    match &result {
        Ok(body) => {
            if let Some(scope) = idem {
                idempotency::complete(
                    &mut tx,
                    &scope.user_id,
                    &scope.endpoint,
                    scope.key.as_str(),
                    ok.as_u16(),
                    body,
                )
                .await?;
            }
        }
        Err(error) if error.stored_form().is_some() => {
            if let Some(scope) = idem {
                idempotency::release(&mut tx, scope).await?;
            }
        }
        Err(_) => return result.map(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
    }
    tx.commit().await?;
    result.map(|body| (ok, Json(body)).into_response())
}

fn to_json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// The body of a session with a fresh recovery token for its current generation.
fn with_token(
    state: &AppState,
    row: &SessionRow,
    user: &CurrentUser,
    now: DateTime<Utc>,
) -> CheckoutBody {
    let mut body = CheckoutBody::new(row, &user.viewer(), now);
    if let Some(key) = state.keys.first() {
        body.recovery_token = Some(token::sign(&RecoveryClaims::issue(&row.view(), now), key));
    }
    body
}

/// Start checkout ("Proceed to checkout"): snapshot the cart, supersede the shopper's
/// older checkout, all in one transaction. `PAYMENT_IN_PROGRESS` while a payment of the
/// shopper is in flight. An optional `Idempotency-Key` makes a double click one session.
#[utoipa::path(post, path = "/checkouts", tag = "checkout",
    params(("Idempotency-Key" = Option<String>, Header, description = "optional; a retry with the same key returns the same session")),
    responses((status = 201, body = CheckoutBody), (status = 409, description = "PAYMENT_IN_PROGRESS"), (status = 422, description = "CART_EMPTY"),
        (status = 429, description = "RATE_LIMITED: too many checkouts started in a minute (Retry-After)")))]
pub async fn initiate(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    IdempotencyHeader(key): IdempotencyHeader,
) -> ApiResult<Response> {
    let now = state.clock.now();
    let scope = key
        .map(|k| checkout_core::idempotency::IdempotencyKey::parse(Some(&k)))
        .transpose()?
        .map(|k| Scope::new(&user.id, "POST /api/v1/checkouts".into(), k, &json!({})));
    let mut tx = state.db.begin_write().await?;
    tx.lock_user(&user.id).await?;
    if let Some(scope) = &scope {
        let max_keys = state.tuning.idempotency_keys_per_shopper;
        if let Claimed::Replay { status, body } =
            idempotency::claim(&mut tx, scope, now, max_keys).await?
        {
            return Ok(idempotency::replay(status, &body));
        }
    }
    // Counted under the shopper's lock and the throttle's (parallel requests cannot all
    // pass the check first); a request that starts no checkout takes its count back.
    state.guards.initiations.hit(&user.id, now)?;
    let result = initiate_in(&state, &mut tx, &user, &request_id, now).await;
    if result.is_err() {
        state.guards.initiations.uncount(&user.id);
    }
    finish(tx, scope.as_ref(), result, StatusCode::CREATED).await
}

async fn initiate_in(
    state: &AppState,
    tx: &mut WriteTx,
    user: &CurrentUser,
    request_id: &RequestId,
    now: DateTime<Utc>,
) -> ApiResult<serde_json::Value> {
    let settings = load_settings(tx.conn()).await?;
    let cart: Vec<(String, u32)> = crate::db::query(
        "SELECT sku, quantity FROM cart_items WHERE user_id = $1 ORDER BY added_at, sku",
    )
    .bind(&user.id)
    .fetch_all(tx.conn())
    .await?
    .iter()
    .map(|r| {
        Ok((
            r.try_get::<String>("sku")?,
            u32::try_from(r.try_get::<i64>("quantity")?).unwrap_or(0),
        ))
    })
    .collect::<Result<_, crate::db::DbError>>()?;
    let input = state.catalog.pricing_input(&cart)?;
    let snapshot = Snapshot::capture(&input)?;

    let live = store::live_for_user(tx.conn(), &user.id).await?;
    let plan = plan_initiation(&live, settings.enabled, now)?;
    let actor = actor(user, request_id);
    for (id, step) in plan {
        let from = live
            .iter()
            .find(|s| s.id == id)
            .map_or(SessionStatus::Active, |s| s.status);
        store::transition(tx.conn(), &id, from, step, &actor, now).await?;
    }

    let terms = settings.terms_at(now);
    let (seq, number) = store::allocate_number(tx.conn(), now).await?;
    // The new row is known in full: insert it and answer from it, no read-back.
    let row = SessionRow {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: user.id.clone(),
        seq,
        number,
        status: SessionStatus::Active,
        managed: terms.managed,
        started_at: now,
        expires_at: terms.expires_at,
        generation: 0,
        pricing_input_json: serde_json::to_string(&input).unwrap_or_default(),
        snapshot,
        started_by_admin: user.impersonator.clone(),
        payment_key: None,
        payment_idem_key: None,
        payment_started_at: None,
        is_latest: true,
        order_id: None,
    };
    store::insert(tx.conn(), &row, &actor).await?;
    crate::metrics::initiation();
    Ok(to_json(&with_token(state, &row, user, now)))
}

/// The shopper's live checkout (`ACTIVE` or `PAYMENT_PENDING`), or `CHECKOUT_NOT_FOUND`.
#[utoipa::path(get, path = "/checkouts/active", tag = "checkout",
    responses((status = 200, body = CheckoutBody), (status = 404, description = "CHECKOUT_NOT_FOUND")))]
pub async fn active(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<Json<CheckoutBody>> {
    let now = state.clock.now();
    match store::latest_for_user(&state.db, &user.id).await? {
        Some(row) if row.effective(now).is_live() => {
            Ok(Json(CheckoutBody::new(&row, &user.viewer(), now)))
        }
        _ => Err(Rejection::with_message(
            ErrorCode::CheckoutNotFound,
            "You have no checkout in progress. Your cart is kept.",
        )
        .into()),
    }
}

/// A checkout and its current status (expiry decided now).
#[utoipa::path(get, path = "/checkouts/{id}", tag = "checkout",
    params(("id" = String, Path)),
    responses((status = 200, body = CheckoutBody), (status = 404, description = "CHECKOUT_NOT_FOUND")))]
pub async fn get_checkout(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<CheckoutBody>> {
    let now = state.clock.now();
    match store::load(&state.db, &id).await? {
        Some(row) if row.user_id == user.id => {
            Ok(Json(CheckoutBody::new(&row, &user.viewer(), now)))
        }
        _ => Err(ErrorCode::CheckoutNotFound.into()),
    }
}

/// A change the shopper makes to a checkout.
#[derive(Debug, Clone)]
enum Change {
    Shipping(String),
    Payment(String),
    Voucher(String),
    RemoveLine(String),
}

impl Change {
    fn action(&self) -> Action {
        match self {
            Change::Shipping(_) => Action::SelectShipping,
            Change::Payment(_) => Action::SelectPayment,
            Change::Voucher(_) => Action::ApplyVoucher,
            Change::RemoveLine(_) => Action::RemoveItem,
        }
    }
}

async fn modify(
    state: &AppState,
    user: &CurrentUser,
    request_id: &RequestId,
    id: &str,
    change: Change,
    digest: Option<String>,
) -> ApiResult<Response> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    tx.lock_user(&user.id).await?;
    let result = modify_in(state, &mut tx, user, request_id, id, change, digest, now).await;
    finish(tx, None, result, StatusCode::OK).await
}

#[allow(clippy::too_many_arguments)]
async fn modify_in(
    state: &AppState,
    tx: &mut WriteTx,
    user: &CurrentUser,
    request_id: &RequestId,
    id: &str,
    change: Change,
    digest: Option<String>,
    now: DateTime<Utc>,
) -> ApiResult<serde_json::Value> {
    let row = load_owned(tx, user, id).await?;
    let actor = actor(user, request_id);
    let verdict = evaluate(&CheckInput {
        session: Some(row.view()),
        viewer: user.viewer(),
        action: change.action(),
        digest,
        now,
    });
    if let Some(rejection) = verdict.rejection {
        store::persist_expiry(tx.conn(), &row, &actor, now).await?;
        return Err(rejection.into());
    }
    let mut input = row.pricing_input()?;
    let what = match change {
        Change::Shipping(method) => {
            input.shipping_method = Some(state.catalog.shipping(&method)?);
            "SelectShipping"
        }
        Change::Payment(method) => {
            input.payment_method = Some(state.catalog.payment(&method)?);
            "SelectPayment"
        }
        Change::Voucher(code) => {
            let voucher = state.catalog.voucher(&code)?;
            if input.vouchers.iter().any(|v| v.code == voucher.code) {
                return Err(Rejection::with_message(
                    ErrorCode::ValidationFailed,
                    format!("voucher {} is already applied", voucher.code),
                )
                .into());
            }
            input.vouchers.push(voucher);
            "ApplyVoucher"
        }
        Change::RemoveLine(sku) => {
            if !input.lines.iter().any(|l| l.sku == sku) {
                return Err(Rejection::with_message(
                    ErrorCode::ValidationFailed,
                    format!("{sku} is not in this checkout"),
                )
                .into());
            }
            input.lines.retain(|l| l.sku != sku);
            // The summary and the cart stay in step (the spec's known limitation 3).
            crate::db::query("DELETE FROM cart_items WHERE user_id = $1 AND sku = $2")
                .bind(&user.id)
                .bind(&sku)
                .execute(tx.conn())
                .await?;
            if input.lines.is_empty() {
                store::transition(
                    tx.conn(),
                    &row.id,
                    row.status,
                    Transition::Empty,
                    &actor,
                    now,
                )
                .await?;
                let row = load_owned(tx, user, id).await?;
                return Ok(to_json(&CheckoutBody::new(&row, &user.viewer(), now)));
            }
            "RemoveLine"
        }
    };
    let snapshot = Snapshot::capture(&input)?;
    store::replace_snapshot(tx.conn(), &row, &input, &snapshot, what, &actor, now).await?;
    let row = load_owned(tx, user, id).await?;
    Ok(to_json(&CheckoutBody::new(&row, &user.viewer(), now)))
}

/// Choose a shipping or payment method.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MethodRequest {
    /// The method id from `GET /products`.
    #[schema(schema_with = crate::api_doc::fields::method_id)]
    pub method_id: String,
    /// The digest of the summary the shopper saw (optional; checked when sent).
    #[serde(default)]
    pub snapshot_digest: Option<String>,
}

/// Apply a voucher.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoucherRequest {
    /// The code, case-insensitive.
    #[schema(schema_with = crate::api_doc::fields::voucher_code)]
    pub code: String,
    /// The digest of the summary the shopper saw (optional; checked when sent).
    #[serde(default)]
    pub snapshot_digest: Option<String>,
}

/// Optional digest for a line removal.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DigestQuery {
    /// The digest of the summary the shopper saw.
    pub snapshot_digest: Option<String>,
}

/// Choose the shipping method (re-snapshots: the digest changes).
#[utoipa::path(put, path = "/checkouts/{id}/shipping-method", tag = "checkout",
    params(("id" = String, Path)), request_body = MethodRequest,
    responses((status = 200, body = CheckoutBody)))]
pub async fn select_shipping(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<MethodRequest>,
) -> ApiResult<Response> {
    modify(
        &state,
        &user,
        &request_id,
        &id,
        Change::Shipping(req.method_id),
        req.snapshot_digest,
    )
    .await
}

/// Choose the payment method (re-snapshots: the digest changes).
#[utoipa::path(put, path = "/checkouts/{id}/payment-method", tag = "checkout",
    params(("id" = String, Path)), request_body = MethodRequest,
    responses((status = 200, body = CheckoutBody)))]
pub async fn select_payment(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<MethodRequest>,
) -> ApiResult<Response> {
    modify(
        &state,
        &user,
        &request_id,
        &id,
        Change::Payment(req.method_id),
        req.snapshot_digest,
    )
    .await
}

/// Apply a voucher code (re-snapshots: the digest changes).
#[utoipa::path(post, path = "/checkouts/{id}/vouchers", tag = "checkout",
    params(("id" = String, Path)), request_body = VoucherRequest,
    responses((status = 200, body = CheckoutBody)))]
pub async fn apply_voucher(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<VoucherRequest>,
) -> ApiResult<Response> {
    modify(
        &state,
        &user,
        &request_id,
        &id,
        Change::Voucher(req.code),
        req.snapshot_digest,
    )
    .await
}

/// Remove a line from the order summary, and from the cart. The last line ends the
/// checkout as `INACTIVE/EMPTIED`.
#[utoipa::path(delete, path = "/checkouts/{id}/items/{sku}", tag = "checkout",
    params(("id" = String, Path), ("sku" = String, Path), DigestQuery),
    responses((status = 200, body = CheckoutBody)))]
pub async fn remove_item(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    Path((id, sku)): Path<(String, String)>,
    Query(query): Query<DigestQuery>,
) -> ApiResult<Response> {
    modify(
        &state,
        &user,
        &request_id,
        &id,
        Change::RemoveLine(sku),
        query.snapshot_digest,
    )
    .await
}

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
    finish(tx, None, result, StatusCode::OK).await
}

async fn recover_in(
    state: &AppState,
    tx: &mut WriteTx,
    user: &CurrentUser,
    request_id: &RequestId,
    claims: &RecoveryClaims,
    now: DateTime<Utc>,
) -> ApiResult<serde_json::Value> {
    let row = store::load(tx.conn(), &claims.sid).await?;
    let actor = actor(user, request_id);
    if let Err(rejection) = token::check_binding(
        claims,
        row.as_ref().map(SessionRow::view).as_ref(),
        &user.viewer(),
        now,
    ) {
        if let Some(row) = &row {
            if row.user_id == user.id {
                store::persist_expiry(tx.conn(), row, &actor, now).await?;
            }
        }
        return Err(rejection.into());
    }
    let row = row.ok_or(ApiError::Rejected(Rejection::new(
        ErrorCode::CheckoutNotFound,
    )))?;
    let rotated = crate::db::query(
        "UPDATE checkout_sessions SET generation = generation + 1, updated_at = $3 WHERE id = $1 AND generation = $2",
    )
    .bind(&row.id)
    .bind(i64::from(claims.gen))
    .bind(crate::clock::to_ms(now))
    .execute(tx.conn())
    .await?;
    if rotated != 1 {
        return Err(ErrorCode::TokenReplayed.into());
    }
    store::record_event(
        tx.conn(),
        &row.id,
        Some(row.status),
        row.status,
        "Recover",
        &actor,
        now,
    )
    .await?;
    let row = load_owned(tx, user, &row.id).await?;
    Ok(to_json(&with_token(state, &row, user, now)))
}
