//! The checkout session lifecycle (CONTRACT §2) as an explicit state machine: the stored
//! states, every legal transition by name, and the initiation plan that keeps at most one
//! live session per shopper. Anything not listed in [`SessionStatus::apply`] is illegal.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, Rejection};

mod plan;
pub use self::plan::{
    login_may_start, plan_initiation, plan_sign_out, retries_pending_payment, LiveSession,
};

/// Why a session ended without an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InactiveReason {
    /// A newer checkout of the same shopper replaced it.
    Superseded,
    /// The shopper signed out.
    SignedOut,
    /// The last line was removed from the order summary.
    Emptied,
    /// The shopper (or an admin for them) cancelled it.
    Cancelled,
    /// The login that last acted on it ended with no newer login acting on it
    /// (CONTRACT §19, the seed's "user session expires"). Decided at read time.
    LoginExpired,
}

/// How a session produced its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Completion {
    /// "Place Order".
    OrderPlaced,
    /// "Pay Now and Submit" after the gateway charged.
    Paid,
    /// "Submit for Approval".
    SubmittedForApproval,
}

impl Completion {
    /// The status of the order a completion creates: `PLACED`, `PAID`, or
    /// `PENDING_APPROVAL` (an order submitted for approval is not placed yet).
    pub fn order_status(self) -> &'static str {
        match self {
            Completion::OrderPlaced => "PLACED",
            Completion::Paid => "PAID",
            Completion::SubmittedForApproval => "PENDING_APPROVAL",
        }
    }
}

/// A stored session state. `NOT_FOUND` is a verdict, never a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(
    tag = "status",
    content = "reason",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum SessionStatus {
    /// The shopper's current checkout; order actions are allowed.
    Active,
    /// A payment is in flight; nothing may replace the session until it settles.
    PaymentPending,
    /// Ended without an order.
    Inactive(InactiveReason),
    /// The purchase window closed.
    Expired,
    /// The session produced its order.
    Completed(Completion),
}

/// A named lifecycle transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Transition {
    /// ACTIVE → INACTIVE/SUPERSEDED: the shopper started a newer checkout.
    Supersede,
    /// ACTIVE → INACTIVE/SIGNED_OUT.
    SignOut,
    /// ACTIVE → INACTIVE/EMPTIED: the last line was removed.
    Empty,
    /// ACTIVE → INACTIVE/CANCELLED.
    Cancel,
    /// ACTIVE → EXPIRED: `now >= expires_at`.
    Expire,
    /// ACTIVE → INACTIVE/LOGIN_EXPIRED: `now >= login_expires_at` (stored once read).
    EndLogin,
    /// ACTIVE → PAYMENT_PENDING: written before the gateway is called.
    BeginPayment,
    /// PAYMENT_PENDING → ACTIVE: declined, or reconciled as never charged in time.
    ReleasePayment,
    /// PAYMENT_PENDING → EXPIRED: reconciled as never charged after the window closed.
    LapsePayment,
    /// PAYMENT_PENDING → COMPLETED/PAID: the gateway charged.
    CompletePayment,
    /// ACTIVE → COMPLETED/ORDER_PLACED.
    PlaceOrder,
    /// ACTIVE → COMPLETED/SUBMITTED_FOR_APPROVAL.
    SubmitForApproval,
}

impl Transition {
    /// Every transition, for exhaustive tests.
    pub const ALL: [Transition; 12] = [
        Transition::Supersede,
        Transition::SignOut,
        Transition::Empty,
        Transition::Cancel,
        Transition::Expire,
        Transition::EndLogin,
        Transition::BeginPayment,
        Transition::ReleasePayment,
        Transition::LapsePayment,
        Transition::CompletePayment,
        Transition::PlaceOrder,
        Transition::SubmitForApproval,
    ];

