//! The local recovery record the browser keeps (CONTRACT §9): the last server view of the
//! checkout, the step and selections, and the pending order action with its idempotency
//! key. It is written *before* a request leaves, so after a refresh, crash or lost
//! connection the page resumes the same checkout and retries the same key.
//!
//! The record comes from browser storage, which anything can write to, so parsing is
//! strict and a bad record is refused as a whole (the module then works server-only).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    error::{ErrorCode, Rejection},
    idempotency::IdempotencyKey,
    lifecycle::SessionStatus,
    verdict::{effective_status, evaluate_parts, Action, SessionView, Verdict},
};

/// The record layout version; a record of another version is ignored.
pub const RECORD_VERSION: u32 = 1;
/// Largest record accepted from storage.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

wire_enum! {
    /// Where the shopper is in the checkout.
    pub enum Step as "step", in TypeScript "CheckoutStep" {
        /// Reviewing the order summary.
        Summary = "summary",
        /// Choosing shipping.
        Shipping = "shipping",
        /// Choosing payment.
        Payment = "payment",
        /// Confirming.
        Review = "review",
        /// An order action was sent and its answer is not known yet.
        Submitting = "submitting",
        /// The order exists.
        Done = "done",
    }
}

/// The shopper's choices so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(missing_as_null))]
pub struct Selections {
    /// Chosen shipping method id.
    #[serde(default)]
    pub shipping_method: Option<String>,
    /// Chosen payment method id.
    #[serde(default)]
    pub payment_method: Option<String>,
    /// Voucher codes applied.
    #[serde(default)]
    pub vouchers: Vec<String>,
}

/// An order action that was (or is about to be) sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(missing_as_null))]
pub struct PendingAction {
    /// Which action.
    #[cfg_attr(feature = "typescript", tsify(type = "OrderAction"))]
    pub action: Action,
    /// The key every retry must reuse.
    pub idempotency_key: String,
    /// The digest the shopper confirmed.
    pub digest: String,
    /// When it was first attempted.
    #[serde(with = "crate::time::rfc3339")]
    #[cfg_attr(feature = "typescript", tsify(type = "string"))]
    pub started_at: DateTime<Utc>,
}

/// What the shopper is told when a payment sent before a reload is found not completed
/// (the checkout is active again). Not "nothing was charged": a payment the provider
/// could not say anything about may still charge later, and is then refunded by itself
/// (`payment::release_message`).
pub const UNSENT_PAYMENT_MESSAGE: &str = "Your earlier payment was not completed. Enter \
    your card to pay again; should a charge for the earlier attempt appear later, it is \
    refunded by itself.";

/// What the browser keeps for one checkout.
///
/// Unknown fields are ignored, on both targets (the shared record vectors prove they
/// agree): a field a newer module added within the same [`RECORD_VERSION`] must not
/// make an older tab drop the record, because the record holds the pending action's
/// idempotency key, and a retry under a new key could place a second order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(missing_as_null))]
pub struct RecoveryRecord {
    /// [`RECORD_VERSION`].
    pub version: u32,
    /// The last view of the session the server gave.
    pub session: SessionView,
    /// The checkout number, for display.
    pub checkout_number: String,
    /// The current step.
    #[cfg_attr(feature = "typescript", tsify(type = "CheckoutStep"))]
    pub step: Step,
    /// The shopper's choices.
    #[serde(default)]
    pub selections: Selections,
    /// The order action in flight, if any.
    #[serde(default)]
    pub pending: Option<PendingAction>,
    /// The latest recovery token.
    #[serde(default)]
    pub recovery_token: Option<String>,
    /// The order id once the checkout completed.
    #[serde(default)]
    pub order_id: Option<String>,
    /// When this record was written.
    #[serde(with = "crate::time::rfc3339")]
    #[cfg_attr(feature = "typescript", tsify(type = "string"))]
    pub saved_at: DateTime<Utc>,
}

/// Why a stored record was not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Larger than [`MAX_RECORD_BYTES`].
    #[error("the stored record is too large ({0} bytes)")]
    TooLarge(usize),
    /// Not a record at all.
    #[error("the stored record is not readable: {0}")]
    Unreadable(String),
    /// A record of another layout version.
    #[error("the stored record has version {0}, expected {RECORD_VERSION}")]
    WrongVersion(u32),
    /// Parsed, but a field breaks a rule.
    #[error("the stored record is inconsistent: {0}")]
    Inconsistent(&'static str),
}

