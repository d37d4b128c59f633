//! What restoring an ended checkout and explaining a `SNAPSHOT_MISMATCH` read and
//! write (CONTRACT §16): the summaries a checkout had, whether the shopper ordered
//! since, and the mark that makes a recovery link single use.

use checkout_core::snapshot::Snapshot;

use super::{query, sessions::corrupt, Conn, DbError};

/// A summary the session had before its current one, by its digest.
pub async fn confirmed_snapshot(
    conn: impl Into<Conn<'_>>,
    session_id: &str,
    digest: &str,
) -> Result<Option<Snapshot>, DbError> {
    query("SELECT snapshot FROM session_snapshots WHERE session_id = $1 AND digest = $2")
        .bind(session_id)
        .bind(digest)
        .fetch_optional(conn)
        .await?
        .map(|r| {
            let json: String = r.try_get("snapshot")?;
            serde_json::from_str(&json).map_err(|_| corrupt("kept snapshot"))
        })
        .transpose()
}

/// Whether the shopper completed a checkout started after the one numbered `seq`.
pub async fn ordered_since(
    conn: impl Into<Conn<'_>>,
    user_id: &str,
    seq: i64,
) -> Result<bool, DbError> {
    let row = query(
        "SELECT COUNT(*) AS n FROM checkout_sessions \
         WHERE user_id = $1 AND seq > $2 AND status = 'COMPLETED'",
    )
    .bind(user_id)
    .bind(seq)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get::<i64>("n")? > 0)
}

/// Records that `restored_to` restored the ended session `session_id`, unless one did
/// already (compare-and-set: a recovery link works once). Returns whether it did.
pub async fn mark_restored(
    conn: impl Into<Conn<'_>>,
    session_id: &str,
    restored_to: &str,
) -> Result<bool, DbError> {
    let done = query(
        "UPDATE checkout_sessions SET restored_to = $1 WHERE id = $2 AND restored_to IS NULL",
    )
    .bind(restored_to)
    .bind(session_id)
    .execute(conn)
    .await?;
    Ok(done == 1)
}
