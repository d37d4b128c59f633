//! The event log (`checkout_events`): one row per transition or change of a session,
//! with who caused it. Event names come from the core's table (`Event::name`).

use checkout_core::{Event, SessionStatus};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{query, Conn, DbError};
use crate::clock::{from_ms, to_ms};

/// Who caused a change: the shopper, possibly through an impersonating admin, or the
/// system (expiry sweeper, payment reconciliation).
#[derive(Debug, Clone, Default)]
pub struct Actor {
    /// The shopper.
    pub user_id: Option<String>,
    /// The impersonating admin.
    pub admin: Option<String>,
    /// The request that caused it.
    pub request_id: Option<String>,
}

/// The event insert and its columns, for [`record_event`] and for one-statement writes
/// that record the event from a `WITH` (PostgreSQL).
macro_rules! insert_event {
    () => {
        "INSERT INTO checkout_events (session_id, from_status, from_reason, to_status, \
         to_reason, transition, actor_user, actor_admin, at, request_id)"
    };
}
pub(crate) use insert_event;

/// Records an event (a transition, or a change that keeps the state, such as a new
/// snapshot or a redeemed recovery token).
pub async fn record_event(
    conn: impl Into<Conn<'_>>,
    session_id: &str,
    from: Option<SessionStatus>,
    to: SessionStatus,
    event: Event,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    query(concat!(
        insert_event!(),
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(session_id)
    .bind(from.map(SessionStatus::name))
    .bind(from.and_then(SessionStatus::reason))
    .bind(to.name())
    .bind(to.reason())
    .bind(event.name())
    .bind(&actor.user_id)
    .bind(&actor.admin)
    .bind(to_ms(now))
    .bind(&actor.request_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// An event as the admin API returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventBody {
    /// Sequence within the database.
    pub id: i64,
    /// The session.
    pub session_id: String,
    /// Previous state (`null` for the initiation).
    pub from_status: Option<String>,
    /// Previous reason.
    pub from_reason: Option<String>,
    /// New state.
    pub to_status: String,
    /// New reason.
    pub to_reason: Option<String>,
    /// The transition or change, e.g. `Supersede`, `SelectShipping` (the names of the
    /// core's `Event` table).
    pub transition: String,
    /// The shopper who acted.
    pub actor_user: Option<String>,
    /// The admin acting for them.
    pub actor_admin: Option<String>,
    /// When (RFC 3339).
    pub at: String,
    /// The request that caused it.
    pub request_id: Option<String>,
}

/// The events of a session, oldest first.
pub async fn of_session(
    conn: impl Into<Conn<'_>>,
    session_id: &str,
) -> Result<Vec<EventBody>, DbError> {
    let rows = query(
        "SELECT id, session_id, from_status, from_reason, to_status, to_reason, transition, actor_user, \
         actor_admin, at, request_id FROM checkout_events WHERE session_id = $1 ORDER BY id",
    )
    .bind(session_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(EventBody {
                id: r.try_get("id")?,
                session_id: r.try_get("session_id")?,
                from_status: r.try_get("from_status")?,
                from_reason: r.try_get("from_reason")?,
                to_status: r.try_get("to_status")?,
                to_reason: r.try_get("to_reason")?,
                transition: r.try_get("transition")?,
                actor_user: r.try_get("actor_user")?,
                actor_admin: r.try_get("actor_admin")?,
                at: from_ms(r.try_get("at")?).to_rfc3339(),
                request_id: r.try_get("request_id")?,
            })
        })
        .collect()
}