impl RecordError {
    /// The kind, as the shared vectors name it: `too_large`, `unreadable`,
    /// `wrong_version` or `inconsistent`.
    pub fn kind(&self) -> &'static str {
        match self {
            RecordError::TooLarge(_) => "too_large",
            RecordError::Unreadable(_) => "unreadable",
            RecordError::WrongVersion(_) => "wrong_version",
            RecordError::Inconsistent(_) => "inconsistent",
        }
    }
}

impl RecoveryRecord {
    /// A fresh record for a session the server just returned.
    pub fn new(session: SessionView, checkout_number: String, now: DateTime<Utc>) -> Self {
        RecoveryRecord {
            version: RECORD_VERSION,
            session,
            checkout_number,
            step: Step::Summary,
            selections: Selections::default(),
            pending: None,
            recovery_token: None,
            order_id: None,
            saved_at: now,
        }
    }

    /// Parses a record read from storage, refusing anything too large, malformed, of
    /// another version, or inconsistent (such as a pending action whose key is unusable).
    ///
    /// A reader with its own JSON parser (the browser module uses the browser's, so the
    /// module carries one serde backend, not two) applies the same three checks in the
    /// same order: [`check_size`](Self::check_size) on the text,
    /// [`check_version`](Self::check_version) on the parsed value, then
    /// [`validated`](Self::validated) on the record.
    pub fn parse(text: &str) -> Result<RecoveryRecord, RecordError> {
        Self::check_size(text.len())?;
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| RecordError::Unreadable(e.to_string()))?;
        Self::check_version(value.get("version").and_then(serde_json::Value::as_u64))?;
        let record: RecoveryRecord =
            serde_json::from_value(value).map_err(|e| RecordError::Unreadable(e.to_string()))?;
        record.validated()
    }

    /// Refuses stored text longer than [`MAX_RECORD_BYTES`] before it is parsed.
    pub fn check_size(len: usize) -> Result<(), RecordError> {
        if len > MAX_RECORD_BYTES {
            return Err(RecordError::TooLarge(len));
        }
        Ok(())
    }

    /// Refuses a parsed record without a `version` or of another layout version (checked
    /// before the fields, so an old layout is reported as such, not as unreadable).
    pub fn check_version(version: Option<u64>) -> Result<(), RecordError> {
        let version = version.ok_or(RecordError::Inconsistent("no version"))?;
        if version != u64::from(RECORD_VERSION) {
            return Err(RecordError::WrongVersion(
                u32::try_from(version).unwrap_or(u32::MAX),
            ));
        }
        Ok(())
    }

    /// The record if its fields are consistent: a session id and user, and a pending
    /// action only for an order action with a usable key.
    pub fn validated(self) -> Result<RecoveryRecord, RecordError> {
        if self.session.id.is_empty() || self.session.user_id.is_empty() {
            return Err(RecordError::Inconsistent("no session id or user"));
        }
        if let Some(pending) = &self.pending {
            if IdempotencyKey::parse(Some(&pending.idempotency_key)).is_err() {
                return Err(RecordError::Inconsistent(
                    "pending action has an unusable key",
                ));
            }
            if !pending.action.places_order() {
                return Err(RecordError::Inconsistent(
                    "pending action is not an order action",
                ));
            }
        }
        Ok(self)
    }

    /// The record as stored.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The local verdict for a page showing `page_session_id` (or the record's session
    /// when `None`), seen by `user_id`; `None` when the record says nothing about the
    /// page's checkout (wait for the server).
    ///
    /// The record speaks of one checkout. A page showing another learns only one thing
    /// from it, and only when the record `moved_on` from the page's checkout (this page
    /// saw the record hold its checkout, and it now holds another: a record only ever
    /// moves to the shopper's latest checkout): while that later checkout is live
    /// (active or paying) and checkouts are managed, the page's is superseded, exactly
    /// as the server would say. Otherwise — the page's checkout never was the record's
    /// (a link, a bank's return, a reload), or the record's has ended — its status,
    /// order and number are never lent to the page's checkout.
    pub fn local_verdict(
        &self,
        page_session_id: Option<&str>,
        user_id: Option<&str>,
        now: DateTime<Utc>,
        moved_on: bool,
    ) -> Option<Verdict> {
        match page_session_id {
            Some(page) if page != self.session.id => {
                let live = effective_status(&self.session, now).is_live();
                if !(moved_on && live && self.session.managed) {
                    return None;
                }
                let older_page = SessionView {
                    id: page.to_owned(),
                    status: SessionStatus::Active,
                    is_latest: false,
                    ..self.session.clone()
                };
                Some(evaluate_parts(
                    Some(&older_page),
                    user_id,
                    Action::View,
                    None,
                    now,
                ))
            }
            _ => Some(evaluate_parts(
                Some(&self.session),
                user_id,
                Action::View,
                None,
                now,
            )),
        }
    }

    /// Whether the record is about the checkout a page showing `page_session_id` shows
    /// (its number, expiry and order may be shown there).
    pub fn is_about(&self, page_session_id: Option<&str>) -> bool {
        page_session_id.is_none_or(|page| page == self.session.id)
    }

    /// Records that `action` is about to be sent and returns the pending action to send.
    /// If the same action on the same digest is already pending (a refresh, a crash, a
    /// lost answer), its key is returned again: a retry never gets a new key, so the
    /// server can never make a second order. A different order action while one is
    /// pending is refused with `REQUEST_IN_PROGRESS`.
    pub fn begin(
        &mut self,
        action: Action,
        fresh_key: &str,
        now: DateTime<Utc>,
    ) -> Result<PendingAction, Rejection> {
        if !action.places_order() {
            return Err(Rejection::with_message(
                ErrorCode::ValidationFailed,
                "only order actions are tracked as pending",
            ));
        }
        if let Some(pending) = &self.pending {
            if pending.action == action && pending.digest == self.session.digest {
                return Ok(pending.clone());
            }
            if pending.digest == self.session.digest {
                return Err(Rejection::new(ErrorCode::RequestInProgress));
            }
        }
        let key = IdempotencyKey::parse(Some(fresh_key))?;
        let pending = PendingAction {
            action,
            idempotency_key: key.as_str().to_owned(),
            digest: self.session.digest.clone(),
            started_at: now,
        };
        self.pending = Some(pending.clone());
        self.step = Step::Submitting;
        self.saved_at = now;
        Ok(pending)
    }

    /// The answer to the pending action arrived. A definite answer (an order, or a
    /// refusal) clears it; "not known yet" (`REQUEST_IN_PROGRESS`, or
    /// `PAYMENT_IN_PROGRESS` while the payment is being confirmed) keeps it so the retry
    /// reuses the key.
    pub fn settle(
        &mut self,
        idempotency_key: &str,
        outcome: Result<&str, ErrorCode>,
        now: DateTime<Utc>,
    ) {
        let matches = self
            .pending
            .as_ref()
            .is_some_and(|p| p.idempotency_key == idempotency_key);
        if !matches {
            return;
        }
        match outcome {
            Ok(order_id) => {
                if let Some((_, completion)) =
                    self.pending.take().and_then(|p| p.action.completion())
                {
                    // The session is now completed: a page restored later (back/forward
                    // cache) must know without asking the server.
                    self.session.status = SessionStatus::Completed(completion);
                }
                self.order_id = Some(order_id.to_owned());
                self.step = Step::Done;
            }
            // Not decided yet (still running, or the server could not decide): the
            // pending action and its key stay for the retry.
            Err(code) if code.is_undecided() => return,
            Err(_) => {
                self.pending = None;
                self.step = Step::Review;
            }
        }
        self.saved_at = now;
    }

    /// The pending payment can no longer be resent as it was (its card is not kept, and
    /// the page was reloaded) and the server shows the checkout `ACTIVE`: the payment
    /// did not complete (a completed one never leaves its checkout active), so the
    /// pending action is dropped and the next Pay starts with a fresh key. Nothing else
    /// is dropped: any other pending action, or a checkout in any other state, is kept.
    /// Returns what to tell the shopper when it dropped it ([`UNSENT_PAYMENT_MESSAGE`]).
    pub fn abandon_unsendable_payment(
        &mut self,
        server_state: SessionStatus,
        now: DateTime<Utc>,
    ) -> Option<&'static str> {
        let paying = self
            .pending
            .as_ref()
            .is_some_and(|p| p.action == Action::Pay);
        if !paying || server_state != SessionStatus::Active {
            return None;
        }
        self.pending = None;
        self.step = Step::Review;
        self.saved_at = now;
        Some(UNSENT_PAYMENT_MESSAGE)
    }

    /// What a server answer about `view` makes of the stored record `existing`: the same
    /// session is observed; another session replaces the record only if it is the
    /// shopper's latest (an older page must not overwrite what a newer tab stored), and
    /// `None` says to keep `existing` as it is — also when the answer changes nothing but
    /// the time (a write would fire `storage` in every other tab, which would ask the
    /// server and write again: two idle tabs made hundreds of requests a second). A
    /// recovery token the answer carries is kept, and an order ends the flow.
    pub fn absorb(
        existing: Option<RecoveryRecord>,
        view: SessionView,
        checkout_number: &str,
        recovery_token: Option<&str>,
        order_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Option<RecoveryRecord> {
        let before = existing.clone();
        let mut record = match existing {
            Some(mut r) if r.session.id == view.id => {
                r.observe(view, now);
                r
            }
            Some(_) if !view.is_latest => return None,
            _ => RecoveryRecord::new(view, checkout_number.to_owned(), now),
        };
        if let Some(token) = recovery_token {
            record.recovery_token = Some(token.to_owned());
        }
        if let Some(order) = order_id {
            record.order_id = Some(order.to_owned());
            record.step = Step::Done;
        }
        if let Some(before) = before {
            let unchanged = RecoveryRecord {
                saved_at: before.saved_at,
                ..record.clone()
            };
            if unchanged == before {
                return None;
            }
        }
        Some(record)
    }

    /// Takes in a fresher server view of the same session (selections re-price it, so
    /// the digest moves). A pending action made on an older digest is dropped: the
    /// server would refuse it with `SNAPSHOT_MISMATCH` anyway.
    pub fn observe(&mut self, session: SessionView, now: DateTime<Utc>) {
        if session.id != self.session.id {
            return;
        }
        if let Some(pending) = &self.pending {
            if pending.digest != session.digest {
                self.pending = None;
            }
        }
        self.session = session;
        self.saved_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::VerdictState;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn record() -> RecoveryRecord {
        RecoveryRecord::new(
            SessionView {
                id: "s2".into(),
                user_id: "u1".into(),
                status: SessionStatus::Active,
                managed: true,
                expires_at: Some(now() + chrono::Duration::minutes(10)),
                login_expires_at: None,
                is_latest: true,
                digest: "sha256:aa".into(),
                generation: 0,
            },
            "CO-22112026-000002".into(),
            now(),
        )
    }

    #[test]
    fn an_unsendable_payment_is_dropped_only_when_the_checkout_is_active_again() {
        let mut r = record();
        r.begin(Action::Pay, "pay-1", now()).unwrap();
        // Still being confirmed, or completed: kept.
        assert_eq!(
            r.abandon_unsendable_payment(SessionStatus::PaymentPending, now()),
            None
        );
        assert_eq!(
            r.abandon_unsendable_payment(
                SessionStatus::Completed(crate::lifecycle::Completion::Paid),
                now()
            ),
            None
        );
        assert!(r.pending.is_some());
        // Active again (declined, voided, or never arrived): dropped, a fresh key next.
        assert_eq!(
            r.abandon_unsendable_payment(SessionStatus::Active, now()),
            Some(UNSENT_PAYMENT_MESSAGE)
        );
        // Never "nothing was charged": a late charge of the attempt may still come, and
        // is refunded (what the page said before the words came from here).
        let said = UNSENT_PAYMENT_MESSAGE.to_lowercase();
        assert!(!said.contains("nothing was charged") && said.contains("refunded"));
        assert!(r.pending.is_none());
        let next = r.begin(Action::Pay, "pay-2", now()).unwrap();
        assert_eq!(next.idempotency_key, "pay-2");
        // A pending Place Order is never dropped this way.
        let mut placing = record();
        placing.begin(Action::PlaceOrder, "place-1", now()).unwrap();
        assert_eq!(
            placing.abandon_unsendable_payment(SessionStatus::Active, now()),
            None
        );
        assert!(placing.pending.is_some());
    }

    #[test]
    fn retries_reuse_the_pending_key() {
        let mut r = record();
        let first = r.begin(Action::PlaceOrder, "key-1", now()).unwrap();
        let stored = RecoveryRecord::parse(&r.to_json()).unwrap();
        let mut after_refresh = stored;
        let again = after_refresh
            .begin(Action::PlaceOrder, "key-2", now())
            .unwrap();
        assert_eq!(again.idempotency_key, first.idempotency_key);
        assert_eq!(
            after_refresh
                .begin(Action::Pay, "key-3", now())
                .unwrap_err()
                .code,
            ErrorCode::RequestInProgress
        );
        after_refresh.settle("key-1", Err(ErrorCode::RequestInProgress), now());
        assert!(after_refresh.pending.is_some());
        after_refresh.settle("key-1", Err(ErrorCode::PaymentInProgress), now());
        assert!(after_refresh.pending.is_some());
        // An outage decides nothing: the pending action and its key stay.
        for code in ErrorCode::ALL.into_iter().filter(|c| c.is_undecided()) {
            after_refresh.settle("key-1", Err(code), now());
            assert_eq!(
                after_refresh
                    .pending
                    .as_ref()
                    .map(|p| p.idempotency_key.as_str()),
                Some("key-1"),
                "{code}"
            );
        }
        // A throttled order action was refused before it ran: it settles, and the
        // shopper's next try gets a new key.
        let mut throttled = after_refresh.clone();
        throttled.settle("key-1", Err(ErrorCode::RateLimited), now());
        assert!(throttled.pending.is_none());
        assert_eq!(throttled.step, Step::Review);
        after_refresh.settle("other-key", Ok("order-0"), now());
        assert!(
            after_refresh.pending.is_some(),
            "an answer to another key changes nothing"
        );
        after_refresh.settle("key-1", Ok("order-9"), now());
        assert!(after_refresh.pending.is_none());
        assert_eq!(after_refresh.step, Step::Done);
        // A page restored from the back-forward cache now sees the order, offline.
        let restored = after_refresh
            .local_verdict(Some("s2"), Some("u1"), now(), false)
            .unwrap();
        assert_eq!(restored.state, VerdictState::Completed);
        assert_eq!(
            restored.rejection.map(|r| r.code),
            Some(ErrorCode::CheckoutCompleted)
        );
    }

    #[test]
    fn a_new_digest_drops_the_pending_action() {
        let mut r = record();
        r.begin(Action::PlaceOrder, "key-1", now()).unwrap();
        let mut fresher = r.session.clone();
        fresher.digest = "sha256:bb".into();
        r.observe(fresher, now());
        assert!(r.pending.is_none());
        let next = r.begin(Action::PlaceOrder, "key-2", now()).unwrap();
        assert_eq!(next.idempotency_key, "key-2");
    }

    #[test]
    fn garbage_is_refused_not_trusted() {
        for text in [
            "",
            "null",
            "{}",
            "[1,2]",
            "{\"version\":2}",
            "{\"version\":1,\"session\":5}",
        ] {
            assert!(RecoveryRecord::parse(text).is_err(), "{text:?}");
        }
        let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(MAX_RECORD_BYTES));
        assert!(matches!(
            RecoveryRecord::parse(&huge),
            Err(RecordError::TooLarge(_))
        ));
        let mut r = record();
        r.begin(Action::PlaceOrder, "key-1", now()).unwrap();
        let bad_key = r.to_json().replace("key-1", "bad key");
        assert!(RecoveryRecord::parse(&bad_key).is_err());
    }

    #[test]
    fn a_server_answer_updates_or_replaces_the_record_but_never_with_an_older_session() {
        let r = record();
        let mut same = r.session.clone();
        same.digest = "sha256:bb".into();
        let kept = RecoveryRecord::absorb(Some(r.clone()), same, "CO-1", Some("tok"), None, now())
            .unwrap();
        assert_eq!(kept.session.digest, "sha256:bb");
        assert_eq!(kept.checkout_number, r.checkout_number);
        assert_eq!(kept.recovery_token.as_deref(), Some("tok"));
        let mut older = r.session.clone();
        older.id = "s1".into();
        older.is_latest = false;
        assert!(
            RecoveryRecord::absorb(Some(r.clone()), older, "CO-0", None, None, now()).is_none()
        );
        let mut newer = r.session.clone();
        newer.id = "s3".into();
        let replaced =
            RecoveryRecord::absorb(Some(r), newer, "CO-3", None, Some("o1"), now()).unwrap();
        assert_eq!(replaced.session.id, "s3");
        assert_eq!(replaced.checkout_number, "CO-3");
        assert_eq!(replaced.order_id.as_deref(), Some("o1"));
        assert_eq!(replaced.step, Step::Done);
    }

    #[test]
    fn an_answer_that_changes_nothing_but_the_time_is_not_written() {
        let r = record();
        let later = now() + chrono::Duration::seconds(5);
        // The same view again: nothing to store (no storage event for other tabs).
        assert!(RecoveryRecord::absorb(
            Some(r.clone()),
            r.session.clone(),
            "CO-1",
            None,
            None,
            later
        )
        .is_none());
        // Any real change is stored.
        let mut moved = r.session.clone();
        moved.digest = "sha256:cc".into();
        assert!(
            RecoveryRecord::absorb(Some(r.clone()), moved, "CO-1", None, None, later).is_some()
        );
        assert!(RecoveryRecord::absorb(
            Some(r.clone()),
            r.session.clone(),
            "CO-1",
            Some("t"),
            None,
            later
        )
        .is_some());
    }

    #[test]
    fn a_page_showing_an_older_session_is_superseded_locally() {
        let r = record();
        let v = r
            .local_verdict(Some("s1"), Some("u1"), now(), true)
            .unwrap();
        assert_eq!(v.state, VerdictState::Inactive);
        assert_eq!(v.rejection.unwrap().code, ErrorCode::CheckoutSuperseded);
        assert!(r
            .local_verdict(Some("s2"), Some("u1"), now(), true)
            .unwrap()
            .is_allowed());
        let later = now() + chrono::Duration::minutes(10);
        assert_eq!(
            r.local_verdict(None, Some("u1"), later, true)
                .unwrap()
                .state,
            VerdictState::Expired
        );
        assert!(r.is_about(None) && r.is_about(Some("s2")) && !r.is_about(Some("s1")));
        // A page whose checkout never was the record's (opened from a link, a bank's
        // return, a reload) may show a newer checkout than the record's: unknown here.
        assert_eq!(r.local_verdict(Some("s3"), Some("u1"), now(), false), None);
    }

    #[test]
    fn a_record_of_an_ended_checkout_says_nothing_about_another() {
        let mut completed = record();
        completed.begin(Action::PlaceOrder, "key-1", now()).unwrap();
        completed.settle("key-1", Ok("order-1"), now());
        completed.session.status = SessionStatus::Completed(crate::Completion::OrderPlaced);
        // Its own page sees the order; any other checkout is unknown here, never
        // "completed" with this checkout's order.
        let own = completed
            .local_verdict(Some("s2"), Some("u1"), now(), false)
            .unwrap();
        assert_eq!(own.state, VerdictState::Completed);
        assert_eq!(
            completed.local_verdict(Some("s7"), Some("u1"), now(), true),
            None
        );
        // A paying checkout still supersedes every other.
        let mut paying = record();
        paying.session.status = SessionStatus::PaymentPending;
        let v = paying
            .local_verdict(Some("s1"), Some("u1"), now(), true)
            .unwrap();
        assert_eq!(v.rejection.unwrap().code, ErrorCode::CheckoutSuperseded);
        // An expired one, or one that is itself superseded, says nothing.
        let later = now() + chrono::Duration::minutes(11);
        assert_eq!(
            record().local_verdict(Some("s1"), Some("u1"), later, true),
            None
        );
        let mut older = record();
        older.session.is_latest = false;
        assert_eq!(
            older.local_verdict(Some("s1"), Some("u1"), now(), true),
            None
        );
        // Without session management no checkout supersedes another.
        let mut unmanaged = record();
        unmanaged.session.managed = false;
        assert_eq!(
            unmanaged.local_verdict(Some("s1"), Some("u1"), now(), true),
            None
        );
    }
}