    /// The name the event log stores for it (`checkout_events.transition`), written here
    /// once: stored names must not change when a variant is renamed, as a name taken
    /// from `Debug` would.
    pub const fn name(self) -> &'static str {
        match self {
            Transition::Supersede => "Supersede",
            Transition::SignOut => "SignOut",
            Transition::Empty => "Empty",
            Transition::Cancel => "Cancel",
            Transition::Expire => "Expire",
            Transition::EndLogin => "EndLogin",
            Transition::BeginPayment => "BeginPayment",
            Transition::ReleasePayment => "ReleasePayment",
            Transition::LapsePayment => "LapsePayment",
            Transition::CompletePayment => "CompletePayment",
            Transition::PlaceOrder => "PlaceOrder",
            Transition::SubmitForApproval => "SubmitForApproval",
        }
    }
}

/// A recorded change that keeps the session's state: its start, a new snapshot, a
/// redeemed recovery token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    /// The session was started (its first event, from no state to `ACTIVE`).
    Initiate,
    /// A shipping method was chosen.
    SelectShipping,
    /// A payment method was chosen.
    SelectPayment,
    /// A voucher was applied.
    ApplyVoucher,
    /// A line was removed (and the checkout still has lines).
    RemoveLine,
    /// A recovery token was redeemed (the generation moved on).
    Recover,
    /// An approver approved the order submitted from this checkout.
    Approve,
    /// An approver rejected the order submitted from this checkout.
    Reject,
    /// A shipping or billing address was given.
    SetAddress,
}

impl Change {
    /// Every change, for exhaustive tests.
    pub const ALL: [Change; 9] = [
        Change::Initiate,
        Change::SelectShipping,
        Change::SelectPayment,
        Change::ApplyVoucher,
        Change::RemoveLine,
        Change::Recover,
        Change::Approve,
        Change::Reject,
        Change::SetAddress,
    ];

    /// The name the event log stores for it.
    pub const fn name(self) -> &'static str {
        match self {
            Change::Initiate => "Initiate",
            Change::SelectShipping => "SelectShipping",
            Change::SelectPayment => "SelectPayment",
            Change::ApplyVoucher => "ApplyVoucher",
            Change::RemoveLine => "RemoveLine",
            Change::Recover => "Recover",
            Change::Approve => "Approve",
            Change::Reject => "Reject",
            Change::SetAddress => "SetAddress",
        }
    }
}

/// What one row of the event log records: a transition, or a change within a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// The state changed.
    Moved(Transition),
    /// The state stayed; something in the session changed.
    Changed(Change),
}

impl Event {
    /// The stored name (from [`Transition::name`] or [`Change::name`]).
    pub const fn name(self) -> &'static str {
        match self {
            Event::Moved(t) => t.name(),
            Event::Changed(c) => c.name(),
        }
    }

    /// The event a stored name stands for.
    pub fn parse(name: &str) -> Option<Event> {
        Transition::ALL
            .into_iter()
            .map(Event::Moved)
            .chain(Change::ALL.into_iter().map(Event::Changed))
            .find(|e| e.name() == name)
    }
}

impl From<Transition> for Event {
    fn from(t: Transition) -> Event {
        Event::Moved(t)
    }
}

impl From<Change> for Event {
    fn from(c: Change) -> Event {
        Event::Changed(c)
    }
}

/// A transition that is not legal from the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("transition {transition:?} is not allowed from {from:?}")]
pub struct IllegalTransition {
    /// The state the session was in.
    pub from: SessionStatus,
    /// The refused transition.
    pub transition: Transition,
}

impl IllegalTransition {
    /// The code a shopper sees when an action meets a session in `from`.
    pub fn rejection(&self) -> Rejection {
        self.from
            .blocking()
            .unwrap_or_else(|| Rejection::new(ErrorCode::CheckoutInactive))
    }
}

