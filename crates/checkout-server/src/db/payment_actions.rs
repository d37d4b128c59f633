//! Payments that wait for the shopper at the provider (CONTRACT §20): the URL where they
//! confirm and the deadline, kept on the checkout while it waits for that payment
//! (`checkout_sessions.payment_action_url`, `payment_action_deadline`; cleared when a
//! new payment begins).

use chrono::{DateTime, Utc};

use super::{query, Conn, DbError, DbRow};
use crate::clock::{from_ms, to_ms};

/// Where the shopper confirms the payment a checkout waits for, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentAction {
    /// The provider's page (`None` when the provider's word came without one: a lookup).
    pub url: Option<String>,
    /// Past it, reconciliation cancels the payment and releases the checkout.
    pub deadline: DateTime<Utc>,
}

/// The action of a session row read with `payment_action_url, payment_action_deadline`.
pub(super) fn decode(row: &DbRow) -> Result<Option<PaymentAction>, DbError> {
    let deadline: Option<i64> = row.try_get("payment_action_deadline")?;
    Ok(match deadline {
        Some(ms) => Some(PaymentAction {
            url: row.try_get("payment_action_url")?,
            deadline: from_ms(ms),
        }),
        None => None,
    })
}

/// Records that the payment `payment_key` of session `session_id` waits for the shopper:
/// the first word of it sets the deadline; a URL heard later fills one not known yet.
/// Nothing changes once the session waits for another payment.
pub async fn record(
    conn: impl Into<Conn<'_>>,
    session_id: &str,
    payment_key: &str,
    url: Option<&str>,
    deadline: DateTime<Utc>,
) -> Result<(), DbError> {
    query(
        "UPDATE checkout_sessions SET \
         payment_action_url = COALESCE(payment_action_url, $1), \
         payment_action_deadline = COALESCE(payment_action_deadline, $2) \
         WHERE id = $3 AND payment_key = $4 AND status = 'PAYMENT_PENDING'",
    )
    .bind(url)
    .bind(to_ms(deadline))
    .bind(session_id)
    .bind(payment_key)
    .execute(conn)
    .await?;
    Ok(())
}

/// Payments pending since `cutoff` or earlier, except those waiting for the shopper
/// at the provider until after `now` (the webhook, the shopper's return or the deadline
/// settles them): (session id, payment key).
pub async fn stuck_payments(
    conn: impl Into<Conn<'_>>,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<(String, Option<String>)>, DbError> {
    query(
        "SELECT id, payment_key FROM checkout_sessions \
         WHERE status = 'PAYMENT_PENDING' AND payment_started_at <= $1 \
         AND (payment_action_deadline IS NULL OR payment_action_deadline <= $2)",
    )
    .bind(to_ms(cutoff))
    .bind(to_ms(now))
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("id")?, r.try_get("payment_key")?)))
    .collect()
}
