//! Idempotency-Key records (CONTRACT §7): a key is claimed (`in_progress`) inside the
//! write transaction of its request and completed with the answer in the transaction
//! of the effect. What a stored key means for a new request is the core's decision
//! (`checkout_core::idempotency::decide`); this module only reads and writes the rows.

use chrono::{DateTime, Utc};

use super::{query, Conn, DbError};
use crate::clock::{from_ms, to_ms};

/// A key in its scope: the shopper, the endpoint (method and concrete path) and the key.
#[derive(Debug, Clone, Copy)]
pub struct KeyRef<'a> {
    /// The shopper.
    pub user_id: &'a str,
    /// E.g. `POST /api/v1/checkouts/…/place-order`.
    pub endpoint: &'a str,
    /// The key as sent.
    pub key: &'a str,
}

/// A stored key.
#[derive(Debug, Clone)]
pub struct StoredKey {
    /// The fingerprint of the request that claimed it.
    pub fingerprint: String,
    /// When its request started (or was last taken over).
    pub started_at: DateTime<Utc>,
    /// The stored answer, once the request completed.
    pub answer: Option<(u16, serde_json::Value)>,
}

/// Claims `key` for a new request, unless it is already stored or the shopper already
/// holds `max_keys` keys. Returns whether it was claimed; one statement. The count stops
/// at `max_keys`, so a claim reads at most that many index entries however many keys the
/// shopper holds (an uncapped count made every keyed request slower as keys piled up).
pub async fn claim(
    conn: impl Into<Conn<'_>>,
    key: KeyRef<'_>,
    fingerprint: &str,
    now: DateTime<Utc>,
    max_keys: u32,
) -> Result<bool, DbError> {
    let inserted = query(
        "INSERT INTO idempotency_keys (user_id, endpoint, idem_key, fingerprint, state, created_at, started_at) \
         SELECT $1, $2, $3, $4, 'in_progress', $5, $5 \
         WHERE (SELECT COUNT(*) FROM (SELECT 1 FROM idempotency_keys WHERE user_id = $1 LIMIT $6) AS held) < $6 \
         ON CONFLICT (user_id, endpoint, idem_key) DO NOTHING",
    )
    .bind(key.user_id)
    .bind(key.endpoint)
    .bind(key.key)
    .bind(fingerprint)
    .bind(to_ms(now))
    .bind(i64::from(max_keys))
    .execute(conn)
    .await?;
    Ok(inserted == 1)
}

/// The stored record of `key`, if any.
pub async fn find(
    conn: impl Into<Conn<'_>>,
    key: KeyRef<'_>,
) -> Result<Option<StoredKey>, DbError> {
    let Some(row) = query(
        "SELECT fingerprint, state, response_status, response_body, started_at FROM idempotency_keys \
         WHERE user_id = $1 AND endpoint = $2 AND idem_key = $3",
    )
    .bind(key.user_id)
    .bind(key.endpoint)
    .bind(key.key)
    .fetch_optional(conn)
    .await?
    else {
        return Ok(None);
    };
    let state: String = row.try_get("state")?;
    let answer = match (
        state.as_str(),
        row.try_get::<Option<i64>>("response_status")?,
        row.try_get::<Option<String>>("response_body")?,
    ) {
        ("completed", Some(status), Some(body)) => Some((
            u16::try_from(status).map_err(|_| DbError::Corrupt("idempotency status".into()))?,
            serde_json::from_str(&body)
                .map_err(|_| DbError::Corrupt("idempotency answer".into()))?,
        )),
        ("completed", _, _) => return Err(DbError::Corrupt("idempotency answer".into())),
        _ => None,
    };
    Ok(Some(StoredKey {
        fingerprint: row.try_get("fingerprint")?,
        started_at: from_ms(row.try_get("started_at")?),
        answer,
    }))
}

/// Takes over a claim whose request was abandoned (the core decided it may): the key's
/// request starts again now.
pub async fn take_over(
    conn: impl Into<Conn<'_>>,
    key: KeyRef<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    query(
        "UPDATE idempotency_keys SET started_at = $4 WHERE user_id = $1 AND endpoint = $2 AND idem_key = $3",
    )
    .bind(key.user_id)
    .bind(key.endpoint)
    .bind(key.key)
    .bind(to_ms(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives up a claim still in progress (its request was refused before any effect).
pub async fn release(conn: impl Into<Conn<'_>>, key: KeyRef<'_>) -> Result<(), DbError> {
    query(
        "DELETE FROM idempotency_keys WHERE user_id = $1 AND endpoint = $2 AND idem_key = $3 \
         AND state = 'in_progress'",
    )
    .bind(key.user_id)
    .bind(key.endpoint)
    .bind(key.key)
    .execute(conn)
    .await?;
    Ok(())
}

/// Stores the final answer of `key`'s request.
pub async fn complete(
    conn: impl Into<Conn<'_>>,
    key: KeyRef<'_>,
    status: u16,
    body: &str,
) -> Result<(), DbError> {
    query(
        "UPDATE idempotency_keys SET state = 'completed', response_status = $4, response_body = $5 \
         WHERE user_id = $1 AND endpoint = $2 AND idem_key = $3",
    )
    .bind(key.user_id)
    .bind(key.endpoint)
    .bind(key.key)
    .bind(i64::from(status))
    .bind(body)
    .execute(conn)
    .await?;
    Ok(())
}

/// Stores `key` completed with its answer in one statement, unless it is stored already
/// (returns whether it stored it): for a request whose effect and key commit together and
/// that decides about an existing key only when this finds one (the shop's backend).
pub async fn insert_completed(
    conn: impl Into<Conn<'_>>,
    key: KeyRef<'_>,
    fingerprint: &str,
    now: DateTime<Utc>,
    status: u16,
    body: &str,
) -> Result<bool, DbError> {
    let inserted = query(
        "INSERT INTO idempotency_keys (user_id, endpoint, idem_key, fingerprint, state, \
         response_status, response_body, created_at, started_at) \
         VALUES ($1, $2, $3, $4, 'completed', $5, $6, $7, $7) \
         ON CONFLICT (user_id, endpoint, idem_key) DO NOTHING",
    )
    .bind(key.user_id)
    .bind(key.endpoint)
    .bind(key.key)
    .bind(fingerprint)
    .bind(i64::from(status))
    .bind(body)
    .bind(to_ms(now))
    .execute(conn)
    .await?;
    Ok(inserted == 1)
}

/// Deletes up to `limit` completed records created before `cutoff`, oldest first;
/// returns how many. Bounded so that one purge never holds the write lock for long.
pub async fn purge(
    conn: impl Into<Conn<'_>>,
    cutoff: DateTime<Utc>,
    limit: u32,
) -> Result<u64, DbError> {
    query(
        "DELETE FROM idempotency_keys WHERE (user_id, endpoint, idem_key) IN \
         (SELECT user_id, endpoint, idem_key FROM idempotency_keys \
          WHERE created_at < $1 AND state = 'completed' ORDER BY created_at LIMIT $2)",
    )
    .bind(to_ms(cutoff))
    .bind(i64::from(limit))
    .execute(conn)
    .await
}
