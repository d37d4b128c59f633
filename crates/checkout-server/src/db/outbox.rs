//! The outbox (CONTRACT §14): endpoints, events and their deliveries. An event and one
//! delivery per active endpoint are written by [`record`] in the transaction of the
//! effect; the worker ([`crate::outbox`]) claims each endpoint's due deliveries with a lease
//! ([`claim`]), sends them and stores the outcome ([`finish`]).

use checkout_core::outbox::Next;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{endpoints::subscribed, query, Backend, Conn, DbError, WriteTx};
use crate::clock::{from_ms, to_ms};

/// An event to write with its effect.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// Stable event id (`evt_…`), the same on every attempt.
    pub id: String,
    /// The checkout it is about (deliveries are in order per checkout).
    pub checkout_id: &'a str,
    /// The order it is about.
    pub order_id: &'a str,
    /// `order.placed`, …
    pub event_type: &'static str,
    /// The JSON body sent.
    pub payload: String,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The W3C `traceparent` of the request that made it (traces on).
    pub trace: Option<String>,
}

/// Writes an event and a pending delivery to every active endpoint, in `conn`'s
/// transaction (the effect's).
pub async fn record(conn: impl Into<Conn<'_>>, event: &NewEvent<'_>) -> Result<(), DbError> {
    let mut conn = conn.into();
    let seq: i64 = query(
        "INSERT INTO outbox_events (id, checkout_id, order_id, type, payload, created_at, \
         traceparent) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
    )
    .bind(&event.id)
    .bind(event.checkout_id)
    .bind(event.order_id)
    .bind(event.event_type)
    .bind(&event.payload)
    .bind(to_ms(event.at))
    .bind(event.trace.as_deref())
    .fetch_one(&mut conn)
    .await?
    .try_get("seq")?;
    query(&format!(
        "INSERT INTO outbox_deliveries (event_seq, endpoint_id, checkout_id, state, attempts, \
         next_attempt_at, created_at) \
         SELECT $1, w.id, $2, 'pending', 0, $3, $3 FROM webhook_endpoints w WHERE {}",
        subscribed("$4")
    ))
    .bind(seq)
    .bind(event.checkout_id)
    .bind(to_ms(event.at))
    .bind(event.event_type)
    .execute(conn)
    .await?;
    Ok(())
}

/// A delivery the worker holds.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The event's sequence number.
    pub event_seq: i64,
    /// The endpoint.
    pub endpoint_id: String,
    /// Its URL.
    pub url: String,
    /// Its signing secret (`whsec_…`).
    pub secret: String,
    /// The secrets of earlier rotations that still sign, newest first.
    pub previous_secrets: Vec<String>,
    /// The stable event id.
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    /// The body.
    pub payload: String,
    /// Attempts before this one.
    pub attempts: u32,
    /// When it was first attempted (its retries count from then).
    pub first_attempt_at: DateTime<Utc>,
    /// The trace of the request that made the event.
    pub trace: Option<String>,
}

/// The deliveries of endpoint `$2` that may be sent now (`$1`: now): pending, due, not
/// held by a worker, to an endpoint that is on and not disabled, and the first
/// undelivered one of their checkout for that endpoint.
const DUE: &str = "FROM outbox_deliveries d \
    JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.active = 1 AND w.disabled_at IS NULL \
    WHERE d.endpoint_id = $2 AND d.state = 'pending' AND d.next_attempt_at <= $1 \
    AND (d.lease_until IS NULL OR d.lease_until <= $1) \
    AND NOT EXISTS (SELECT 1 FROM outbox_deliveries p WHERE p.endpoint_id = d.endpoint_id \
       AND p.checkout_id = d.checkout_id AND p.state <> 'delivered' AND p.event_seq < d.event_seq)";

/// Whether any delivery to `endpoint` may be sent now (a read, so an idle worker never
/// takes the write lock).
pub async fn any_due(
    conn: impl Into<Conn<'_>>,
    endpoint: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    Ok(query(&format!("SELECT 1 AS due {DUE} LIMIT 1"))
        .bind(to_ms(now))
        .bind(endpoint)
        .fetch_optional(conn)
        .await?
        .is_some())
}

