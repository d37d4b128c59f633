//! Admin routes for order events to downstream systems (CONTRACT §14, §21, bearer
//! token): add an endpoint (its Standard Webhooks secret is shown once), optionally for
//! some event types; rotate its secret; list, stop, resume (or enable again after a
//! 410) endpoints; and see the deliveries with their attempts.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    Json,
};
use checkout_core::{outbox::EventType, webhook::Secret, ErrorCode, Rejection};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    db::{self, endpoints::Endpoint, outbox::Delivery},
    http::error::ApiResult,
    http::extract::{Admin, ApiJson},
    state::AppState,
};

/// The admin outbox routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_endpoints, add_endpoint))
        .routes(routes!(stop_endpoint, set_endpoint))
        .routes(routes!(rotate_secret))
        .routes(routes!(deliveries))
        .routes(routes!(redeliver))
}

/// Longest endpoint URL.
const MAX_URL: usize = 2_048;
/// Most endpoints active at once (each order event is sent to every one).
pub const MAX_ACTIVE: i64 = 20;

/// `url` as stored, if it is an endpoint URL the outbound policy allows
/// ([`crate::outbound::Outbound::check_url`]): `https://` (or `http://` to loopback) with
/// a host, a port other than 0, no user name or password (they would be shown in the
/// list), no blank or control character, at most [`MAX_URL`] characters. Stored as
/// parsed (normalised), which is what is requested. The error says what is wrong.
fn endpoint_url(state: &AppState, url: &str) -> Result<String, String> {
    let plain = url.len() <= MAX_URL && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    let parsed = reqwest::Url::parse(url)
        .ok()
        .filter(|u| {
            plain
                && u.host_str().is_some_and(|h| !h.is_empty())
                && u.port_or_known_default().is_some_and(|p| p != 0)
                && u.username().is_empty()
                && u.password().is_none()
                && matches!(url.split_once("://"), Some((_, rest)) if !rest.starts_with(['/', '\\']))
        })
        .ok_or_else(|| {
            "An endpoint is an https:// URL with a host, without user or password, blanks or \
             control characters, of at most 2048 characters."
                .to_owned()
        })?;
    state.outbound.check_url(&parsed)?;
    Ok(parsed.to_string())
}

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    /// Where to POST events: `https://host[:port]/path` (`http://` to loopback only).
    #[schema(max_length = 2048)]
    pub url: String,
    /// Only these event types (all when absent).
    #[schema(value_type = Option<Vec<String>>, min_items = 1, max_items = 6)]
    pub event_types: Option<Vec<EventType>>,
}

/// An endpoint just added, with its signing secret (shown this once).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedEndpoint {
    /// Endpoint id.
    pub id: String,
    /// Its URL.
    pub url: String,
    /// The event types it receives (all when absent).
    pub event_types: Option<Vec<String>>,
    /// The Standard Webhooks secret (`whsec_…`) its deliveries are signed with.
    pub secret: String,
}

/// A fresh Standard Webhooks secret: 32 random bytes.
fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    match Secret::from_key(&key) {
        Some(secret) => secret.encode(),
        None => unreachable!("32 bytes is a valid key length"),
    }
}

fn no_such_endpoint() -> crate::http::error::ApiError {
    Rejection::with_message(ErrorCode::NotFound, "There is no such endpoint.").into()
}

/// Every endpoint, newest first.
#[utoipa::path(get, path = "/admin/webhook-endpoints", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = Vec<Endpoint>)))]
pub async fn list_endpoints(
    _: Admin,
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<Endpoint>>> {
    Ok(Json(db::endpoints::endpoints(&state.db).await?))
}

/// Add an endpoint: every order event from now on is delivered to it, signed with the
/// secret in the answer.
#[utoipa::path(post, path = "/admin/webhook-endpoints", tag = "admin", security(("admin" = [])),
    request_body = NewEndpoint,
    responses((status = 201, body = CreatedEndpoint), (status = 422, description = "VALIDATION_FAILED: not an https:// URL, a private address, or no event type")))]
pub async fn add_endpoint(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<NewEndpoint>,
) -> ApiResult<(StatusCode, Json<CreatedEndpoint>)> {
    let url = endpoint_url(&state, &req.url)
        .map_err(|why| Rejection::with_message(ErrorCode::ValidationFailed, why))?;
    let url = url.as_str();
    let event_types = match &req.event_types {
        None => None,
        Some(types) if types.is_empty() => {
            return Err(Rejection::with_message(
                ErrorCode::ValidationFailed,
                "event_types lists at least one type (leave it out for all).",
            )
            .into())
        }
        Some(types) => Some(
            EventType::ALL
                .into_iter()
                .filter(|t| types.contains(t))
                .map(EventType::as_str)
                .collect::<Vec<_>>(),
        ),
    };
    let secret = new_secret();
    let id = format!("we_{}", uuid::Uuid::now_v7().simple());
    let mut tx = state.db.begin_write().await?;
    if db::endpoints::active_endpoints(tx.conn(), None).await? >= MAX_ACTIVE {
        return Err(Rejection::with_message(
            ErrorCode::ValidationFailed,
            format!("At most {MAX_ACTIVE} endpoints are active at once: stop one first."),
        )
        .into());
    }
    let stored_types = event_types.as_ref().map(|t| t.join(","));
    db::endpoints::add_endpoint(
        tx.conn(),
        &id,
        url,
        &secret,
        stored_types.as_deref(),
        state.clock.now(),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(%id, %url, "outbox endpoint added");
    Ok((
        StatusCode::CREATED,
        Json(CreatedEndpoint {
            id,
            url: url.to_owned(),
            event_types: event_types.map(|t| t.into_iter().map(str::to_owned).collect()),
            secret,
        }),
    ))
}

/// Stop delivering to an endpoint (its pending deliveries wait until it is resumed;
/// events from now on are not added for it).
#[utoipa::path(delete, path = "/admin/webhook-endpoints/{id}", tag = "admin", security(("admin" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, description = "NOT_FOUND: no such endpoint")))]
pub async fn stop_endpoint(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin_write().await?;
    let found = db::endpoints::set_active(tx.conn(), &id, false).await?;
    tx.commit().await?;
    if found {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_such_endpoint())
    }
}

