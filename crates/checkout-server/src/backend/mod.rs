//! Checkouts from the shop's own priced cart (CONTRACT §24), server to server, as shops
//! use Stripe Checkout: the shop's backend sends its customer, its priced lines and its
//! methods with a backend key; the core checks and prices them
//! (`checkout_core::priced_cart`), and the checkout starts exactly as a shopper's would
//! — supersession, `PAYMENT_IN_PROGRESS`, the throttle, the number, the timeout — for
//! the customer, who opens `url` signed in as themselves.

use axum::{
    extract::{Path, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use checkout_core::{
    idempotency::IdempotencyKey,
    priced_cart::PricedCart,
    snapshot::Snapshot,
    token::{self, RecoveryClaims},
    ErrorCode, Viewer,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

mod customers;
pub mod known;
mod schema;

use self::customers::customer;

use crate::{
    checkout::{
        body::{CheckoutBody, OrderBody},
        start, Fresh, Starter,
    },
    db::{self, events::Actor, sessions::SessionRow},
    http::error::ApiResult,
    http::extract::{ApiJson, Backend, IdempotencyHeader, RequestId},
    http::idempotency::{self, Scope},
    state::AppState,
};

/// The route a priced cart is sent to.
pub const CREATE_PATH: &str = "/api/v1/backend/checkouts";

/// Largest priced cart read: 500 lines with long names fit; 10,000 short lines are read
/// and refused by count (422), a 5 MB body is refused unread (413).
pub const MAX_PRICED_CART_BYTES: usize = 1024 * 1024;

/// The scope of the backend's `Idempotency-Key`s: one for the shop's whole backend (a
/// key reused for another customer is `IDEMPOTENCY_KEY_REUSED` too), never a shopper's.
const BACKEND_SCOPE: &str = "~backend";

/// The backend routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(read))
        .routes(routes!(cancel))
}

/// A checkout as the shop's backend sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackendCheckoutBody {
    /// The session (its `metadata` is the shop's; `offer`, the shop's methods).
    #[serde(flatten)]
    pub checkout: CheckoutBody,
    /// The storefront page for the shopper: redirect them here. Absolute under
    /// `--public-url`, else the page's path.
    pub url: String,
    /// The shop's customer it is for: their id (a token's `sub`, or the account's
    /// username) and e-mail.
    pub customer: BackendCustomer,
    /// The order, once the shopper ordered (read only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<OrderBody>,
}

/// The shop's customer of a checkout.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackendCustomer {
    /// The shop's id of the customer.
    pub id: Option<String>,
    /// Their e-mail, when known.
    pub email: Option<String>,
}

/// The customer of `row` as the shop knows them.
async fn customer_of(state: &AppState, row: &SessionRow) -> ApiResult<BackendCustomer> {
    let known = db::orders::customer(&state.db, &row.user_id).await?;
    let id = match known.external_id {
        Some(id) => Some(id),
        None => db::users::username(&state.db, &row.user_id).await?,
    };
    Ok(BackendCustomer {
        id,
        email: known.email,
    })
}

/// `CHECKOUT_NOT_FOUND` in the backend's words.
fn not_found() -> crate::http::error::ApiError {
    checkout_core::Rejection::with_message(
        ErrorCode::CheckoutNotFound,
        "No checkout made by the shop's backend has this id.",
    )
    .into()
}

fn url(state: &AppState, id: &str) -> String {
    format!(
        "{}/checkout/?id={id}",
        state.public_url.as_deref().unwrap_or("")
    )
}

/// Make a checkout from the shop's priced cart. The totals are the core's, from these
/// prices and rates with the rounding of CONTRACT §17. Every rule of a checkout holds:
/// one live checkout per customer (a new one supersedes; `PAYMENT_IN_PROGRESS` while the
/// customer pays another), the timeout, the snapshot, the checks before order actions.
#[utoipa::path(post, path = "/backend/checkouts", tag = "backend", security(("backend" = [])),
    params(("Idempotency-Key" = String, Header, description = "required; a retry with the same key and body returns the same checkout")),
    request_body(content = schema::PricedCartRequest, description = "The priced cart (CONTRACT §24).", example = json!({
        "customer": {"id": "schemathesis", "email": "reader@example.org"},
        "currency": "EUR", "prices_include_tax": true,
        "lines": [{"sku": "BK-1", "name": "Der Zauberberg", "quantity": 2, "unit_price": 1999, "tax_rate_bps": 700}],
        "shipping_methods": [{"id": "dhl", "name": "DHL Paket", "price": 499, "tax_rate_bps": 1900}],
        "payment_methods": [{"id": "card", "name": "Card"}, {"id": "invoice", "name": "Invoice"}],
        "metadata": {"cart_id": "c-981"}})),
    responses((status = 201, body = BackendCheckoutBody),
        (status = 401, description = "UNAUTHENTICATED: no backend key, or not one of --backend-api-key"),
        (status = 409, description = "PAYMENT_IN_PROGRESS"),
        (status = 400, description = "IDEMPOTENCY_KEY_REQUIRED, MALFORMED_REQUEST"),
        (status = 422, description = "VALIDATION_FAILED with `errors` by JSON Pointer; IDEMPOTENCY_KEY_REUSED")))]
