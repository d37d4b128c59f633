//! The verdict (CONTRACT §5, §9): given what is known of a session, who is looking, what
//! they want to do and the time, either allowed or refused with a stable code, message
//! and redirect. The server runs this before every action and the browser module runs
//! the very same function on every navigation, so both say the same thing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::action::Action;
use crate::{
    error::{ErrorCode, Rejection},
    lifecycle::{InactiveReason, SessionStatus, Transition},
};

/// What the checks need to know about a session.
///
/// On the wire the state is two flat fields, `status` and `reason`, as the server's
/// session body and the stored record have them (see [`SessionViewWire`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SessionViewWire", into = "SessionViewWire")]
pub struct SessionView {
    /// Session id.
    pub id: String,
    /// The shopper who owns it.
    pub user_id: String,
    /// The stored state (expiry is applied on top at read time).
    pub status: SessionStatus,
    /// Whether session management applied when it started (one live session, expiry).
    pub managed: bool,
    /// `started_at + timeout`, when managed.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the latest login that acted on it ends (CONTRACT §19); once that passes the
    /// checkout reads `INACTIVE/LOGIN_EXPIRED`. `None` for a checkout from before logins
    /// were remembered.
    pub login_expires_at: Option<DateTime<Utc>>,
    /// Whether it is the shopper's most recent session.
    pub is_latest: bool,
    /// Digest of the current snapshot.
    pub digest: String,
    /// How many times a recovery token was redeemed; binds tokens (see [`crate::token`]).
    pub generation: u32,
}

/// [`SessionView`] as JSON: the state as the flat `status`/`reason` pair of
/// [`SessionStatus::name`] and [`SessionStatus::reason`]. (A flattened, adjacently
/// tagged enum would make serde buffer every field of the view before reading it.)
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(
    feature = "typescript",
    derive(tsify::Tsify),
    tsify(missing_as_null, rename = "SessionView")
)]
#[serde(rename = "SessionView")]
pub struct SessionViewWire {
    id: String,
    user_id: String,
    status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // The server's session body writes `null`; the module's record leaves it out.
    #[cfg_attr(feature = "typescript", tsify(optional, type = "string | null"))]
    reason: Option<String>,
    managed: bool,
    #[serde(default, with = "crate::time::rfc3339_opt")]
    #[cfg_attr(feature = "typescript", tsify(type = "string | null"))]
    expires_at: Option<DateTime<Utc>>,
    #[serde(
        default,
        with = "crate::time::rfc3339_opt",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "typescript", tsify(optional, type = "string | null"))]
    login_expires_at: Option<DateTime<Utc>>,
    is_latest: bool,
    digest: String,
    #[serde(default)]
    #[cfg_attr(feature = "typescript", tsify(optional))]
    generation: u32,
}

impl TryFrom<SessionViewWire> for SessionView {
    type Error = String;

    fn try_from(w: SessionViewWire) -> Result<Self, Self::Error> {
        let status =
            SessionStatus::from_parts(&w.status, w.reason.as_deref()).ok_or_else(|| {
                let reason = w.reason.as_deref().map(crate::detail::Quoted);
                match reason {
                    Some(reason) => format!(
                        "unknown status {} with reason {reason}",
                        crate::detail::Quoted(&w.status)
                    ),
                    None => format!("unknown status {}", crate::detail::Quoted(&w.status)),
                }
            })?;
        Ok(SessionView {
            id: w.id,
            user_id: w.user_id,
            status,
            managed: w.managed,
            expires_at: w.expires_at,
            login_expires_at: w.login_expires_at,
            is_latest: w.is_latest,
            digest: w.digest,
            generation: w.generation,
        })
    }
}

impl From<SessionView> for SessionViewWire {
    fn from(v: SessionView) -> Self {
        SessionViewWire {
            id: v.id,
            user_id: v.user_id,
            status: v.status.name().to_owned(),
            reason: v.status.reason().map(str::to_owned),
            managed: v.managed,
            expires_at: v.expires_at,
            login_expires_at: v.login_expires_at,
            is_latest: v.is_latest,
            digest: v.digest,
            generation: v.generation,
        }
    }
}

