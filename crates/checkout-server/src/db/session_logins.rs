//! What a checkout remembers of the sign-in acting on it (CONTRACT §19): when that login
//! ends, and its OpenID Connect session id.

use chrono::{DateTime, Utc};

use super::{query, Conn, DbError};
use crate::clock::to_ms;

/// Remembers a newer login acting on the checkout (CONTRACT §19): `until` becomes its
/// login end if it is later than the stored one and the stored one has not passed
/// (the core decided so, [`checkout_core::verdict::extends_login`]; the condition
/// is repeated here so that two instances extending at once keep the later end).
pub async fn extend_login(
    conn: impl Into<Conn<'_>>,
    session_id: &str,
    until: DateTime<Utc>,
    sid: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let done = query(
        "UPDATE checkout_sessions SET login_expires_at = $1, login_sid = $2 \
         WHERE id = $3 AND status IN ('ACTIVE', 'PAYMENT_PENDING') \
         AND (login_expires_at IS NULL OR (login_expires_at < $1 AND login_expires_at > $4))",
    )
    .bind(to_ms(until))
    .bind(sid)
    .bind(session_id)
    .bind(to_ms(now))
    .execute(conn)
    .await?;
    Ok(done == 1)
}

/// The live checkouts whose latest login carried this OpenID Connect session id.
pub async fn live_for_sid(
    conn: impl Into<Conn<'_>>,
    sid: &str,
) -> Result<Vec<(String, String)>, DbError> {
    query(
        "SELECT id, user_id FROM checkout_sessions \
         WHERE login_sid = $1 AND status IN ('ACTIVE', 'PAYMENT_PENDING')",
    )
    .bind(sid)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("id")?, r.try_get("user_id")?)))
    .collect()
}