pub async fn create(
    State(state): State<AppState>,
    _: Backend,
    request_id: RequestId,
    IdempotencyHeader(key): IdempotencyHeader,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Response> {
    let now = state.clock.now();
    let key = IdempotencyKey::parse(key.as_deref())?;
    let cart = PricedCart::parse(&body)?;
    let input = cart.pricing_input();
    let snapshot = Snapshot::capture(&input)?;
    let metadata = serde_json::to_string(&cart.metadata).unwrap_or_else(|_| "{}".into());
    let user_id = customer(&state, &cart.customer, now).await?;
    let scope = Scope::new(BACKEND_SCOPE, format!("POST {CREATE_PATH}"), key, &body);

    let mut tx = state.db.begin_write().await?;
    tx.lock_user(&user_id).await?;
    // A retry of a checkout made already is answered even when the customer's throttle
    // is spent (the key is looked up only when something refuses).
    if let Err(throttled) = state.guards.initiations.hit(&user_id, now) {
        drop(tx);
        return stored_or(&state, &scope, now, throttled).await;
    }
    let starter = Starter {
        user_id: user_id.clone(),
        login: None,
        impersonator: None,
        actor: Actor {
            user_id: None,
            admin: None,
            request_id: Some(request_id.0),
        },
    };
    let fresh = Fresh {
        input,
        snapshot,
        restored_from: None,
        changes: Vec::new(),
        metadata: Some(metadata),
    };
    // The backend's key is stored once, with the answer, in the transaction of the
    // checkout (one statement; its keys are not capped as a shopper's are: it speaks for
    // every customer). A key already stored — a retry, or the same key at once on
    // another instance — rolls this attempt back and answers from what is stored.
    let row = match start(&mut tx, &starter, fresh, now).await {
        Ok(row) => row,
        Err(error) => {
            state.guards.initiations.uncount(&user_id);
            drop(tx);
            return stored_or(&state, &scope, now, error).await;
        }
    };
    let mut checkout = body_of(&row, now);
    if let Some(key) = state.keys.first() {
        checkout.recovery_token = Some(token::sign(&RecoveryClaims::issue(&row.view(), now), key));
    }
    let answer = BackendCheckoutBody {
        url: url(&state, &row.id),
        customer: BackendCustomer {
            id: Some(cart.customer.id.clone()),
            email: cart.customer.email.clone(),
        },
        checkout,
        order: None,
    };
    // Written once: the stored answer and the response are the same text.
    let text = serde_json::to_string(&answer)
        .map_err(|e| crate::http::error::ApiError::Internal(e.to_string()))?;
    let stored = db::idempotency::insert_completed(
        tx.conn(),
        scope.key_ref(),
        &scope.fingerprint,
        now,
        StatusCode::CREATED.as_u16(),
        &text,
    )
    .await?;
    if !stored {
        state.guards.initiations.uncount(&user_id);
        drop(tx);
        return stored_or(&state, &scope, now, ErrorCode::RequestInProgress.into()).await;
    }
    tx.commit().await?;
    crate::ops::metrics::initiation();
    let response = (
        StatusCode::CREATED,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        text,
    )
        .into_response();
    Ok(located(response, Some(&row.id)))
}

/// The answer stored under the backend's key, replayed (the same body) or refused
/// (another body: `IDEMPOTENCY_KEY_REUSED`), as the core decides; `otherwise` when the
/// key is not stored.
async fn stored_or(
    state: &AppState,
    scope: &Scope,
    now: DateTime<Utc>,
    otherwise: crate::http::error::ApiError,
) -> ApiResult<Response> {
    let Some(found) = db::idempotency::find(&state.db, scope.key_ref()).await? else {
        return Err(otherwise);
    };
    idempotency::decided(&found, &scope.fingerprint, now)?;
    match found.answer {
        Some((status, body)) => {
            let id = body["id"].as_str().map(str::to_owned);
            Ok(located(idempotency::replay(status, &body), id.as_deref()))
        }
        None => Err(otherwise),
    }
}

/// A created checkout's answer with its `Location` (on its replays too).
fn located(mut response: Response, id: Option<&str>) -> Response {
    let value = id
        .filter(|_| response.status() == StatusCode::CREATED)
        .and_then(|id| HeaderValue::from_str(&format!("{CREATE_PATH}/{id}")).ok());
    if let Some(value) = value {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A checkout the shop's backend made, with its status now and, once ordered, its
/// order. Checkouts of our own cart are not the backend's (`CHECKOUT_NOT_FOUND`).
#[utoipa::path(get, path = "/backend/checkouts/{id}", tag = "backend", security(("backend" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = BackendCheckoutBody),
        (status = 401, description = "UNAUTHENTICATED"),
        (status = 404, description = "CHECKOUT_NOT_FOUND")))]