impl SessionView {
    /// The expiry that applies: `expires_at` for a managed session, none otherwise (with
    /// session management off a checkout never expires).
    pub fn expiry(&self) -> Option<DateTime<Utc>> {
        if self.managed {
            self.expires_at
        } else {
            None
        }
    }

    /// The login end that applies: `login_expires_at` for a managed session, none
    /// otherwise (with session management off a checkout ends only by an action).
    pub fn login_expiry(&self) -> Option<DateTime<Utc>> {
        if self.managed {
            self.login_expires_at
        } else {
            None
        }
    }

    /// The stored state with both read-time ends applied at `now` (the window and the
    /// login; supersession is not a clock and is left to [`effective_status`]).
    pub fn ended_by_clocks(&self, now: DateTime<Utc>) -> SessionStatus {
        self.status.at_ends(self.expiry(), self.login_expiry(), now)
    }

    /// The transition that stores what a read at `now` reports, when a clock ended a
    /// session still stored `ACTIVE` (`Expire` or `EndLogin`).
    pub fn read_time_end(&self, now: DateTime<Utc>) -> Option<Transition> {
        self.status.read_time_end(self.ended_by_clocks(now))
    }
}

/// Who is acting: the shopper, possibly through an impersonating admin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(missing_as_null))]
pub struct Viewer {
    /// The signed-in shopper (or the one being impersonated); `None` when signed out.
    pub user_id: Option<String>,
    /// The admin acting for the shopper, when impersonating.
    #[serde(default)]
    #[cfg_attr(feature = "typescript", tsify(optional))]
    pub acting_admin: Option<String>,
}

wire_enum! {
    /// The state a storefront branches on (the spec's table: ACTIVE resume,
    /// INACTIVE/EXPIRED block and redirect, NOT_FOUND redirect).
    pub enum VerdictState as "verdict state", in TypeScript "VerdictState" {
        /// Resume the checkout.
        Active = "ACTIVE",
        /// A payment is in flight: show its progress, allow nothing else.
        PaymentPending = "PAYMENT_PENDING",
        /// Ended without an order: block, show the message, go to the cart.
        Inactive = "INACTIVE",
        /// Window closed: block, show the message, go to the cart.
        Expired = "EXPIRED",
        /// The order exists: show the confirmation.
        Completed = "COMPLETED",
        /// No such checkout for this shopper: go to the cart.
        NotFound = "NOT_FOUND",
    }
}

impl VerdictState {
    /// The state a refusal from the server implies, so the browser can turn a problem
    /// document into the same verdict the server would have given on a read.
    pub fn for_code(code: ErrorCode) -> VerdictState {
        match code {
            ErrorCode::CheckoutNotFound | ErrorCode::Unauthenticated => VerdictState::NotFound,
            ErrorCode::CheckoutExpired | ErrorCode::TokenExpired => VerdictState::Expired,
            ErrorCode::CheckoutSuperseded | ErrorCode::CheckoutInactive => VerdictState::Inactive,
            ErrorCode::CheckoutCompleted => VerdictState::Completed,
            ErrorCode::PaymentInProgress => VerdictState::PaymentPending,
            _ => VerdictState::Active,
        }
    }
}

/// The outcome of a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The session's effective state for this viewer.
    pub state: VerdictState,
    /// Why the action is refused; `None` means allowed.
    pub rejection: Option<Rejection>,
}

/// A verdict as it travels: in the server's session body (`verdict`), from the
/// browser module's `evaluateVerdict`, and in what its `onVerdict` callback receives.
/// One shape for all three, built from [`Verdict`] here only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "typescript",
    derive(tsify::Tsify),
    tsify(missing_as_null, rename = "Verdict")
)]
pub struct VerdictBody {
    /// `ACTIVE`, `PAYMENT_PENDING`, `INACTIVE`, `EXPIRED`, `COMPLETED` or `NOT_FOUND`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state: VerdictState,
    /// Whether the checkout can be resumed (the action may proceed).
    pub allowed: bool,
    /// Why not, when not.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    #[cfg_attr(feature = "typescript", tsify(type = "ErrorCodeName | null"))]
    pub code: Option<ErrorCode>,
    /// Message for the shopper.
    pub message: Option<String>,
    /// Where to send the shopper.
    pub redirect: Option<String>,
}