impl SessionStatus {
    /// The state after `transition`, or why it is illegal. This table is the whole
    /// lifecycle; every other pair is refused.
    pub fn apply(self, transition: Transition) -> Result<SessionStatus, IllegalTransition> {
        use SessionStatus::*;
        use Transition as T;
        let next = match (self, transition) {
            (Active, T::Supersede) => Inactive(InactiveReason::Superseded),
            (Active, T::SignOut) => Inactive(InactiveReason::SignedOut),
            (Active, T::Empty) => Inactive(InactiveReason::Emptied),
            (Active, T::Cancel) => Inactive(InactiveReason::Cancelled),
            (Active, T::Expire) => Expired,
            (Active, T::EndLogin) => Inactive(InactiveReason::LoginExpired),
            (Active, T::BeginPayment) => PaymentPending,
            (Active, T::PlaceOrder) => Completed(Completion::OrderPlaced),
            (Active, T::SubmitForApproval) => Completed(Completion::SubmittedForApproval),
            (PaymentPending, T::ReleasePayment) => Active,
            (PaymentPending, T::LapsePayment) => Expired,
            (PaymentPending, T::CompletePayment) => Completed(Completion::Paid),
            (from, transition) => return Err(IllegalTransition { from, transition }),
        };
        Ok(next)
    }

    /// Live sessions count against "one per shopper": `ACTIVE` and `PAYMENT_PENDING`.
    pub fn is_live(self) -> bool {
        matches!(self, SessionStatus::Active | SessionStatus::PaymentPending)
    }

    /// States no transition leaves.
    pub fn is_terminal(self) -> bool {
        !self.is_live()
    }

    /// Whether a session in this state may be deleted once its retention has passed
    /// (CONTRACT §11 "Data has a lifetime"): it ended without an order. A completed
    /// session is part of its order's record and a live one is a shopper's checkout, so
    /// neither is ever purged; nor is a session the payment provider holds money for,
    /// whatever its state (the store checks its charges).
    pub fn is_purgeable(self) -> bool {
        matches!(self, SessionStatus::Inactive(_) | SessionStatus::Expired)
    }

    /// The stored status names of the states [`SessionStatus::is_purgeable`] admits.
    pub const PURGEABLE_NAMES: [&'static str; 2] = ["INACTIVE", "EXPIRED"];

    /// The refusal an action meets in this state (`None` when `ACTIVE`): the blocking
    /// code, in the shopper's words for how the checkout ended.
    pub fn blocking(self) -> Option<Rejection> {
        let code = self.blocking_code()?;
        Some(match self {
            SessionStatus::Inactive(InactiveReason::Emptied) => Rejection::with_message(
                code,
                "You removed the last item, so this checkout ended. Add something to your cart to check out again.",
            ),
            SessionStatus::Inactive(InactiveReason::SignedOut) => Rejection::with_message(
                code,
                "This checkout ended when you signed out. Your cart is kept; start checkout again.",
            ),
            SessionStatus::Inactive(InactiveReason::LoginExpired) => Rejection::with_message(
                code,
                "Your sign-in ended, so this checkout was closed. Sign in again to continue it; your cart is kept.",
            ),
            _ => Rejection::new(code),
        })
    }

    /// The code that blocks an order action in this state (`None` when `ACTIVE`).
    pub fn blocking_code(self) -> Option<ErrorCode> {
        match self {
            SessionStatus::Active => None,
            SessionStatus::PaymentPending => Some(ErrorCode::PaymentInProgress),
            SessionStatus::Inactive(InactiveReason::Superseded) => {
                Some(ErrorCode::CheckoutSuperseded)
            }
            SessionStatus::Inactive(_) => Some(ErrorCode::CheckoutInactive),
            SessionStatus::Expired => Some(ErrorCode::CheckoutExpired),
            SessionStatus::Completed(_) => Some(ErrorCode::CheckoutCompleted),
        }
    }

    /// The status column as stored (`ACTIVE`, `PAYMENT_PENDING`, `INACTIVE`, …).
    pub fn name(self) -> &'static str {
        match self {
            SessionStatus::Active => "ACTIVE",
            SessionStatus::PaymentPending => "PAYMENT_PENDING",
            SessionStatus::Inactive(_) => "INACTIVE",
            SessionStatus::Expired => "EXPIRED",
            SessionStatus::Completed(_) => "COMPLETED",
        }
    }

