//! The downstream endpoints order events go to (CONTRACT §14, §21): adding one with
//! its secret and event types, stopping, resuming (also after its receiver disabled it
//! with 410 Gone), rotating its secret, and which ones an event goes to.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{query, Conn, DbError};
use crate::clock::{from_ms, to_ms};

/// A downstream endpoint.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Endpoint {
    /// Endpoint id.
    pub id: String,
    /// Where events are POSTed.
    pub url: String,
    /// Whether the admin has it on (its events are recorded; sent unless `disabled`).
    pub active: bool,
    /// `active` (sent to), `stopped` (by the admin) or `disabled` (its receiver answered
    /// 410 Gone: events wait for it until the admin enables it again).
    pub status: String,
    /// Why and since when it is disabled.
    pub disabled_reason: Option<String>,
    /// When its receiver disabled it.
    pub disabled_at: Option<DateTime<Utc>>,
    /// The event types it receives (all when absent).
    pub event_types: Option<Vec<String>>,
    /// Until when the secret before the latest rotation still signs deliveries.
    pub previous_secret_until: Option<DateTime<Utc>>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// The endpoints an event of the type bound at `$param` goes to (`w` is
/// `webhook_endpoints`): on, and subscribed to that type.
pub(crate) fn subscribed(param: &str) -> String {
    format!(
        "w.active = 1 AND (w.event_types IS NULL \
         OR (',' || w.event_types || ',') LIKE ('%,' || {param} || ',%'))"
    )
}

/// The endpoints deliveries are sent to now: on, and not disabled by their receiver.
pub async fn sendable_endpoints(conn: impl Into<Conn<'_>>) -> Result<Vec<String>, DbError> {
    query("SELECT id FROM webhook_endpoints WHERE active = 1 AND disabled_at IS NULL")
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect()
}

/// Adds an endpoint, sent events of `event_types` (all when `None`).
pub async fn add_endpoint(
    conn: impl Into<Conn<'_>>,
    id: &str,
    url: &str,
    secret: &str,
    event_types: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    query(
        "INSERT INTO webhook_endpoints (id, url, secret, event_types, active, created_at) \
         VALUES ($1, $2, $3, $4, 1, $5)",
    )
    .bind(id)
    .bind(url)
    .bind(secret)
    .bind(event_types)
    .bind(to_ms(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Stops or resumes sending to an endpoint (its pending deliveries wait meanwhile);
/// resuming also enables one its receiver disabled, from where it stopped. Returns
/// whether it exists.
pub async fn set_active(
    conn: impl Into<Conn<'_>>,
    id: &str,
    active: bool,
) -> Result<bool, DbError> {
    let done = query(
        "UPDATE webhook_endpoints SET active = $1, \
         disabled_at = CASE WHEN $1 = 1 THEN NULL ELSE disabled_at END, \
         disabled_reason = CASE WHEN $1 = 1 THEN NULL ELSE disabled_reason END WHERE id = $2",
    )
    .bind(i64::from(active))
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done == 1)
}

/// Gives endpoint `id` the new `secret`; the secrets the core keeps
/// ([`checkout_core::webhook::kept_after_rotation`]) sign beside it until
/// `previous_until`. Stored space-separated (a `whsec_` secret has no blank). Returns
/// whether it exists.
pub async fn rotate_secret(
    conn: impl Into<Conn<'_>>,
    id: &str,
    secret: &str,
    now: DateTime<Utc>,
    previous_until: DateTime<Utc>,
) -> Result<bool, DbError> {
    let mut conn = conn.into();
    let Some(row) = query(
        "SELECT secret, previous_secret, previous_secret_until FROM webhook_endpoints \
         WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut conn)
    .await?
    else {
        return Ok(false);
    };
    let current: String = row.try_get("secret")?;
    let still_valid = row
        .try_get::<Option<i64>>("previous_secret_until")?
        .is_some_and(|until| until > to_ms(now));
    let previous = match row.try_get::<Option<String>>("previous_secret")? {
        Some(list) if still_valid => split_secrets(&list),
        _ => Vec::new(),
    };
    let previous = checkout_core::webhook::kept_after_rotation(current, previous);
    query(
        "UPDATE webhook_endpoints SET previous_secret = $1, previous_secret_until = $2, \
         secret = $3 WHERE id = $4",
    )
    .bind(previous.join(" "))
    .bind(to_ms(previous_until))
    .bind(secret)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(true)
}

/// How many endpoints are active, but for `except` (an endpoint being enabled again).
pub async fn active_endpoints(
    conn: impl Into<Conn<'_>>,
    except: Option<&str>,
) -> Result<i64, DbError> {
    query("SELECT COUNT(*) AS n FROM webhook_endpoints WHERE active = 1 AND id <> $1")
        .bind(except.unwrap_or(""))
        .fetch_one(conn)
        .await?
        .try_get("n")
}

/// Every active endpoint (at most [`crate::outbox::admin::MAX_ACTIVE`]), then the 100
/// newest stopped ones.
pub async fn endpoints(conn: impl Into<Conn<'_>>) -> Result<Vec<Endpoint>, DbError> {
    query(
        "SELECT id, url, active, disabled_at, disabled_reason, event_types, \
         previous_secret_until, created_at FROM webhook_endpoints \
         ORDER BY active DESC, created_at DESC, id LIMIT 150",
    )
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        let active = r.try_get::<i64>("active")? != 0;
        let disabled_at = r.try_get::<Option<i64>>("disabled_at")?.map(from_ms);
        let status = match (active, disabled_at) {
            (false, _) => "stopped",
            (true, Some(_)) => "disabled",
            (true, None) => "active",
        };
        Ok(Endpoint {
            id: r.try_get("id")?,
            url: r.try_get("url")?,
            active,
            status: status.to_owned(),
            disabled_reason: r.try_get("disabled_reason")?,
            disabled_at,
            event_types: r
                .try_get::<Option<String>>("event_types")?
                .map(|t| t.split(',').map(str::to_owned).collect()),
            previous_secret_until: r
                .try_get::<Option<i64>>("previous_secret_until")?
                .map(from_ms),
            created_at: from_ms(r.try_get("created_at")?),
        })
    })
    .collect()
}

/// The secrets of a stored `previous_secret` list.
pub(crate) fn split_secrets(list: &str) -> Vec<String> {
    list.split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
