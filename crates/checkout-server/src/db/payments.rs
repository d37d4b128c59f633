//! The shop's side of provider payments (CONTRACT §13): refunds of charges that
//! arrived for a checkout that could no longer take them, and the provider's webhook
//! event ids already applied.

use super::{query, Conn, DbError, DbRow, WriteTx};
use crate::clock::{from_ms, to_ms};
use chrono::{DateTime, Utc};

/// Records a payment the shop is about to ask the provider for, in the transaction that
/// puts its checkout in `PAYMENT_PENDING`.
pub async fn record_attempt(
    conn: impl Into<Conn<'_>>,
    payment_key: &str,
    session_id: &str,
    amount: i64,
    currency: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    query(
        "INSERT INTO payment_attempts (payment_key, session_id, amount, currency, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(payment_key)
    .bind(session_id)
    .bind(amount)
    .bind(currency)
    .bind(to_ms(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// The checkout a payment key of this shop was for, if the shop made that key.
pub async fn attempt_session(
    conn: impl Into<Conn<'_>>,
    payment_key: &str,
) -> Result<Option<String>, DbError> {
    query("SELECT session_id FROM payment_attempts WHERE payment_key = $1")
        .bind(payment_key)
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get("session_id"))
        .transpose()
}

/// Starts watching a payment released because the provider had no record of it: looked
/// up again from `next` on.
pub async fn watch(
    tx: &mut WriteTx,
    payment_key: &str,
    now: DateTime<Utc>,
    next: DateTime<Utc>,
) -> Result<(), DbError> {
    query(
        "UPDATE payment_attempts SET watch_from = $1, watch_checks = 0, watch_next_at = $2 \
         WHERE payment_key = $3",
    )
    .bind(to_ms(now))
    .bind(to_ms(next))
    .bind(payment_key)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A watched payment due for a look: its key, checkout, checks so far and when the
/// watch began.
#[derive(Debug, Clone)]
pub struct Watched {
    /// The shop's key.
    pub payment_key: String,
    /// Its checkout.
    pub session_id: String,
    /// Looks so far.
    pub checks: u32,
    /// When the watch began.
    pub since: DateTime<Utc>,
}

/// Watched payments due at `now`, oldest first.
pub async fn watched(
    conn: impl Into<Conn<'_>>,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Watched>, DbError> {
    query(
        "SELECT payment_key, session_id, watch_checks, watch_from FROM payment_attempts \
         WHERE watch_next_at IS NOT NULL AND watch_next_at <= $1 ORDER BY watch_next_at LIMIT $2",
    )
    .bind(to_ms(now))
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        Ok(Watched {
            payment_key: r.try_get("payment_key")?,
            session_id: r.try_get("session_id")?,
            checks: u32::try_from(r.try_get::<i64>("watch_checks")?).unwrap_or(u32::MAX),
            since: from_ms(r.try_get::<Option<i64>>("watch_from")?.unwrap_or_default()),
        })
    })
    .collect()
}

/// The next look at a watched payment (`None`: the watch ends).
pub async fn next_watch(
    tx: &mut WriteTx,
    payment_key: &str,
    next: Option<DateTime<Utc>>,
) -> Result<(), DbError> {
    query(
        "UPDATE payment_attempts SET watch_checks = watch_checks + 1, watch_next_at = $1 \
         WHERE payment_key = $2",
    )
    .bind(next.map(to_ms))
    .bind(payment_key)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Whether the session's order was paid by provider payment `payment_id`.
pub async fn ordered_by(
    conn: impl Into<Conn<'_>>,
    session_id: &str,
    payment_id: &str,
) -> Result<bool, DbError> {
    Ok(
        query("SELECT 1 AS o FROM orders WHERE session_id = $1 AND payment_reference = $2")
            .bind(session_id)
            .bind(payment_id)
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}

/// A refund owed or made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct RefundRow {
    /// The shop's key of the refunded payment.
    pub payment_key: String,
    /// The provider's payment id.
    pub payment_id: String,
    /// The checkout it was for.
    pub session_id: String,
    /// The checkout's order, when it has one (paid another way).
    pub order_id: Option<String>,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217.
    pub currency: String,
    /// Why (`checkout_expired`, `checkout_superseded`, `already_completed`, …).
    pub reason: String,
    /// `pending` until the provider confirms, then `refunded`; `failed` when the
    /// provider refused it or its retries ran out (see `last_error`: a person must act).
    pub state: String,
    /// The provider's refund id.
    pub refund_id: Option<String>,
    /// When it was decided.
    pub created_at: DateTime<Utc>,
    /// When the provider confirmed it.
    pub refunded_at: Option<DateTime<Utc>>,
    /// Times the provider was asked without an answer.
    pub attempts: u32,
    /// Why the last attempt did not refund.
    pub last_error: Option<String>,
}

const COLUMNS: &str = "payment_key, payment_id, session_id, order_id, amount, currency, \
    reason, state, refund_id, created_at, refunded_at, attempts, last_error";

fn refund_of(row: &DbRow) -> Result<RefundRow, DbError> {
    Ok(RefundRow {
        payment_key: row.try_get("payment_key")?,
        payment_id: row.try_get("payment_id")?,
        session_id: row.try_get("session_id")?,
        order_id: row.try_get("order_id")?,
        amount: row.try_get("amount")?,
        currency: row.try_get("currency")?,
        reason: row.try_get("reason")?,
        state: row.try_get("state")?,
        refund_id: row.try_get("refund_id")?,
        created_at: from_ms(row.try_get("created_at")?),
        refunded_at: row.try_get::<Option<i64>>("refunded_at")?.map(from_ms),
        attempts: u32::try_from(row.try_get::<i64>("attempts")?).unwrap_or(u32::MAX),
        last_error: row.try_get("last_error")?,
    })
}

/// The refund of the payment under `payment_key`, if one is recorded.
pub async fn refund(
    conn: impl Into<Conn<'_>>,
    payment_key: &str,
) -> Result<Option<RefundRow>, DbError> {
    query(&format!(
        "SELECT {COLUMNS} FROM payment_refunds WHERE payment_key = $1"
    ))
    .bind(payment_key)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(refund_of)
    .transpose()
}

/// Records a refund as `pending` unless one is recorded for the key; returns whether
/// this call recorded it.
pub async fn record_refund(tx: &mut WriteTx, refund: &RefundRow) -> Result<bool, DbError> {
    let added = query(&format!(
        "INSERT INTO payment_refunds ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', NULL, $8, NULL, 0, NULL) \
         ON CONFLICT (payment_key) DO NOTHING"
    ))
    .bind(&refund.payment_key)
    .bind(&refund.payment_id)
    .bind(&refund.session_id)
    .bind(refund.order_id.as_deref())
    .bind(refund.amount)
    .bind(&refund.currency)
    .bind(&refund.reason)
    .bind(to_ms(refund.created_at))
    .execute(tx.conn())
    .await?;
    Ok(added == 1)
}

/// Marks a pending refund done; returns whether it was pending.
pub async fn finish_refund(
    tx: &mut WriteTx,
    payment_key: &str,
    refund_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let done = query(
        "UPDATE payment_refunds SET state = 'refunded', refund_id = $1, refunded_at = $2 \
         WHERE payment_key = $3 AND state = 'pending'",
    )
    .bind(refund_id)
    .bind(to_ms(now))
    .bind(payment_key)
    .execute(tx.conn())
    .await?;
    Ok(done == 1)
}

/// A refund attempt that got no answer: tried again at `next` (`None`: its time is up,
/// or the provider refused it outright — it is `failed`, for a person to act on).
pub async fn postpone_refund(
    tx: &mut WriteTx,
    payment_key: &str,
    next: Option<DateTime<Utc>>,
    error: &str,
) -> Result<(), DbError> {
    query(
        "UPDATE payment_refunds SET attempts = attempts + 1, next_attempt_at = $1, \
         state = CASE WHEN $2 = 1 THEN 'failed' ELSE state END, last_error = $3 \
         WHERE payment_key = $4 AND state = 'pending'",
    )
    .bind(next.map_or(0, to_ms))
    .bind(i64::from(next.is_none()))
    .bind(error)
    .bind(payment_key)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Keys of refunds still pending and due, oldest first.
pub async fn pending_refunds(
    conn: impl Into<Conn<'_>>,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<String>, DbError> {
    query(
        "SELECT payment_key FROM payment_refunds WHERE state = 'pending' \
         AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2",
    )
    .bind(to_ms(now))
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| r.try_get("payment_key"))
    .collect()
}

/// The refunds of one checkout, or all, newest first (at most `limit`).
pub async fn refunds(
    conn: impl Into<Conn<'_>>,
    session_id: Option<&str>,
    limit: i64,
) -> Result<Vec<RefundRow>, DbError> {
    query(&format!(
        "SELECT {COLUMNS} FROM payment_refunds WHERE ($1 IS NULL OR session_id = $1) \
         ORDER BY created_at DESC LIMIT $2"
    ))
    .bind(session_id)
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(refund_of)
    .collect()
}

/// Whether a webhook event with this id was applied already.
pub async fn seen_event(conn: impl Into<Conn<'_>>, id: &str) -> Result<bool, DbError> {
    Ok(
        query("SELECT 1 AS seen FROM payment_webhook_events WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}

/// Remembers an applied webhook event id.
pub async fn record_event(tx: &mut WriteTx, id: &str, now: DateTime<Utc>) -> Result<(), DbError> {
    query(
        "INSERT INTO payment_webhook_events (id, received_at) VALUES ($1, $2) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(to_ms(now))
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Forgets up to `limit` event ids received before `cutoff` (older deliveries fail the
/// signature's time tolerance anyway).
pub async fn purge_events(
    tx: &mut WriteTx,
    cutoff: DateTime<Utc>,
    limit: u32,
) -> Result<u64, DbError> {
    query(
        "DELETE FROM payment_webhook_events WHERE id IN (SELECT id FROM payment_webhook_events \
         WHERE received_at < $1 ORDER BY received_at LIMIT $2)",
    )
    .bind(to_ms(cutoff))
    .bind(i64::from(limit))
    .execute(tx.conn())
    .await
}