/// Claims up to `limit` due deliveries to `endpoint` for `lease_ms`: pending, due, not
/// held by another worker, and the first undelivered one of their checkout for that
/// endpoint (in order per checkout: a delivery given up holds the later ones back
/// until it is sent again). On PostgreSQL rows another instance is claiming are skipped
/// (`FOR UPDATE SKIP LOCKED`); SQLite has one writer.
pub async fn claim(
    tx: &mut WriteTx,
    endpoint: &str,
    now: DateTime<Utc>,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<Claimed>, DbError> {
    let lock = if tx.backend() == Backend::Postgres {
        " FOR UPDATE OF d SKIP LOCKED"
    } else {
        ""
    };
    // Two statements whatever the number: lease the due rows, then read them whole.
    let leased = query(&format!(
        "UPDATE outbox_deliveries SET lease_until = $3, \
         first_attempt_at = COALESCE(first_attempt_at, $1) \
         WHERE endpoint_id = $2 AND event_seq IN \
         (SELECT d.event_seq {DUE} ORDER BY d.next_attempt_at, d.event_seq LIMIT $4{lock}) \
         RETURNING event_seq"
    ))
    .bind(to_ms(now))
    .bind(endpoint)
    .bind(to_ms(now) + lease_ms)
    .bind(limit)
    .fetch_all(tx.conn())
    .await?
    .iter()
    .map(|r| r.try_get::<i64>("event_seq"))
    .collect::<Result<Vec<i64>, DbError>>()?;
    if leased.is_empty() {
        return Ok(Vec::new());
    }
    // Numbers the database just returned: safe to write into the statement.
    let seqs = leased
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let rows = query(&format!(
        "SELECT d.event_seq, e.id, e.type, e.payload, e.traceparent, d.first_attempt_at, w.url, w.secret, \
         d.attempts, CASE WHEN w.previous_secret_until > $2 THEN w.previous_secret END \
         AS previous_secret \
         FROM outbox_deliveries d JOIN outbox_events e ON e.seq = d.event_seq \
         JOIN webhook_endpoints w ON w.id = d.endpoint_id \
         WHERE d.endpoint_id = $1 AND d.event_seq IN ({seqs}) ORDER BY d.event_seq"
    ))
    .bind(endpoint)
    .bind(to_ms(now))
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Claimed {
                event_seq: r.try_get("event_seq")?,
                endpoint_id: endpoint.to_owned(),
                url: r.try_get("url")?,
                secret: r.try_get("secret")?,
                previous_secrets: r
                    .try_get::<Option<String>>("previous_secret")?
                    .map_or_else(Vec::new, |list| super::endpoints::split_secrets(&list)),
                event_id: r.try_get("id")?,
                event_type: r.try_get("type")?,
                payload: r.try_get("payload")?,
                attempts: u32::try_from(r.try_get::<i64>("attempts")?).unwrap_or(u32::MAX),
                first_attempt_at: r
                    .try_get::<Option<i64>>("first_attempt_at")?
                    .map_or(now, from_ms),
                trace: r.try_get("traceparent")?,
            })
        })
        .collect()
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The receiver's status, if it answered.
    pub status: Option<u16>,
    /// What went wrong, if anything (kept short).
    pub error: Option<String>,
    /// What follows (the core's [`checkout_core::outbox::after_attempt`]).
    pub next: Next,
}