    /// The reason column as stored (`SUPERSEDED`, `ORDER_PLACED`, …), when there is one.
    pub fn reason(self) -> Option<&'static str> {
        match self {
            SessionStatus::Inactive(r) => Some(match r {
                InactiveReason::Superseded => "SUPERSEDED",
                InactiveReason::SignedOut => "SIGNED_OUT",
                InactiveReason::Emptied => "EMPTIED",
                InactiveReason::Cancelled => "CANCELLED",
                InactiveReason::LoginExpired => "LOGIN_EXPIRED",
            }),
            SessionStatus::Completed(c) => Some(match c {
                Completion::OrderPlaced => "ORDER_PLACED",
                Completion::Paid => "PAID",
                Completion::SubmittedForApproval => "SUBMITTED_FOR_APPROVAL",
            }),
            _ => None,
        }
    }

    /// Reads the stored pair back. Unknown combinations are refused, never guessed.
    pub fn from_parts(name: &str, reason: Option<&str>) -> Option<SessionStatus> {
        let status = match (name, reason) {
            ("ACTIVE", None) => SessionStatus::Active,
            ("PAYMENT_PENDING", None) => SessionStatus::PaymentPending,
            ("EXPIRED", None) => SessionStatus::Expired,
            ("INACTIVE", Some("SUPERSEDED")) => SessionStatus::Inactive(InactiveReason::Superseded),
            ("INACTIVE", Some("SIGNED_OUT")) => SessionStatus::Inactive(InactiveReason::SignedOut),
            ("INACTIVE", Some("EMPTIED")) => SessionStatus::Inactive(InactiveReason::Emptied),
            ("INACTIVE", Some("CANCELLED")) => SessionStatus::Inactive(InactiveReason::Cancelled),
            ("INACTIVE", Some("LOGIN_EXPIRED")) => {
                SessionStatus::Inactive(InactiveReason::LoginExpired)
            }
            ("COMPLETED", Some("ORDER_PLACED")) => {
                SessionStatus::Completed(Completion::OrderPlaced)
            }
            ("COMPLETED", Some("PAID")) => SessionStatus::Completed(Completion::Paid),
            ("COMPLETED", Some("SUBMITTED_FOR_APPROVAL")) => {
                SessionStatus::Completed(Completion::SubmittedForApproval)
            }
            _ => return None,
        };
        Some(status)
    }

    /// The state to read for a stored `ACTIVE` session at `now`: expiry is decided at
    /// read time, so a late sweeper never keeps a session alive. A pending payment is
    /// not expired by the clock; reconciliation settles it.
    /// (The window alone: [`SessionStatus::at_ends`] without a login's end.)
    pub fn at(self, expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> SessionStatus {
        self.at_ends(expires_at, None, now)
    }

    /// The state to read for a stored session at `now` with both of its read-time ends:
    /// the purchase window (`expires_at`) and the login that last acted on it
    /// (`login_expires_at`, CONTRACT §19). Whichever passed first decides; on a tie the
    /// window wins. Only an `ACTIVE` session ends this way: a payment in flight is
    /// settled by reconciliation, never by the clock.
    pub fn at_ends(
        self,
        expires_at: Option<DateTime<Utc>>,
        login_expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> SessionStatus {
        if self != SessionStatus::Active {
            return self;
        }
        let window = expires_at.filter(|e| now >= *e);
        let login = login_expires_at.filter(|l| now >= *l);
        match (window, login) {
            (Some(w), Some(l)) if l < w => SessionStatus::Inactive(InactiveReason::LoginExpired),
            (Some(_), _) => SessionStatus::Expired,
            (None, Some(_)) => SessionStatus::Inactive(InactiveReason::LoginExpired),
            (None, None) => self,
        }
    }

    /// The transition that stores a read-time end (`Expire` or `EndLogin`), if `read`
    /// is one that a stored `ACTIVE` session reads as.
    pub fn read_time_end(self, read: SessionStatus) -> Option<Transition> {
        match (self, read) {
            (SessionStatus::Active, SessionStatus::Expired) => Some(Transition::Expire),
            (SessionStatus::Active, SessionStatus::Inactive(InactiveReason::LoginExpired)) => {
                Some(Transition::EndLogin)
            }
            _ => None,
        }
    }
}

/// The transition for a payment that settled without a charge (declined, or voided by
/// reconciliation): back to `ACTIVE` while the window is open, `EXPIRED` once it closed
/// (`expires_at` is `None` for an unmanaged session, which never expires).
pub fn after_unpaid(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Transition {
    match SessionStatus::Active.at(expires_at, now) {
        SessionStatus::Expired => Transition::LapsePayment,
        _ => Transition::ReleasePayment,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sign_out_ends_active_sessions_only_and_never_for_an_impersonator() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let live = |id: &str, status, expires_at| LiveSession {
            id: id.into(),
            status,
            managed: true,
            expires_at,
            login_expires_at: None,
        };
        let sessions = [
            live(
                "a",
                SessionStatus::Active,
                Some(now + chrono::Duration::minutes(5)),
            ),
            live(
                "b",
                SessionStatus::Active,
                Some(now - chrono::Duration::minutes(1)),
            ),
            live("c", SessionStatus::PaymentPending, None),
            live("d", SessionStatus::Active, None),
        ];
        assert_eq!(
            plan_sign_out(&sessions, false, now),
            vec![
                ("a".to_owned(), Transition::SignOut),
                ("b".to_owned(), Transition::Expire),
                ("d".to_owned(), Transition::SignOut),
            ]
        );
        assert!(plan_sign_out(&sessions, true, now).is_empty());
    }

    #[test]
    fn only_the_same_key_retries_a_pending_payment() {
        let pending = SessionStatus::PaymentPending;
        assert!(retries_pending_payment(pending, Some("k1"), "k1"));
        assert!(!retries_pending_payment(pending, Some("k1"), "k2"));
        assert!(!retries_pending_payment(pending, None, "k1"));
        assert!(!retries_pending_payment(
            SessionStatus::Active,
            Some("k1"),
            "k1"
        ));
    }

    #[test]
    fn event_names_are_the_stored_ones_and_read_back() {
        let names: Vec<&str> = Transition::ALL
            .into_iter()
            .map(Event::from)
            .chain(Change::ALL.into_iter().map(Event::from))
            .map(Event::name)
            .collect();
        // What databases already hold: these strings may never change.
        assert_eq!(
            names,
            [
                "Supersede",
                "SignOut",
                "Empty",
                "Cancel",
                "Expire",
                "EndLogin",
                "BeginPayment",
                "ReleasePayment",
                "LapsePayment",
                "CompletePayment",
                "PlaceOrder",
                "SubmitForApproval",
                "Initiate",
                "SelectShipping",
                "SelectPayment",
                "ApplyVoucher",
                "RemoveLine",
                "Recover",
                "Approve",
                "Reject",
                "SetAddress",
            ]
        );
        for name in names {
            assert_eq!(Event::parse(name).map(Event::name), Some(name));
        }
        assert_eq!(Event::parse("supersede"), None);
        assert_eq!(Event::parse("Resnapshot"), None);
    }

    use super::*;

    const ALL_STATES: [SessionStatus; 11] = [
        SessionStatus::Active,
        SessionStatus::PaymentPending,
        SessionStatus::Inactive(InactiveReason::Superseded),
        SessionStatus::Inactive(InactiveReason::SignedOut),
        SessionStatus::Inactive(InactiveReason::Emptied),
        SessionStatus::Inactive(InactiveReason::Cancelled),
        SessionStatus::Inactive(InactiveReason::LoginExpired),
        SessionStatus::Expired,
        SessionStatus::Completed(Completion::OrderPlaced),
        SessionStatus::Completed(Completion::Paid),
        SessionStatus::Completed(Completion::SubmittedForApproval),
    ];

    #[test]
    fn an_ended_login_starts_no_checkout() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let second = chrono::Duration::seconds(1);
        assert!(login_may_start(now + second, now).is_ok());
        for ended in [now, now - second] {
            let refused = login_may_start(ended, now).unwrap_err();
            assert_eq!(refused.code, ErrorCode::Unauthenticated);
        }
    }

    #[test]
    fn the_earlier_of_window_and_login_ends_an_active_session_only() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let m = |n: i64| Some(now + chrono::Duration::minutes(n));
        let login_ended = SessionStatus::Inactive(InactiveReason::LoginExpired);
        let cases = [
            (m(5), m(5), SessionStatus::Active),
            (m(5), m(0), login_ended),
            (m(0), m(5), SessionStatus::Expired),
            (m(-1), m(-2), login_ended),
            (m(-2), m(-1), SessionStatus::Expired),
            (m(-1), m(-1), SessionStatus::Expired),
            (None, m(-1), login_ended),
            (m(-1), None, SessionStatus::Expired),
            (None, None, SessionStatus::Active),
        ];
        for (window, login, expected) in cases {
            let read = SessionStatus::Active.at_ends(window, login, now);
            assert_eq!(read, expected, "{window:?} {login:?}");
            let stored = SessionStatus::Active.read_time_end(read);
            match stored {
                Some(t) => assert_eq!(SessionStatus::Active.apply(t), Ok(expected)),
                None => assert_eq!(expected, SessionStatus::Active),
            }
        }
        // A payment in flight is settled by reconciliation, never by either clock.
        assert_eq!(
            SessionStatus::PaymentPending.at_ends(m(-1), m(-1), now),
            SessionStatus::PaymentPending
        );
        let ended = SessionStatus::Inactive(InactiveReason::LoginExpired);
        assert_eq!(ended.blocking_code(), Some(ErrorCode::CheckoutInactive));
        assert!(ended.blocking().unwrap().message.contains("sign-in ended"));
    }

    #[test]
    fn stored_names_round_trip() {
        for state in ALL_STATES {
            assert_eq!(
                SessionStatus::from_parts(state.name(), state.reason()),
                Some(state)
            );
        }
        assert_eq!(SessionStatus::from_parts("ACTIVE", Some("X")), None);
        assert_eq!(SessionStatus::from_parts("NOT_FOUND", None), None);
    }

    #[test]
    fn only_sessions_that_ended_without_an_order_are_purgeable() {
        for state in ALL_STATES {
            let ended_without_order =
                state.is_terminal() && !matches!(state, SessionStatus::Completed(_));
            assert_eq!(state.is_purgeable(), ended_without_order, "{state:?}");
            assert_eq!(
                SessionStatus::PURGEABLE_NAMES.contains(&state.name()),
                state.is_purgeable(),
                "{state:?}"
            );
        }
    }

    #[test]
    fn an_emptied_checkout_does_not_promise_a_kept_cart() {
        let emptied = SessionStatus::Inactive(InactiveReason::Emptied)
            .blocking()
            .unwrap();
        assert_eq!(emptied.code, ErrorCode::CheckoutInactive);
        assert!(
            !emptied.message.contains("cart is kept"),
            "{}",
            emptied.message
        );
        assert!(emptied.message.contains("removed the last item"));
        let superseded = SessionStatus::Inactive(InactiveReason::Superseded)
            .blocking()
            .unwrap();
        assert_eq!(superseded.code, ErrorCode::CheckoutSuperseded);
        assert_eq!(SessionStatus::Active.blocking(), None);
    }

    #[test]
    fn terminal_states_accept_no_transition() {
        for state in ALL_STATES.iter().filter(|s| s.is_terminal()) {
            for t in Transition::ALL {
                assert!(state.apply(t).is_err(), "{state:?} {t:?}");
            }
        }
    }

    #[test]
    fn a_pending_payment_cannot_be_superseded_or_signed_out() {
        let pending = SessionStatus::PaymentPending;
        for t in [
            Transition::Supersede,
            Transition::SignOut,
            Transition::Expire,
            Transition::PlaceOrder,
        ] {
            let err = pending.apply(t).unwrap_err();
            assert_eq!(err.rejection().code, ErrorCode::PaymentInProgress);
        }
    }

    #[test]
    fn expiry_is_exactly_at_expires_at() {
        let expiry = DateTime::parse_from_rfc3339("2026-05-01T12:10:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let just_before = expiry - chrono::Duration::milliseconds(1);
        assert_eq!(
            SessionStatus::Active.at(Some(expiry), just_before),
            SessionStatus::Active
        );
        assert_eq!(
            SessionStatus::Active.at(Some(expiry), expiry),
            SessionStatus::Expired
        );
        assert_eq!(
            SessionStatus::Active.at(None, expiry),
            SessionStatus::Active
        );
        assert_eq!(
            SessionStatus::PaymentPending.at(Some(expiry), expiry),
            SessionStatus::PaymentPending
        );
    }

    #[test]
    fn an_unpaid_payment_returns_to_active_or_lapses_with_the_window() {
        let expiry = DateTime::parse_from_rfc3339("2026-05-01T12:10:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let before = expiry - chrono::Duration::seconds(1);
        assert_eq!(
            after_unpaid(Some(expiry), before),
            Transition::ReleasePayment
        );
        assert_eq!(after_unpaid(Some(expiry), expiry), Transition::LapsePayment);
        assert_eq!(after_unpaid(None, expiry), Transition::ReleasePayment);
        for t in [
            after_unpaid(Some(expiry), before),
            after_unpaid(Some(expiry), expiry),
        ] {
            assert!(SessionStatus::PaymentPending.apply(t).is_ok());
        }
    }

    #[test]
    fn initiation_supersedes_live_and_expires_lapsed_sessions() {
        let now = DateTime::parse_from_rfc3339("2026-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let live = vec![
            LiveSession {
                id: "a".into(),
                status: SessionStatus::Active,
                managed: true,
                expires_at: Some(now + chrono::Duration::minutes(3)),
                login_expires_at: None,
            },
            LiveSession {
                id: "b".into(),
                status: SessionStatus::Active,
                managed: true,
                expires_at: Some(now),
                login_expires_at: None,
            },
            LiveSession {
                id: "c".into(),
                status: SessionStatus::Active,
                managed: true,
                expires_at: Some(now + chrono::Duration::minutes(3)),
                login_expires_at: Some(now - chrono::Duration::seconds(1)),
            },
        ];
        assert_eq!(
            plan_initiation(&live, true, now).unwrap(),
            vec![
                ("a".to_string(), Transition::Supersede),
                ("b".to_string(), Transition::Expire),
                ("c".to_string(), Transition::EndLogin)
            ]
        );
        assert!(plan_initiation(&live, false, now).unwrap().is_empty());
        let paying = vec![LiveSession {
            id: "p".into(),
            status: SessionStatus::PaymentPending,
            managed: true,
            expires_at: None,
            login_expires_at: None,
        }];
        assert_eq!(
            plan_initiation(&paying, true, now).unwrap_err().code,
            ErrorCode::PaymentInProgress
        );
        // A plain checkout (management off) replaces nothing, so it refuses nothing.
        assert!(plan_initiation(&paying, false, now).unwrap().is_empty());
    }
}
