//! Fixed-window counters kept in the database (`rate_windows`), for limits that must
//! outlive a restart and hold across instances: card payments per shopper and per
//! client address. What a refusal says is `throttle`'s.

use chrono::{DateTime, Utc};

use super::{query, Conn, DbError, WriteTx};
use crate::clock::to_ms;

/// Counts one event for `key` in a window of `window_ms`, unless the window already
/// holds `max`: then nothing changes and the answer is `Err(ends_at)`, when the window
/// ends. One statement, so parallel requests on any instance cannot all pass.
pub async fn hit(
    tx: &mut WriteTx,
    key: &str,
    max: u32,
    window_ms: i64,
    now: DateTime<Utc>,
) -> Result<Result<(), i64>, DbError> {
    let now = to_ms(now);
    let counted = query(
        "INSERT INTO rate_windows (key, started_at, count) SELECT $1, $2, 1 WHERE $4 > 0 \
         ON CONFLICT (key) DO UPDATE SET \
           count = CASE WHEN rate_windows.started_at <= $3 THEN 1 ELSE rate_windows.count + 1 END, \
           started_at = CASE WHEN rate_windows.started_at <= $3 THEN $2 ELSE rate_windows.started_at END \
         WHERE rate_windows.started_at <= $3 OR rate_windows.count < $4 \
         RETURNING count",
    )
    .bind(key)
    .bind(now)
    .bind(now - window_ms)
    .bind(i64::from(max))
    .fetch_optional(tx.conn())
    .await?;
    if counted.is_some() {
        return Ok(Ok(()));
    }
    // Refused: the window is full, or the limit is 0 (no window at all: a whole one).
    let started: Option<i64> = query("SELECT started_at FROM rate_windows WHERE key = $1")
        .bind(key)
        .fetch_optional(tx.conn())
        .await?
        .map(|row| row.try_get("started_at"))
        .transpose()?;
    Ok(Err(started.unwrap_or(now) + window_ms))
}

/// Takes back one event of `key` (counted before another limit refused the request).
pub async fn uncount(tx: &mut WriteTx, key: &str) -> Result<(), DbError> {
    query("UPDATE rate_windows SET count = count - 1 WHERE key = $1 AND count > 0")
        .bind(key)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Deletes up to `limit` windows that started before `before` (all of them ended).
pub async fn purge(
    conn: impl Into<Conn<'_>>,
    before: DateTime<Utc>,
    limit: u32,
) -> Result<u64, DbError> {
    query(
        "DELETE FROM rate_windows WHERE key IN \
         (SELECT key FROM rate_windows WHERE started_at < $1 LIMIT $2)",
    )
    .bind(to_ms(before))
    .bind(i64::from(limit))
    .execute(conn)
    .await
}