impl From<Verdict> for VerdictBody {
    fn from(v: Verdict) -> Self {
        let allowed = v.is_allowed();
        let (code, message, redirect) = match v.rejection {
            Some(r) => (Some(r.code), Some(r.message), r.redirect),
            None => (None, None, None),
        };
        VerdictBody {
            state: v.state,
            allowed,
            code,
            message,
            redirect,
        }
    }
}

impl Verdict {
    /// Whether the action may proceed.
    pub fn is_allowed(&self) -> bool {
        self.rejection.is_none()
    }

    /// The rejection as a `Result`, for `?` in handlers.
    pub fn into_result(self) -> Result<VerdictState, Rejection> {
        match self.rejection {
            None => Ok(self.state),
            Some(rejection) => Err(rejection),
        }
    }

    fn refuse(state: VerdictState, rejection: Rejection) -> Verdict {
        Verdict {
            state,
            rejection: Some(rejection),
        }
    }
}

/// Everything one check looks at. Plain data, so the same case can be written in a
/// shared test-vector file and run on both targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(missing_as_null))]
pub struct CheckInput {
    /// The session, or `None` when no such id exists.
    pub session: Option<SessionView>,
    /// Who is acting.
    pub viewer: Viewer,
    /// What they want to do.
    #[cfg_attr(feature = "typescript", tsify(type = "CheckoutAction"))]
    pub action: Action,
    /// The snapshot digest the shopper saw (mandatory for order actions).
    #[serde(default)]
    #[cfg_attr(feature = "typescript", tsify(optional))]
    pub digest: Option<String>,
    /// The current time, passed in: the core never reads a clock.
    #[serde(with = "crate::time::rfc3339")]
    #[cfg_attr(feature = "typescript", tsify(type = "string"))]
    pub now: DateTime<Utc>,
}

/// The effective state of a session at `now`: stored state, then expiry and the end of
/// its login decided at read time, then supersession for a managed session that is no
/// longer the latest.
pub fn effective_status(session: &SessionView, now: DateTime<Utc>) -> SessionStatus {
    match session.ended_by_clocks(now) {
        SessionStatus::Active if session.managed && !session.is_latest => {
            SessionStatus::Inactive(InactiveReason::Superseded)
        }
        status => status,
    }
}

/// Whether a login that ends at `until`, acting on the session at `now`, extends it
/// (CONTRACT §19: "a newer login acting on the checkout extends it"): the session has
/// not ended by either clock yet, and `until` is later than the end it remembers. A
/// checkout whose login already ended stays ended; the shopper restores it (§16).
pub fn extends_login(session: &SessionView, until: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    session.ended_by_clocks(now).is_live()
        && session.login_expires_at.is_none_or(|known| until > known)
}

fn state_of(status: SessionStatus) -> VerdictState {
    match status {
        SessionStatus::Active => VerdictState::Active,
        SessionStatus::PaymentPending => VerdictState::PaymentPending,
        SessionStatus::Inactive(_) => VerdictState::Inactive,
        SessionStatus::Expired => VerdictState::Expired,
        SessionStatus::Completed(_) => VerdictState::Completed,
    }
}

/// Runs the checks of CONTRACT §5 in order: signed in; the session exists and belongs
/// to the viewer (another shopper's session is reported as not found); its effective
/// state allows the action; for order actions the digest matches the current snapshot.
pub fn evaluate(input: &CheckInput) -> Verdict {
    evaluate_parts(
        input.session.as_ref(),
        input.viewer.user_id.as_deref(),
        input.action,
        input.digest.as_deref(),
        input.now,
    )
}

