//! Purging checkouts that ended without an order, after the retention period
//! (CONTRACT §11), with their events and kept snapshots.

use checkout_core::SessionStatus;
use chrono::{DateTime, Utc};

use super::{query, Backend, DbError, WriteTx};
use crate::clock::to_ms;

/// The sessions [`purge_ended`] deletes: `$1` the cutoff, `$2` the limit. Served by the
/// index `checkout_sessions_purgeable`.
pub fn purge_selection() -> String {
    let statuses = SessionStatus::PURGEABLE_NAMES
        .map(|name| format!("'{name}'"))
        .join(", ");
    format!(
        "SELECT id FROM checkout_sessions WHERE status IN ({statuses}) AND updated_at < $1 \
         AND payment_key IS NULL ORDER BY updated_at, id LIMIT $2"
    )
}

/// Deletes up to `limit` sessions that ended without an order (the core's
/// [`SessionStatus::is_purgeable`]) and were last changed before `cutoff`, oldest first,
/// with their events; returns how many sessions. A session that ever began a payment is
/// kept whatever its state: the provider may hold money for it. On PostgreSQL one
/// statement; on SQLite, whose writer holds the database alone, the same selection twice.
pub async fn purge_ended(
    tx: &mut WriteTx,
    cutoff: DateTime<Utc>,
    limit: u32,
) -> Result<u64, DbError> {
    let doomed = purge_selection();
    let (cutoff, limit) = (to_ms(cutoff), i64::from(limit));
    if tx.backend() == Backend::Postgres {
        let sql = format!(
            "WITH doomed AS ({doomed}), \
             events AS (DELETE FROM checkout_events WHERE session_id IN (SELECT id FROM doomed)), \
             kept AS (DELETE FROM session_snapshots WHERE session_id IN (SELECT id FROM doomed)) \
             DELETE FROM checkout_sessions WHERE id IN (SELECT id FROM doomed)"
        );
        return query(&sql)
            .bind(cutoff)
            .bind(limit)
            .execute(tx.conn())
            .await;
    }
    for table in ["checkout_events", "session_snapshots"] {
        query(&format!(
            "DELETE FROM {table} WHERE session_id IN ({doomed})"
        ))
        .bind(cutoff)
        .bind(limit)
        .execute(tx.conn())
        .await?;
    }
    query(&format!(
        "DELETE FROM checkout_sessions WHERE id IN ({doomed})"
    ))
    .bind(cutoff)
    .bind(limit)
    .execute(tx.conn())
    .await
}
