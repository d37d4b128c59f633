//! Order events for downstream systems (CONTRACT §14): which events there are, and how
//! a delivery is retried. The server writes each event in the transaction of its
//! effect and a worker delivers it, signed ([`crate::webhook`]), at least once, in
//! order per checkout: an event waits while an earlier one of the same checkout to the
//! same endpoint is undelivered — pending, or given up (then the later ones wait until
//! the admin sends it again). A failed attempt is retried with a growing wait (1 s,
//! 2 s, 4 s, … at most an hour apart) for [`RETRY_FOR`] after the delivery's first
//! attempt (an event held back behind an earlier one gets its full time once sent); then
//! it is given up and shown as such to the admin. A receiver's `Retry-After` (on 429 and
//! 503) and 410 Gone are honoured ([`after_attempt`]); deliveries are signed as
//! Standard Webhooks ([`crate::webhook`]).

use chrono::{DateTime, Duration, Utc};

use crate::lifecycle::Completion;

/// How long after its first attempt a delivery is still tried (at least 24 hours,
/// CONTRACT §14).
pub const RETRY_FOR: Duration = Duration::hours(72);
/// The longest wait between two attempts.
pub const MAX_WAIT: Duration = Duration::hours(1);

wire_enum! {
    /// What happened.
    pub enum EventType as "event type", in TypeScript "OrderEventType" {
        /// Place Order: an order on a deferred method.
        OrderPlaced = "order.placed",
        /// Pay Now and Submit: an order paid by card.
        OrderPaid = "order.paid",
        /// Submit for Approval: an order waiting for an approver.
        OrderSubmittedForApproval = "order.submitted_for_approval",
        /// An approver approved a submitted order.
        OrderApproved = "order.approved",
        /// An approver rejected a submitted order.
        OrderRejected = "order.rejected",
        /// A charge was refunded or voided.
        PaymentRefunded = "payment.refunded",
    }
}

impl EventType {
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
/// no answer) is retried, but for 410 ([`after_attempt`]).
pub fn delivered(status: u16) -> bool {
    (200..300).contains(&status)
}

/// How a receiver answered one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Answer<'a> {
    /// Its status, when it answered at all.
    pub status: Option<u16>,
    /// Its `Retry-After` header, if any.
    pub retry_after: Option<&'a str>,
}

/// What happens to a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// A 2xx: done.
    Delivered,
    /// Try again at this time.
    RetryAt(DateTime<Utc>),
    /// Its time is up: given up (shown to the admin, who may send it again).
    GiveUp,
    /// 410 Gone: the receiver asks for no more events. The endpoint is disabled (the
    /// admin sees why and may enable it again); this delivery and the ones after it
    /// wait, and are sent from where they stopped once it is enabled.
    DisableEndpoint,
}