pub async fn read(
    State(state): State<AppState>,
    _: Backend,
    Path(id): Path<String>,
) -> ApiResult<Json<BackendCheckoutBody>> {
    let now = state.clock.now();
    let row = db::sessions::load(&state.db, &id)
        .await?
        .filter(SessionRow::made_by_shop)
        .ok_or_else(not_found)?;
    Ok(Json(read_body(&state, &row, now).await?))
}

/// The backend's view of `row` now, with its customer and order.
async fn read_body(
    state: &AppState,
    row: &SessionRow,
    now: DateTime<Utc>,
) -> ApiResult<BackendCheckoutBody> {
    let order = match &row.order_id {
        Some(order_id) => db::orders::find(&state.db, order_id, &row.user_id).await?,
        None => None,
    };
    Ok(BackendCheckoutBody {
        url: url(state, &row.id),
        customer: customer_of(state, row).await?,
        checkout: body_of(row, now),
        order,
    })
}

/// End a checkout the shop's backend made before its customer orders it (the shop's
/// cart changed, or the shopper left): `INACTIVE/CANCELLED` at once, on every instance.
/// A cancelled checkout has no recovery link. One the customer is paying is
/// `PAYMENT_IN_PROGRESS`; one that ended already answers the code of how it ended.
#[utoipa::path(post, path = "/backend/checkouts/{id}/cancel", tag = "backend", security(("backend" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = BackendCheckoutBody),
        (status = 401, description = "UNAUTHENTICATED"),
        (status = 404, description = "CHECKOUT_NOT_FOUND"),
        (status = 409, description = "PAYMENT_IN_PROGRESS, CHECKOUT_COMPLETED, CHECKOUT_INACTIVE, CHECKOUT_SUPERSEDED"),
        (status = 410, description = "CHECKOUT_EXPIRED")))]
pub async fn cancel(
    State(state): State<AppState>,
    _: Backend,
    request_id: RequestId,
    Path(id): Path<String>,
) -> ApiResult<Json<BackendCheckoutBody>> {
    let now = state.clock.now();
    let Some(owner) = db::sessions::owner(&state.db, &id).await? else {
        return Err(not_found());
    };
    let mut tx = state.db.begin_write().await?;
    tx.lock_user(&owner).await?;
    let row = db::sessions::load(tx.conn(), &id)
        .await?
        .filter(SessionRow::made_by_shop)
        .ok_or_else(not_found)?;
    let actor = Actor {
        user_id: None,
        admin: None,
        request_id: Some(request_id.0),
    };
    // An end the clocks decided is stored first, and is the answer.
    if crate::checkout::persist_expiry(tx.conn(), &row, &actor, now).await? {
        tx.commit().await?;
        return Err(row.effective(now).blocking().map_or_else(
            || ErrorCode::CheckoutInactive.into(),
            crate::http::error::ApiError::from,
        ));
    }
    crate::checkout::transition(
        tx.conn(),
        &row.id,
        row.status,
        checkout_core::Transition::Cancel,
        &actor,
        now,
    )
    .await?;
    tx.commit().await?;
    let row = db::sessions::load(&state.db, &id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(read_body(&state, &row, now).await?))
}

/// The session as its customer sees it (their verdict).
fn body_of(row: &SessionRow, now: DateTime<Utc>) -> CheckoutBody {
    let viewer = Viewer {
        user_id: Some(row.user_id.clone()),
        acting_admin: None,
    };
    CheckoutBody::new(row, &viewer, now)
}