/// Stop or resume an endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointState {
    /// Deliver to it (its waiting deliveries resume) or not.
    pub active: bool,
}

/// Stop or resume an endpoint; a resumed one gets its waiting deliveries (one its
/// receiver disabled with 410 Gone is enabled again, from where it stopped).
#[utoipa::path(put, path = "/admin/webhook-endpoints/{id}", tag = "admin", security(("admin" = [])),
    params(("id" = String, Path)), request_body = EndpointState,
    responses((status = 204), (status = 404, description = "NOT_FOUND: no such endpoint"),
        (status = 422, description = "VALIDATION_FAILED: too many active endpoints")))]
pub async fn set_endpoint(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<EndpointState>,
) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin_write().await?;
    if req.active && db::endpoints::active_endpoints(tx.conn(), Some(&id)).await? >= MAX_ACTIVE {
        return Err(Rejection::with_message(
            ErrorCode::ValidationFailed,
            format!("At most {MAX_ACTIVE} endpoints are active at once: stop one first."),
        )
        .into());
    }
    let found = db::endpoints::set_active(tx.conn(), &id, req.active).await?;
    tx.commit().await?;
    if found {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_such_endpoint())
    }
}

/// How long the secret before a rotation still signs deliveries.
pub const ROTATION_OVERLAP: chrono::Duration = chrono::Duration::hours(24);

/// An endpoint's new secret (shown this once).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RotatedSecret {
    /// Endpoint id.
    pub id: String,
    /// The new secret (`whsec_…`).
    pub secret: String,
    /// Until then deliveries carry a signature with the previous secret too.
    pub previous_valid_until: chrono::DateTime<chrono::Utc>,
}

/// Give an endpoint a new secret. For 24 hours each delivery carries a signature with
/// the new and with each earlier secret still valid (several rotations in a day keep
/// them all, up to four), so a receiver can switch at any time in that window.
#[utoipa::path(post, path = "/admin/webhook-endpoints/{id}/rotate-secret", tag = "admin",
    security(("admin" = [])), params(("id" = String, Path)),
    responses((status = 200, body = RotatedSecret), (status = 404, description = "NOT_FOUND: no such endpoint")))]
pub async fn rotate_secret(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<RotatedSecret>> {
    let secret = new_secret();
    let until = state.clock.now() + ROTATION_OVERLAP;
    let mut tx = state.db.begin_write().await?;
    let found =
        db::endpoints::rotate_secret(tx.conn(), &id, &secret, state.clock.now(), until).await?;
    tx.commit().await?;
    if !found {
        return Err(no_such_endpoint());
    }
    tracing::info!(%id, "outbox endpoint secret rotated");
    Ok(Json(RotatedSecret {
        id,
        secret,
        previous_valid_until: until,
    }))
}

/// Send given-up deliveries again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Redeliver {
    /// Only this endpoint's (all when absent).
    pub endpoint_id: Option<String>,
}

/// How many deliveries were put back.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Redelivered {
    /// Deliveries pending again, with a fresh retry time.
    pub redelivered: u64,
}

/// Send the deliveries whose retries ran out again (after the receiver was fixed); the
/// later events of their checkouts, held back meanwhile, follow them in order.
#[utoipa::path(post, path = "/admin/outbox/redeliver", tag = "admin", security(("admin" = [])),
    request_body = Redeliver, responses((status = 200, body = Redelivered)))]
pub async fn redeliver(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<Redeliver>,
) -> ApiResult<Json<Redelivered>> {
    let mut tx = state.db.begin_write().await?;
    let n = db::outbox::redeliver(tx.conn(), req.endpoint_id.as_deref(), state.clock.now()).await?;
    tx.commit().await?;
    Ok(Json(Redelivered { redelivered: n }))
}

/// Which deliveries to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilter {
    /// Only this checkout's.
    pub checkout_id: Option<String>,
    /// At most this many (1..=500, default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// The latest deliveries with their attempts, newest first.
#[utoipa::path(get, path = "/admin/outbox/deliveries", tag = "admin", security(("admin" = [])),
    params(DeliveryFilter), responses((status = 200, body = Vec<Delivery>)))]
pub async fn deliveries(
    _: Admin,
    State(state): State<AppState>,
    Query(filter): Query<DeliveryFilter>,
) -> ApiResult<Json<Vec<Delivery>>> {
    let limit = filter.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(
            Rejection::with_message(ErrorCode::ValidationFailed, "limit must be 1 to 500").into(),
        );
    }
    Ok(Json(
        db::outbox::deliveries(&state.db, filter.checkout_id.as_deref(), limit).await?,
    ))
}