/// Stores an attempt's outcome and releases the lease; on 410 Gone the endpoint is
/// disabled and the delivery waits for it, due again at once when it is enabled.
pub async fn finish(
    conn: impl Into<Conn<'_>>,
    claimed: &Claimed,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let mut conn = conn.into();
    let (state, next_at) = match outcome.next {
        Next::Delivered => ("delivered", now),
        Next::RetryAt(at) => ("pending", at),
        Next::DisableEndpoint => ("pending", now),
        Next::GiveUp => ("failed", now),
    };
    query(
        "UPDATE outbox_deliveries SET state = $1, attempts = attempts + 1, lease_until = NULL, \
         last_status = $2, last_error = $3, next_attempt_at = $4, \
         delivered_at = CASE WHEN $1 = 'delivered' THEN $5 ELSE delivered_at END \
         WHERE event_seq = $6 AND endpoint_id = $7",
    )
    .bind(state)
    .bind(outcome.status.map(i64::from))
    .bind(outcome.error.clone())
    .bind(to_ms(next_at))
    .bind(to_ms(now))
    .bind(claimed.event_seq)
    .bind(&claimed.endpoint_id)
    .execute(&mut conn)
    .await?;
    if outcome.next == Next::DisableEndpoint {
        query(
            "UPDATE webhook_endpoints SET disabled_at = $1, disabled_reason = $2 \
             WHERE id = $3 AND disabled_at IS NULL",
        )
        .bind(to_ms(now))
        .bind("The receiver answered 410 Gone: it asked for no more events.")
        .bind(&claimed.endpoint_id)
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Deletes up to `limit` finished deliveries (delivered, or given up) of events made
/// before `cutoff`, then up to `limit` such events with no delivery left, oldest first;
/// returns how many rows. Pending deliveries and their events are always kept.
pub async fn purge(tx: &mut WriteTx, cutoff: DateTime<Utc>, limit: u32) -> Result<u64, DbError> {
    let (cutoff, limit) = (to_ms(cutoff), i64::from(limit));
    let deliveries = query(
        "DELETE FROM outbox_deliveries WHERE (event_seq, endpoint_id) IN \
         (SELECT event_seq, endpoint_id FROM outbox_deliveries \
          WHERE state <> 'pending' AND created_at < $1 ORDER BY created_at LIMIT $2)",
    )
    .bind(cutoff)
    .bind(limit)
    .execute(tx.conn())
    .await?;
    let events = query(
        "DELETE FROM outbox_events WHERE seq IN (SELECT e.seq FROM outbox_events e \
         WHERE e.created_at < $1 AND NOT EXISTS \
         (SELECT 1 FROM outbox_deliveries d WHERE d.event_seq = e.seq) ORDER BY e.created_at LIMIT $2)",
    )
    .bind(cutoff)
    .bind(limit)
    .execute(tx.conn())
    .await?;
    Ok(deliveries + events)
}

/// Sends given-up deliveries again (of one endpoint, or all): pending from `now`, with
/// a fresh retry time; returns how many.
pub async fn redeliver(
    conn: impl Into<Conn<'_>>,
    endpoint_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<u64, DbError> {
    query(
        "UPDATE outbox_deliveries SET state = 'pending', attempts = 0, first_attempt_at = NULL, \
         next_attempt_at = $1, lease_until = NULL \
         WHERE state = 'failed' AND ($2 = '' OR endpoint_id = $2)",
    )
    .bind(to_ms(now))
    .bind(endpoint_id.unwrap_or(""))
    .execute(conn)
    .await
}

/// A delivery as the admin sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Delivery {
    /// The stable event id.
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    /// The checkout.
    pub checkout_id: String,
    /// The order.
    pub order_id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// `pending`, `delivered` or `failed` (retries ran out).
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// The last answer's status.
    pub last_status: Option<i64>,
    /// The last error.
    pub last_error: Option<String>,
    /// The next attempt (pending).
    pub next_attempt_at: DateTime<Utc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
}

/// The latest deliveries (at most `limit`), newest first; of one checkout when given.
pub async fn deliveries(
    conn: impl Into<Conn<'_>>,
    checkout_id: Option<&str>,
    limit: i64,
) -> Result<Vec<Delivery>, DbError> {
    query(
        "SELECT e.id, e.type, e.checkout_id, e.order_id, d.endpoint_id, d.state, d.attempts, \
         d.last_status, d.last_error, d.next_attempt_at, d.delivered_at, e.created_at \
         FROM outbox_deliveries d JOIN outbox_events e ON e.seq = d.event_seq \
         WHERE ($1 = '' OR e.checkout_id = $1) ORDER BY d.event_seq DESC, d.endpoint_id LIMIT $2",
    )
    .bind(checkout_id.unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        Ok(Delivery {
            event_id: r.try_get("id")?,
            event_type: r.try_get("type")?,
            checkout_id: r.try_get("checkout_id")?,
            order_id: r.try_get("order_id")?,
            endpoint_id: r.try_get("endpoint_id")?,
            state: r.try_get("state")?,
            attempts: r.try_get("attempts")?,
            last_status: r.try_get("last_status")?,
            last_error: r.try_get("last_error")?,
            next_attempt_at: from_ms(r.try_get("next_attempt_at")?),
            delivered_at: r.try_get::<Option<i64>>("delivered_at")?.map(from_ms),
            created_at: from_ms(r.try_get("created_at")?),
        })
    })
    .collect()
}
