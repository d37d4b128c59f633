//! The plans that end a shopper's other live sessions: on initiation (at most one live
//! session per shopper) and on sign-out, and whether a Pay request retries the payment
//! already pending.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{SessionStatus, Transition};
use crate::error::{ErrorCode, Rejection};

/// A live session of the shopper as the initiation planner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveSession {
    /// Session id.
    pub id: String,
    /// Stored status (`ACTIVE` or `PAYMENT_PENDING`).
    pub status: SessionStatus,
    /// Whether session management applied when it started: only then do its clocks
    /// (expiry, the login's end) end it.
    #[serde(default)]
    pub managed: bool,
    /// Expiry, as stored.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the login that last acted on it ends, as stored (CONTRACT §19).
    #[serde(default)]
    pub login_expires_at: Option<DateTime<Utc>>,
}

/// How a live session ends when initiation or sign-out ends it: `Expire` if its window
/// already closed, `EndLogin` if its login already ended (every read already reports
/// it so), else `otherwise`.
fn ending(s: &LiveSession, otherwise: Transition, now: DateTime<Utc>) -> Transition {
    let clock = |at: Option<DateTime<Utc>>| at.filter(|_| s.managed);
    let read = s
        .status
        .at_ends(clock(s.expires_at), clock(s.login_expires_at), now);
    s.status.read_time_end(read).unwrap_or(otherwise)
}

/// Whether a login that ends at `login_expires_at` may start a checkout at `now`: not
/// once it has ended (a token the server still accepts within its clock-skew leeway
/// would start a checkout that reads `LOGIN_EXPIRED` at once). The shopper signs in
/// again (CONTRACT §19).
pub fn login_may_start(
    login_expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), Rejection> {
    if now >= login_expires_at {
        return Err(Rejection::with_message(
            ErrorCode::Unauthenticated,
            "Your sign-in has ended. Please sign in again to continue.",
        ));
    }
    Ok(())
}

/// What initiation must do to the shopper's existing live sessions, all in the same
/// transaction as creating the new one.
pub fn plan_initiation(
    live: &[LiveSession],
    managed: bool,
    now: DateTime<Utc>,
) -> Result<Vec<(String, Transition)>, Rejection> {
    // With management off, sessions coexist: nothing is replaced, so nothing is refused.
    if !managed {
        return Ok(Vec::new());
    }
    // A payment in flight is never invalidated (the spec's known limitation 1): the
    // shopper is told to wait instead.
    if live
        .iter()
        .any(|s| s.status == SessionStatus::PaymentPending)
    {
        return Err(Rejection::new(ErrorCode::PaymentInProgress));
    }
    Ok(live
        .iter()
        .map(|s| (s.id.clone(), ending(s, Transition::Supersede, now)))
        .collect())
}

/// What signing out does to the shopper's live sessions (CONTRACT §5): an `ACTIVE`
/// session ends `INACTIVE/SIGNED_OUT` (or `EXPIRED`, if its window already closed); a
/// payment in flight is left to settle. An admin ending an impersonation signs nobody
/// out: the customer's checkout is theirs and stays as it is.
pub fn plan_sign_out(
    live: &[LiveSession],
    impersonating: bool,
    now: DateTime<Utc>,
) -> Vec<(String, Transition)> {
    if impersonating {
        return Vec::new();
    }
    live.iter()
        .filter(|s| s.status == SessionStatus::Active)
        .map(|s| (s.id.clone(), ending(s, Transition::SignOut, now)))
        .collect()
}

/// Whether a Pay request is a retry of the payment already pending on its session: the
/// session is `PAYMENT_PENDING` with a payment started under this same idempotency key.
/// Such a retry is told to wait (`REQUEST_IN_PROGRESS`, same key later) instead of
/// being checked again as a new payment (which would answer `PAYMENT_IN_PROGRESS`).
pub fn retries_pending_payment(
    status: SessionStatus,
    pending_key: Option<&str>,
    key: &str,
) -> bool {
    status == SessionStatus::PaymentPending && pending_key == Some(key)
}
