//! Admin routes (bearer token): the "Checkout Session Settings" group, the `Checkout`
//! order class, impersonation of a shopper, a session's event history, and the test
//! clock (only with `--test-clock`; otherwise the route does not exist).

use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use checkout_core::{
    numbering::{OrderClass, OrderClassUpdate},
    settings::{CheckoutSettings, SettingsUpdate},
    ErrorCode, Rejection,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::{create_login, Me},
    db::{self, events::EventBody},
    http::error::{ApiError, ApiResult},
    http::extract::{Admin, ApiJson},
    state::AppState,
};

/// The admin routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(get_order_class, put_order_class))
        .routes(routes!(impersonate))
        .routes(routes!(events))
        .routes(routes!(advance_test_clock))
}

/// The "Checkout Session Settings" group.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SettingsBody {
    /// Group name.
    pub group: String,
    /// "Enable Checkout Session Management".
    pub enabled: bool,
    /// "Checkout Session Timeout Duration (Minutes)", 5..=300.
    pub timeout_minutes: u16,
}

impl From<CheckoutSettings> for SettingsBody {
    fn from(s: CheckoutSettings) -> Self {
        SettingsBody {
            group: "Checkout Session Settings".into(),
            enabled: s.enabled,
            timeout_minutes: s.timeout_minutes,
        }
    }
}

/// Read the settings.
#[utoipa::path(get, path = "/admin/settings", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = SettingsBody)))]
pub async fn get_settings(
    _: Admin,
    State(state): State<AppState>,
) -> ApiResult<Json<SettingsBody>> {
    Ok(Json(db::settings::load(&state.db).await?.into()))
}

/// Change the settings; they apply to checkouts started afterwards. An out-of-range
/// value is refused with `VALIDATION_FAILED` and nothing changes.
#[utoipa::path(put, path = "/admin/settings", tag = "admin", security(("admin" = [])),
    request_body(content = Object, description = "`{enabled?, timeout_minutes?}`"),
    responses((status = 200, body = SettingsBody), (status = 422, description = "VALIDATION_FAILED")))]
pub async fn put_settings(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(update): ApiJson<SettingsUpdate>,
) -> ApiResult<Json<SettingsBody>> {
    let mut tx = state.db.begin_write().await?;
    let current = db::settings::load(tx.conn()).await?;
    let next = current.apply(&update)?;
    db::settings::save(tx.conn(), &next, state.clock.now()).await?;
    tx.commit().await?;
    tracing::info!(
        enabled = next.enabled,
        timeout_minutes = next.timeout_minutes,
        "settings changed"
    );
    Ok(Json(next.into()))
}

/// The `Checkout` order class.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderClassBody {
    /// Class name.
    pub name: String,
    /// Template, e.g. `CO-<DD><MM><YYYY>-<Number>`.
    pub format: String,
    /// Zero-padded width of `<Number>`.
    pub digit_length: u8,
    /// The next number to issue.
    pub next_number: i64,
    /// The store's IANA time zone for the date part.
    pub time_zone: String,
    /// What the next number would look like if a checkout started now.
    pub example: String,
}

fn order_class_body(class: OrderClass, now: chrono::DateTime<chrono::Utc>) -> OrderClassBody {
    let example = class.render(class.next_number, now).unwrap_or_default();
    OrderClassBody {
        name: "Checkout".into(),
        format: class.format,
        digit_length: class.digit_length,
        next_number: class.next_number,
        time_zone: class.time_zone,
        example,
    }
}

/// Read the `Checkout` order class.
#[utoipa::path(get, path = "/admin/order-classes/checkout", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = OrderClassBody)))]
pub async fn get_order_class(
    _: Admin,
    State(state): State<AppState>,
) -> ApiResult<Json<OrderClassBody>> {
    Ok(Json(order_class_body(
        db::settings::order_class(&state.db).await?,
        state.clock.now(),
    )))
}

