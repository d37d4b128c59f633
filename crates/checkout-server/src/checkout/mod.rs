//! Checkout sessions over HTTP: initiation (with supersession, in one transaction),
//! reading, the changes a shopper makes to a checkout (shipping, payment, voucher,
//! removing a line) and recovery with a token. Every decision comes from the core; the
//! handlers load, ask, store.

pub mod body;
pub mod cart;
mod change;
mod recover;
mod restore;
mod start;

pub use self::start::{start, Fresh, Starter};

/// The request bodies of the checkout routes (public for the fuzz targets).
pub use self::{
    change::{MethodRequest, VoucherRequest},
    recover::RecoverRequest,
    restore::RestoreRequest,
};

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use checkout_core::{
    snapshot::Snapshot,
    token::{self, RecoveryClaims},
    verdict::extends_login,
    ErrorCode, Event, Rejection, SessionStatus, Transition,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use utoipa_axum::{router::OpenApiRouter, routes};

use self::body::CheckoutBody;
use crate::{
    db::{self, events::Actor, sessions::SessionRow, Conn, WriteTx},
    http::error::{ApiError, ApiResult},
    http::extract::{CurrentUser, IdempotencyHeader, RequestId},
    http::idempotency::{self, Claimed, Scope},
    state::AppState,
};

/// The checkout routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(initiate))
        .routes(routes!(active))
        .routes(routes!(get_checkout))
        .routes(routes!(change::select_shipping))
        .routes(routes!(change::select_payment))
        .routes(routes!(change::apply_voucher))
        .routes(routes!(change::remove_item))
        .routes(routes!(change::set_shipping_address))
        .routes(routes!(change::set_billing_address))
        .routes(routes!(recover::recover))
        .routes(routes!(restore::recoverable))
        .routes(routes!(restore::restore))
}

/// The actor of a shopper's request.
pub fn actor(user: &CurrentUser, request_id: &RequestId) -> Actor {
    Actor {
        user_id: Some(user.id.clone()),
        admin: user.impersonator.clone(),
        request_id: Some(request_id.0.clone()),
    }
}

/// Loads a session the shopper owns; another shopper's session is not found. A newer
/// login acting on it extends it (CONTRACT §19), in the same transaction.
pub async fn load_owned(
    tx: &mut WriteTx,
    user: &CurrentUser,
    id: &str,
    now: DateTime<Utc>,
) -> Result<SessionRow, ApiError> {
    match db::sessions::load(tx.conn(), id).await? {
        Some(mut row) if row.user_id == user.id => {
            extend_login(tx.conn(), &mut row, user, now).await?;
            Ok(row)
        }
        _ => Err(ErrorCode::CheckoutNotFound.into()),
    }
}

/// Remembers the shopper's login on the checkout when the core says it extends it.
pub async fn extend_login(
    conn: impl Into<Conn<'_>>,
    row: &mut SessionRow,
    user: &CurrentUser,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if extends_login(&row.view(), user.login_expires_at, now)
        && db::session_logins::extend_login(
            conn,
            &row.id,
            user.login_expires_at,
            user.sid.as_deref(),
            now,
        )
        .await?
    {
        row.login_expires_at = Some(user.login_expires_at);
        row.login_sid.clone_from(&user.sid);
    }
    Ok(())
}

