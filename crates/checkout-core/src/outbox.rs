//! Order events for downstream systems (CONTRACT §14): which events there are, and how
//! a delivery is retried. The server writes each event in the transaction of its
//! effect and a worker delivers it, signed ([`crate::signature`]), at least once, in
//! order per checkout: an event waits while an earlier one of the same checkout to the
//! same endpoint is undelivered — pending, or given up (then the later ones wait until
//! the admin sends it again). A failed attempt is retried with a growing wait (1 s,
//! 2 s, 4 s, … at most an hour apart) for [`RETRY_FOR`] after the delivery's first
//! attempt (an event held back behind an earlier one gets its full time once sent); then
//! it is given up and shown as such to the admin.

use chrono::{DateTime, Duration, Utc};

use crate::lifecycle::Completion;

/// How long after its first attempt a delivery is still tried (at least 24 hours,
/// CONTRACT §14).
pub const RETRY_FOR: Duration = Duration::hours(72);
/// The longest wait between two attempts.
pub const MAX_WAIT: Duration = Duration::hours(1);

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Place Order: an order on a deferred method.
    OrderPlaced,
    /// Pay Now and Submit: an order paid by card.
    OrderPaid,
    /// Submit for Approval: an order waiting for an approver.
    OrderSubmittedForApproval,
    /// An approver approved a submitted order.
    OrderApproved,
    /// An approver rejected a submitted order.
    OrderRejected,
    /// A charge was refunded or voided.
    PaymentRefunded,
}

serde_by_name!(EventType, "event type");

impl EventType {
    /// Every type.
    pub const ALL: [EventType; 6] = [
        EventType::OrderPlaced,
        EventType::OrderPaid,
        EventType::OrderSubmittedForApproval,
        EventType::OrderApproved,
        EventType::OrderRejected,
        EventType::PaymentRefunded,
    ];

    /// The wire name, e.g. `order.placed`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::OrderPlaced => "order.placed",
            EventType::OrderPaid => "order.paid",
            EventType::OrderSubmittedForApproval => "order.submitted_for_approval",
            EventType::OrderApproved => "order.approved",
            EventType::OrderRejected => "order.rejected",
            EventType::PaymentRefunded => "payment.refunded",
        }
    }

    /// The event of an order action's completion.
    pub fn of(completion: Completion) -> EventType {
        match completion {
            Completion::OrderPlaced => EventType::OrderPlaced,
            Completion::Paid => EventType::OrderPaid,
            Completion::SubmittedForApproval => EventType::OrderSubmittedForApproval,
        }
    }
}

/// Whether a receiver's answer status means "delivered": any 2xx. Anything else (and
/// no answer) is retried.
pub fn delivered(status: u16) -> bool {
    (200..300).contains(&status)
}

/// When to try again after `attempts` failed attempts of a delivery first tried at
/// `first_attempt`, or `None` when its time is up ([`RETRY_FOR`]).
pub fn next_attempt(
    attempts: u32,
    first_attempt: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let wait = Duration::seconds(1_i64 << attempts.saturating_sub(1).min(12)).min(MAX_WAIT);
    let at = now + wait;
    (at < first_attempt + RETRY_FOR).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_grow_to_an_hour_and_last_three_days() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let waits: Vec<i64> = (1..=14)
            .map(|n| (next_attempt(n, t0, t0).unwrap() - t0).num_seconds())
            .collect();
        assert_eq!(
            waits,
            [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600, 3600]
        );
        assert_eq!(next_attempt(u32::MAX, t0, t0).unwrap() - t0, MAX_WAIT);
        // Still retried a day later, given up after three.
        assert!(next_attempt(30, t0, t0 + Duration::hours(24)).is_some());
        assert!(next_attempt(30, t0, t0 + RETRY_FOR - Duration::minutes(30)).is_none());
    }

    #[test]
    fn only_2xx_is_delivered() {
        assert!(delivered(200) && delivered(204) && delivered(299));
        assert!(!delivered(301) && !delivered(404) && !delivered(500) && !delivered(199));
    }

    #[test]
    fn completions_map_to_their_events() {
        assert_eq!(EventType::of(Completion::Paid).as_str(), "order.paid");
        for t in EventType::ALL {
            assert_eq!(EventType::from_name(t.as_str()), Some(t));
        }
    }
}