/// [`evaluate`] on borrowed parts, for a caller that already holds the session (the
/// browser module on every navigation): nothing is copied, and an allowed verdict
/// allocates nothing.
pub fn evaluate_parts(
    session: Option<&SessionView>,
    user_id: Option<&str>,
    action: Action,
    digest: Option<&str>,
    now: DateTime<Utc>,
) -> Verdict {
    let Some(user) = user_id else {
        return Verdict::refuse(
            VerdictState::NotFound,
            Rejection::new(ErrorCode::Unauthenticated),
        );
    };
    let session = match session {
        Some(session) if session.user_id == user => session,
        _ => {
            return Verdict::refuse(
                VerdictState::NotFound,
                Rejection::new(ErrorCode::CheckoutNotFound),
            )
        }
    };
    let status = effective_status(session, now);
    let state = state_of(status);
    let allowed = Verdict {
        state,
        rejection: None,
    };

    // Viewing a checkout with a payment in flight is fine (the page shows progress);
    // everything else needs ACTIVE.
    let state_allows = match status {
        SessionStatus::Active => true,
        SessionStatus::PaymentPending => action == Action::View,
        _ => false,
    };
    if !state_allows {
        let rejection = status
            .blocking()
            .unwrap_or_else(|| Rejection::new(ErrorCode::CheckoutInactive));
        return Verdict::refuse(state, rejection);
    }

    match (digest, action.places_order()) {
        (None, true) => Verdict::refuse(
            state,
            Rejection::with_message(
                ErrorCode::ValidationFailed,
                "snapshot_digest is required: send the digest of the summary the shopper confirmed",
            ),
        ),
        (Some(seen), _)
            if (action.places_order() || action.modifies()) && seen != session.digest =>
        {
            Verdict::refuse(state, Rejection::new(ErrorCode::SnapshotMismatch))
        }
        _ => allowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Completion;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn session(status: SessionStatus) -> SessionView {
        SessionView {
            id: "s1".into(),
            user_id: "u1".into(),
            status,
            managed: true,
            expires_at: Some(now() + chrono::Duration::minutes(5)),
            login_expires_at: None,
            is_latest: true,
            digest: "sha256:aa".into(),
            generation: 0,
        }
    }

    fn check(session: Option<SessionView>, action: Action, digest: Option<&str>) -> Verdict {
        evaluate(&CheckInput {
            session,
            viewer: Viewer {
                user_id: Some("u1".into()),
                acting_admin: None,
            },
            action,
            digest: digest.map(str::to_owned),
            now: now(),
        })
    }

    fn code(v: &Verdict) -> Option<ErrorCode> {
        v.rejection.as_ref().map(|r| r.code)
    }

    #[test]
    fn only_a_later_login_extends_and_never_an_ended_checkout() {
        let m = |n: i64| now() + chrono::Duration::minutes(n);
        let mut s = session(SessionStatus::Active);
        s.login_expires_at = Some(m(2));
        assert!(extends_login(&s, m(3), now()));
        assert!(!extends_login(&s, m(2), now()));
        assert!(!extends_login(&s, m(1), now()));
        s.login_expires_at = None;
        assert!(extends_login(&s, m(1), now()));
        s.login_expires_at = Some(m(0));
        assert!(!extends_login(&s, m(60), now()), "its login already ended");
        s.login_expires_at = Some(m(2));
        s.expires_at = Some(m(-1));
        assert!(
            !extends_login(&s, m(60), now()),
            "its window already closed"
        );
        let mut paying = session(SessionStatus::PaymentPending);
        paying.login_expires_at = Some(m(-5));
        assert!(
            extends_login(&paying, m(60), now()),
            "a payment in flight has not ended"
        );
        for ended in [
            SessionStatus::Inactive(InactiveReason::LoginExpired),
            SessionStatus::Expired,
        ] {
            assert!(!extends_login(&session(ended), m(60), now()));
        }
    }

    #[test]
    fn order_actions_need_an_active_latest_unexpired_session_and_the_digest() {
        let ok = check(
            Some(session(SessionStatus::Active)),
            Action::PlaceOrder,
            Some("sha256:aa"),
        );
        assert!(ok.is_allowed());
        assert_eq!(
            code(&check(
                Some(session(SessionStatus::Active)),
                Action::Pay,
                Some("sha256:bb")
            )),
            Some(ErrorCode::SnapshotMismatch)
        );
        assert_eq!(
            code(&check(
                Some(session(SessionStatus::Active)),
                Action::SubmitForApproval,
                None
            )),
            Some(ErrorCode::ValidationFailed)
        );
        let mut old = session(SessionStatus::Active);
        old.is_latest = false;
        let v = check(Some(old), Action::PlaceOrder, Some("sha256:aa"));
        assert_eq!(code(&v), Some(ErrorCode::CheckoutSuperseded));
        assert_eq!(v.state, VerdictState::Inactive);
        let mut late = session(SessionStatus::Active);
        late.expires_at = Some(now());
        let v = check(Some(late), Action::PlaceOrder, Some("sha256:aa"));
        assert_eq!(code(&v), Some(ErrorCode::CheckoutExpired));
        assert_eq!(v.state, VerdictState::Expired);
    }

    #[test]
    fn server_codes_map_to_the_states_a_read_would_give() {
        // The code each state's blocking check produces maps back to that state.
        for status in [
            SessionStatus::PaymentPending,
            SessionStatus::Inactive(InactiveReason::Superseded),
            SessionStatus::Inactive(InactiveReason::SignedOut),
            SessionStatus::Expired,
            SessionStatus::Completed(Completion::OrderPlaced),
        ] {
            let code = status.blocking_code().unwrap();
            assert_eq!(VerdictState::for_code(code), state_of(status), "{status:?}");
        }
        assert_eq!(
            VerdictState::for_code(ErrorCode::CheckoutNotFound),
            VerdictState::NotFound
        );
        assert_eq!(Action::PlaceOrder.order_segment(), Some("place-order"));
        for action in [Action::PlaceOrder, Action::SubmitForApproval] {
            let (step, completion) = action.completion().unwrap();
            assert_eq!(
                SessionStatus::Active.apply(step),
                Ok(SessionStatus::Completed(completion))
            );
        }
        let (step, completion) = Action::Pay.completion().unwrap();
        assert_eq!(
            SessionStatus::PaymentPending.apply(step),
            Ok(SessionStatus::Completed(completion))
        );
        assert_eq!(Action::SelectShipping.completion(), None);
        assert_eq!(Action::View.order_segment(), None);
    }

    #[test]
    fn another_shoppers_session_is_not_found() {
        let mut theirs = session(SessionStatus::Active);
        theirs.user_id = "u2".into();
        let v = check(Some(theirs), Action::View, None);
        assert_eq!(v.state, VerdictState::NotFound);
        assert_eq!(code(&v), Some(ErrorCode::CheckoutNotFound));
    }

    #[test]
    fn unmanaged_sessions_never_expire_or_get_superseded() {
        let mut plain = session(SessionStatus::Active);
        plain.managed = false;
        plain.is_latest = false;
        plain.expires_at = Some(now() - chrono::Duration::hours(1));
        assert!(check(Some(plain), Action::PlaceOrder, Some("sha256:aa")).is_allowed());
    }

    #[test]
    fn a_paying_session_can_be_viewed_but_not_acted_on() {
        let paying = session(SessionStatus::PaymentPending);
        let v = check(Some(paying.clone()), Action::View, None);
        assert!(v.is_allowed());
        assert_eq!(v.state, VerdictState::PaymentPending);
        assert_eq!(
            code(&check(Some(paying), Action::SelectShipping, None)),
            Some(ErrorCode::PaymentInProgress)
        );
        let done = session(SessionStatus::Completed(Completion::Paid));
        assert_eq!(
            code(&check(Some(done), Action::PlaceOrder, Some("sha256:aa"))),
            Some(ErrorCode::CheckoutCompleted)
        );
    }
}