/// Ends a write whose result is final. A success commits and stores its answer under
/// the idempotency key, if any, in the same transaction. A rejection commits what the
/// checks wrote (read-time expiry) and releases the key: nothing of a refused request is
/// kept, so refused requests cannot fill the database and the same key may be retried
/// once the shopper fixed what was refused. An internal error rolls everything back, the
/// key's claim included, so a retry runs again.
pub async fn answer_and_commit(
    mut tx: WriteTx,
    idem: Option<&Scope>,
    result: ApiResult<serde_json::Value>,
    ok: StatusCode,
) -> ApiResult<Response> {
    match &result {
        Ok(body) => {
            if let Some(scope) = idem {
                idempotency::complete(&mut tx, scope.key_ref(), ok.as_u16(), body).await?;
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

/// Applies a named transition: the core decides whether it is legal, then the session
/// moves by compare-and-set on the stored state, with its event. A compare-and-set that
/// misses under the shopper's lock is a bug, never a shopper's mistake.
pub async fn transition(
    conn: impl Into<Conn<'_>>,
    session_id: &str,
    from: SessionStatus,
    step: Transition,
    actor: &Actor,
    now: DateTime<Utc>,
) -> ApiResult<SessionStatus> {
    let to = from.apply(step)?;
    if !db::sessions::set_status(conn, session_id, from, to, Event::Moved(step), actor, now).await?
    {
        return Err(changed_under_lock(session_id));
    }
    crate::ops::metrics::transition(step);
    Ok(to)
}

/// The error of a compare-and-set that found the session in another state although the
/// shopper's lock was held.
pub fn changed_under_lock(session_id: &str) -> ApiError {
    ApiError::Internal(format!(
        "session {session_id} changed under a locked transaction"
    ))
}

/// A refusal of the core's checks, with what changed when it is `SNAPSHOT_MISMATCH`
/// and the shopper's summary is one the checkout had: the core compares it with the
/// current one (CONTRACT §16).
pub async fn explained(
    conn: impl Into<Conn<'_>>,
    row: &SessionRow,
    digest: Option<&str>,
    mut rejection: Rejection,
) -> ApiResult<Rejection> {
    let Some(digest) = digest.filter(|_| rejection.code == ErrorCode::SnapshotMismatch) else {
        return Ok(rejection);
    };
    let mut conn = conn.into();
    let mut confirmed = db::restore::confirmed_snapshot(&mut conn, &row.id, digest).await?;
    // A tab still showing the checkout this one restored: compare with that summary.
    if let (None, Some(from)) = (&confirmed, &row.restored_from) {
        confirmed = match db::sessions::load(&mut conn, from).await? {
            Some(old) if old.snapshot.digest == digest => Some(old.snapshot),
            Some(_) => db::restore::confirmed_snapshot(&mut conn, from, digest).await?,
            None => None,
        };
    }
    if let Some(confirmed) = confirmed {
        rejection.changes =
            checkout_core::changes::between(&confirmed, &row.snapshot).into_boxed_slice();
    }
    Ok(rejection)
}

/// Persists a read-time end: if the session is stored `ACTIVE` but its window closed
/// (`EXPIRED`) or its login ended (`INACTIVE/LOGIN_EXPIRED`), store that (with its
/// event). Returns whether it did.
pub async fn persist_expiry(
    conn: impl Into<Conn<'_>>,
    row: &SessionRow,
    actor: &Actor,
    now: DateTime<Utc>,
) -> ApiResult<bool> {
    match row.view().read_time_end(now) {
        Some(step) => {
            transition(conn, &row.id, row.status, step, actor, now).await?;
            Ok(true)
        }
        None => Ok(false),
    }
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
    answer_and_commit(tx, scope.as_ref(), result, StatusCode::CREATED).await
}

async fn initiate_in(
    state: &AppState,
    tx: &mut WriteTx,
    user: &CurrentUser,
    request_id: &RequestId,
    now: DateTime<Utc>,
) -> ApiResult<serde_json::Value> {
    let cart = db::carts::lines(tx.conn(), &user.id).await?;
    let input = state
        .catalog_now(tx.conn())
        .await?
        .offer
        .pricing_input(&cart)?;
    let snapshot = Snapshot::capture(&input)?;
    // A line above what one order may hold today was captured at the limit: the cart
    // says the same, so the cart, the checkout and what an order leaves agree.
    for line in &input.lines {
        if cart
            .iter()
            .any(|(sku, q)| *sku == line.sku && *q > line.quantity)
        {
            db::carts::put(tx.conn(), &user.id, &line.sku, line.quantity, now).await?;
        }
    }
    let fresh = Fresh {
        input,
        snapshot,
        restored_from: None,
        changes: Vec::new(),
        metadata: None,
    };
    let row = start(tx, &Starter::shopper(user, request_id), fresh, now).await?;
    crate::ops::metrics::initiation();
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
    match db::sessions::latest_for_user(&state.db, &user.id).await? {
        Some(mut row) if row.effective(now).is_live() => {
            extend_on_read(&state, &mut row, &user, now).await?;
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
    match db::sessions::load(&state.db, &id).await? {
        Some(mut row) if row.user_id == user.id => {
            extend_on_read(&state, &mut row, &user, now).await?;
            Ok(Json(CheckoutBody::new(&row, &user.viewer(), now)))
        }
        _ => Err(ErrorCode::CheckoutNotFound.into()),
    }
}

/// A read by the owner with a newer login extends the checkout too: a shopper whose
/// short-lived token is refreshed while they only look keeps their checkout. It writes
/// only when the login is newer than the one remembered (once per token, not per read).
async fn extend_on_read(
    state: &AppState,
    row: &mut SessionRow,
    user: &CurrentUser,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    if !extends_login(&row.view(), user.login_expires_at, now) {
        return Ok(());
    }
    let mut tx = state.db.begin_write().await?;
    extend_login(tx.conn(), row, user, now).await?;
    tx.commit().await?;
    Ok(())
}