/// What follows an attempt that got `answer`, the delivery's `attempts`-th failed one
/// (counting this) of a delivery first tried at `first_attempt`: a 2xx is delivered; 410
/// disables the endpoint; anything else is retried on the growing schedule of
/// [`next_attempt`], and 429 and 503 with a `Retry-After` no sooner than it says either
/// (its wait counted as at most [`MAX_WAIT`]); each until [`RETRY_FOR`] after the first
/// attempt.
pub fn after_attempt(
    answer: Answer<'_>,
    attempts: u32,
    first_attempt: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Next {
    let asked = match answer.status {
        Some(status) if delivered(status) => return Next::Delivered,
        Some(410) => return Next::DisableEndpoint,
        Some(429 | 503) => answer.retry_after.and_then(|v| retry_after(v, now)),
        _ => None,
    };
    let Some(scheduled) = next_attempt(attempts, first_attempt, now) else {
        return Next::GiveUp;
    };
    // The receiver's wait is a floor over the schedule, never a shortcut past it.
    let at = match asked {
        Some(wait) => scheduled.max(now + wait.clamp(Duration::seconds(1), MAX_WAIT)),
        None => scheduled,
    };
    if at < first_attempt + RETRY_FOR {
        Next::RetryAt(at)
    } else {
        Next::GiveUp
    }
}

/// A `Retry-After` value (RFC 9110 §10.2.3: delay seconds, or an HTTP date) as a wait
/// from `now`; `None` when it is neither. A date in the past is no wait.
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Any number of digits: more than a year's worth is a long wait all the same.
        return Some(Duration::seconds(
            value.parse::<i64>().unwrap_or(i64::MAX).min(366 * 86_400),
        ));
    }
    if value.len() > 64 {
        return None;
    }
    // IMF-fixdate, and the two obsolete forms RFC 9110 asks recipients to accept.
    let at = DateTime::parse_from_rfc2822(value)
        .map(|at| at.with_timezone(&Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(value, "%A, %d-%b-%y %H:%M:%S GMT")
                .or_else(|_| chrono::NaiveDateTime::parse_from_str(value, "%a %b %e %H:%M:%S %Y"))
                .map(|at| at.and_utc())
        })
        .ok()?;
    Some((at - now).max(Duration::zero()))
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
    fn receivers_answers_are_honoured() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let answer = |status, retry_after| Answer {
            status: Some(status),
            retry_after,
        };
        assert_eq!(after_attempt(answer(204, None), 1, t0, t0), Next::Delivered);
        assert_eq!(
            after_attempt(answer(410, Some("5")), 1, t0, t0),
            Next::DisableEndpoint
        );
        // Retry-After in seconds or as a date, at least 1 s, at most an hour.
        let at = |n| Next::RetryAt(t0 + Duration::seconds(n));
        assert_eq!(after_attempt(answer(429, Some("120")), 1, t0, t0), at(120));
        assert_eq!(after_attempt(answer(503, Some(" 7 ")), 3, t0, t0), at(7));
        // A floor over the schedule: a short or stale one never retries sooner.
        assert_eq!(after_attempt(answer(503, Some("7")), 9, t0, t0), at(256));
        assert_eq!(after_attempt(answer(429, Some("0")), 5, t0, t0), at(16));
        assert_eq!(
            after_attempt(answer(429, Some("999999999999999999999")), 1, t0, t0),
            at(3600)
        );
        // The obsolete date forms too.
        for obsolete in ["Friday, 15-Jan-27 08:01:30 GMT", "Fri Jan 15 08:01:30 2027"] {
            let wait = retry_after(obsolete, t0).unwrap();
            assert!(wait > Duration::zero(), "{obsolete}");
        }
        assert_eq!(after_attempt(answer(503, Some("0")), 1, t0, t0), at(1));
        assert_eq!(
            after_attempt(answer(429, Some("99999999")), 1, t0, t0),
            at(3600)
        );
        let date = (t0 + Duration::seconds(90))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        assert_eq!(after_attempt(answer(503, Some(&date)), 1, t0, t0), at(90));
        let past = (t0 - Duration::hours(1))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        assert_eq!(after_attempt(answer(503, Some(&past)), 1, t0, t0), at(1));
        // Not honoured on other statuses, and garbage falls back to the schedule.
        assert_eq!(after_attempt(answer(500, Some("120")), 1, t0, t0), at(1));
        assert_eq!(after_attempt(answer(429, Some("soon")), 3, t0, t0), at(4));
        assert_eq!(after_attempt(answer(429, Some("-5")), 3, t0, t0), at(4));
        assert_eq!(after_attempt(Answer::default(), 2, t0, t0), at(2));
        // A Retry-After past the retry period gives up.
        let late = t0 + RETRY_FOR - Duration::minutes(10);
        assert_eq!(
            after_attempt(answer(429, Some("3600")), 30, t0, late),
            Next::GiveUp
        );
        assert_eq!(
            after_attempt(answer(500, None), 30, t0, t0 + RETRY_FOR),
            Next::GiveUp
        );
    }

    #[test]
    fn completions_map_to_their_events() {
        assert_eq!(EventType::of(Completion::Paid).as_str(), "order.paid");
        for t in EventType::ALL {
            assert_eq!(EventType::from_name(t.as_str()), Some(t));
        }
    }
}