/// Edit the `Checkout` order class (format, digit length, time zone; the next number may
/// only move forward).
#[utoipa::path(put, path = "/admin/order-classes/checkout", tag = "admin", security(("admin" = [])),
    request_body(content = Object, description = "`{format?, digit_length?, next_number?, time_zone?}`"),
    responses((status = 200, body = OrderClassBody), (status = 422, description = "VALIDATION_FAILED")))]
pub async fn put_order_class(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(update): ApiJson<OrderClassUpdate>,
) -> ApiResult<Json<OrderClassBody>> {
    let mut tx = state.db.begin_write().await?;
    // Lock the row (PostgreSQL) so a concurrent allocation cannot slip under the check.
    let current = db::settings::order_class(tx.conn()).await?;
    let next = current.apply(&update)?;
    let done = db::settings::save_order_class(tx.conn(), &next).await?;
    if !done {
        return Err(Rejection::with_message(
            ErrorCode::ValidationFailed,
            "next_number may only move forward (checkouts were started meanwhile)",
        )
        .into());
    }
    tx.commit().await?;
    Ok(Json(order_class_body(next, state.clock.now())))
}

/// Start impersonating a shopper.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImpersonateRequest {
    /// The shopper's username.
    #[schema(schema_with = crate::http::api_doc::fields::username)]
    pub username: String,
    /// The admin's name, recorded as the actor of everything done meanwhile.
    #[serde(default)]
    pub admin: Option<String>,
}

/// Start impersonating a shopper: the answer sets a login cookie acting as that shopper,
/// with the admin recorded on every session and event. Sign out ends it.
#[utoipa::path(post, path = "/admin/impersonations", tag = "admin", security(("admin" = [])),
    request_body = ImpersonateRequest,
    responses((status = 201, body = Me), (status = 422, description = "VALIDATION_FAILED (unknown user)")))]
pub async fn impersonate(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ImpersonateRequest>,
) -> ApiResult<Response> {
    let id = db::users::id_of(&state.db, &req.username).await?;
    let id = id.ok_or_else(|| {
        Rejection::with_message(
            ErrorCode::ValidationFailed,
            format!("no shopper {:?}", req.username),
        )
    })?;
    // Recorded on every event and shown to the admin: never a card number.
    let admin = req.admin.map_or_else(
        || "admin".to_owned(),
        |name| checkout_core::payment::mask_card_numbers(&name),
    );
    let cookie = create_login(&state, &id, Some(&admin)).await?;
    let mut response = (
        StatusCode::CREATED,
        Json(Me {
            id,
            username: req.username,
            impersonator: Some(admin),
        }),
    )
        .into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// Every event of a session, oldest first.
#[utoipa::path(get, path = "/admin/checkouts/{id}/events", tag = "admin", security(("admin" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Vec<EventBody>)))]
pub async fn events(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<EventBody>>> {
    let events = db::events::of_session(&state.db, &id).await?;
    if events.is_empty() {
        return Err(ErrorCode::CheckoutNotFound.into());
    }
    Ok(Json(events))
}

/// Move the test clock.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceClock {
    /// Seconds to move forward (0..=31 536 000).
    #[schema(schema_with = crate::http::api_doc::fields::advance_seconds)]
    pub advance_seconds: i64,
}

/// Moves the server's clock forward (only when started with `--test-clock`).
#[utoipa::path(post, path = "/admin/test-clock", tag = "admin", security(("admin" = [])),
    request_body = AdvanceClock, responses((status = 200, description = "`{now}`"), (status = 404, description = "not started with --test-clock")))]
pub async fn advance_test_clock(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<AdvanceClock>,
) -> ApiResult<Json<serde_json::Value>> {
    if !state.test_clock {
        return Err(ApiError::RouteNotFound);
    }
    if !(0..=31_536_000).contains(&req.advance_seconds) {
        return Err(Rejection::with_message(
            ErrorCode::ValidationFailed,
            "advance_seconds must be between 0 and 31536000 (the clock only moves forward)",
        )
        .into());
    }
    state
        .clock
        .advance(chrono::Duration::seconds(req.advance_seconds));
    Ok(Json(serde_json::json!({ "now": state.clock.now() })))
}
