//! Payments as real providers behave (CONTRACT §13): what a report about a payment does
//! to the checkout it pays for. A provider speaks three times about one payment — the
//! answer to the request that made it, its webhooks, and the answer to a lookup when
//! the shop reconciles — and each may come late, twice, or out of order. [`resolve`] is
//! the one rule all three go through, so whatever the order and however many times:
//! one order and one charge per checkout, and money taken for a checkout that can no
//! longer take it is given back.
//!
//! The shop never sees a card number: the browser tokenizes the card with the provider
//! and sends the token ([`PaymentToken`]).

use crate::{
    error::{ErrorCode, Rejection},
    lifecycle::{InactiveReason, SessionStatus},
};

pub mod action;
pub use action::{action_deadline, action_release_message, ActionWindow};

/// The longest payment token accepted.
pub const MAX_TOKEN_LEN: usize = 128;

/// A payment token from the provider's tokenization endpoint (its browser SDK).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentToken(String);

impl PaymentToken {
    /// A token: 1–128 characters of `A-Z a-z 0-9 _ -`. Something that is or holds a
    /// card number standing apart ([`holds_standalone_card_number`]) is refused without
    /// repeating it: the shop must never receive one.
    pub fn parse(text: &str) -> Result<PaymentToken, Rejection> {
        let digits = text.bytes().filter(u8::is_ascii_digit).count();
        let card_like = (12..=19).contains(&digits)
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b' ' || b == b'-');
        if card_like {
            return Err(Rejection::with_message(
                ErrorCode::ValidationFailed,
                "This looks like a card number. Cards are sent to the payment provider \
                 only; send the token it returned.",
            ));
        }
        let plain = text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if holds_standalone_card_number(text) {
            return Err(Rejection::with_message(
                ErrorCode::ValidationFailed,
                "This token holds a card number. Cards are sent to the payment provider \
                 only; send the token it returned.",
            ));
        }
        if text.is_empty() || text.len() > MAX_TOKEN_LEN || !plain {
            return Err(Rejection::with_message(
                ErrorCode::ValidationFailed,
                format!(
                    "payment_token must be the provider's token: 1 to {MAX_TOKEN_LEN} \
                     letters, digits, '_' or '-'."
                ),
            ));
        }
        Ok(PaymentToken(text.to_owned()))
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub use crate::card::{holds_standalone_card_number, mask_card_numbers, MASK};

/// Where a payment stands at the provider, as one report says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderStatus {
    /// Created, not yet confirmed: nothing is charged.
    RequiresConfirmation,
    /// Confirmed, waiting for the shopper at the provider (3-D Secure, a bank's or a
    /// wallet's page; [`action`]): nothing is charged yet, and may be once they finish.
    RequiresAction,
    /// Confirmed; the outcome is not known yet (a bank transfer, 3-D Secure, a slow
    /// acquirer). Money may still be taken.
    Processing,
    /// Money was taken.
    Succeeded,
    /// Declined: nothing was taken, and nothing will be.
    Failed,
    /// Cancelled (voided) before any money was taken.
    Canceled,
    /// The provider has no payment under the shop's key: the request never reached it.
    NotFound,
    /// The provider could not be asked at all (it refused connections, timed out or
    /// failed) when reconciliation looked the payment up after its pending bound. Not a
    /// provider's word, so never read from the wire.
    Unreachable,
}

impl ProviderStatus {
    /// The wire name used by the simulated provider and its webhooks.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderStatus::RequiresConfirmation => "requires_confirmation",
            ProviderStatus::RequiresAction => "requires_action",
            ProviderStatus::Processing => "processing",
            ProviderStatus::Succeeded => "succeeded",
            ProviderStatus::Failed => "failed",
            ProviderStatus::Canceled => "canceled",
            ProviderStatus::NotFound => "not_found",
            ProviderStatus::Unreachable => "unreachable",
        }
    }

    /// The status of a wire name (what a provider can say: never `Unreachable`).
    pub fn parse(name: &str) -> Option<ProviderStatus> {
        [
            ProviderStatus::RequiresConfirmation,
            ProviderStatus::RequiresAction,
            ProviderStatus::Processing,
            ProviderStatus::Succeeded,
            ProviderStatus::Failed,
            ProviderStatus::Canceled,
            ProviderStatus::NotFound,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// Who reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The answer to the request that created and confirmed the payment.
    Answer,
    /// A webhook from the provider.
    Webhook,
    /// A lookup by the shop's reconciliation, for a payment pending longer than its
    /// bound (the request's answer was lost, or the server died), or whose action is
    /// overdue.
    Reconciliation,
    /// A lookup the shopper asked for: back from the provider's page, or cancelling a
    /// payment that waits for them. News like a webhook's; its silence decides nothing.
    Shopper,
}

/// A report about one payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Who says it.
    pub source: Source,
    /// The shop's key for the payment (the provider's idempotency key).
    pub payment_key: String,
    /// What the provider says.
    pub status: ProviderStatus,
    /// Minor units the provider took or will take (0 when unknown).
    pub amount: i64,
    /// Its currency.
    pub currency: String,
}

/// The checkout the payment was for, as the shop has it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing<'a> {
    /// The checkout's status.
    pub status: SessionStatus,
    /// The payment key the checkout waits for, if it is paying.
    pub waiting_for: Option<&'a str>,
    /// The checkout's total and currency (what a charge must be).
    pub total: (i64, &'a str),
    /// An order was already placed from this very payment.
    pub ordered_by_this_payment: bool,
    /// A refund of this payment is already recorded.
    pub refund_recorded: bool,
    /// Where the step the shopper must take at the provider stands, if the payment
    /// asked for one.
    pub action: ActionWindow,
}

/// Why a charge is given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundReason {
    /// The checkout expired before the money arrived.
    Expired,
    /// A newer checkout replaced it.
    Superseded,
    /// It had been paid already, or ordered another way.
    AlreadyCompleted,
    /// It ended (signed out, emptied) or went back to `ACTIVE` without this payment.
    NoLongerPaying,
    /// The amount or currency is not the checkout's total.
    WrongAmount,
    /// The shop has no checkout for it (purged long ago).
    UnknownCheckout,
}

impl RefundReason {
    /// The stored and sent name.
    pub fn as_str(self) -> &'static str {
        match self {
            RefundReason::Expired => "checkout_expired",
            RefundReason::Superseded => "checkout_superseded",
            RefundReason::AlreadyCompleted => "already_completed",
            RefundReason::NoLongerPaying => "no_longer_paying",
            RefundReason::WrongAmount => "wrong_amount",
            RefundReason::UnknownCheckout => "unknown_checkout",
        }
    }
}

/// What a report does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The checkout takes the money: place its one `PAID` order.
    PlaceOrder,
    /// Nothing was or will be taken: the checkout goes back to `ACTIVE` (or `EXPIRED`).
    ReleaseUnpaid,
    /// The outcome is not known yet: the checkout keeps waiting in `PAYMENT_PENDING`
    /// (never expired, never purged) until a webhook or a later lookup settles it.
    Wait,
    /// Reconciliation found a payment created but never confirmed: cancel it at the
    /// provider, then report again with the provider's answer.
    Cancel,
    /// Money was taken for a checkout that cannot take it: refund it and record why.
    Refund(RefundReason),
    /// Nothing to do: a repeat, a report about an older state, or about a payment that
    /// took nothing.
    Ignore,
}

/// What `report` does to the checkout standing as `standing`. Only a checkout waiting
/// for this very payment changes; a charge anywhere else is refunded once; everything
/// else is a repeat and changes nothing.
pub fn resolve(standing: &Standing<'_>, report: &Report) -> Resolution {
    let waiting = standing.waits_for(&report.payment_key);
    match report.status {
        ProviderStatus::Succeeded => {
            if standing.ordered_by_this_payment || standing.refund_recorded {
                Resolution::Ignore
            } else if (report.amount, report.currency.as_str()) != standing.total {
                Resolution::Refund(RefundReason::WrongAmount)
            } else if waiting {
                Resolution::PlaceOrder
            } else {
                Resolution::Refund(refund_reason(standing.status))
            }
        }
        ProviderStatus::Processing if waiting => Resolution::Wait,
        // The provider waits for the shopper (the server records the action's URL and
        // deadline): only reconciliation past the deadline gives up on them.
        ProviderStatus::RequiresAction if waiting => match (report.source, standing.action) {
            (Source::Reconciliation, ActionWindow::Overdue) => Resolution::Cancel,
            _ => Resolution::Wait,
        },
        // A lookup that finds the payment never confirmed: nothing can arrive once it
        // is cancelled. A webhook or an answer saying so is only news in passing.
        ProviderStatus::RequiresConfirmation if waiting => match report.source {
            Source::Reconciliation => Resolution::Cancel,
            Source::Answer | Source::Webhook | Source::Shopper => Resolution::Wait,
        },
        ProviderStatus::Failed | ProviderStatus::Canceled if waiting => Resolution::ReleaseUnpaid,
        // Only reconciliation asks after the pending bound: the request never arrived,
        // or the provider cannot be reached to say (the shopper is not held up by an
        // outage). Should a charge arrive after all, it is refunded.
        // While the shopper is at the provider's page, an outage releases nothing: they
        // may still confirm there.
        ProviderStatus::NotFound | ProviderStatus::Unreachable
            if waiting
                && report.source == Source::Reconciliation
                && standing.action != ActionWindow::Open =>
        {
            Resolution::ReleaseUnpaid
        }
        ProviderStatus::NotFound | ProviderStatus::Unreachable if waiting => Resolution::Wait,
        _ => Resolution::Ignore,
    }
}

impl Standing<'_> {
    /// Whether the checkout is paying and waits for the payment under `payment_key`
    /// (only then does a report about it change the checkout).
    pub fn waits_for(&self, payment_key: &str) -> bool {
        self.status == SessionStatus::PaymentPending && self.waiting_for == Some(payment_key)
    }
}

/// What `report` does when the shop has no checkout for its payment (purged long ago):
/// a charge goes back, once.
pub fn resolve_without_checkout(report: &Report, refund_recorded: bool) -> Resolution {
    if report.status == ProviderStatus::Succeeded && !refund_recorded {
        Resolution::Refund(RefundReason::UnknownCheckout)
    } else {
        Resolution::Ignore
    }
}

/// What the shopper is told when their checkout, standing as `standing`, is released
/// without the payment it waited for, by what the provider said.
pub fn release_message_for(standing: &Standing<'_>, status: ProviderStatus) -> &'static str {
    action_release_message(status, standing.action).unwrap_or_else(|| release_message(status))
}

/// What the shopper is told when their checkout is released without the payment it
/// waited for, by what the provider said.
pub fn release_message(status: ProviderStatus) -> &'static str {
    match status {
        ProviderStatus::Canceled => {
            "Payment not taken: the payment was cancelled. Nothing was charged."
        }
        ProviderStatus::NotFound => {
            "Payment not taken: the payment provider has no record of it. Should a charge \
             for it appear later, it is refunded by itself."
        }
        ProviderStatus::Unreachable => {
            "Payment not confirmed: the payment provider cannot be reached. You can pay \
             again or choose another way to pay; should a charge for this attempt appear \
             later, it is refunded by itself."
        }
        _ => "Payment not taken: the card was declined. Nothing was charged.",
    }
}

/// What the shopper is told when the provider charged another amount than the order's
/// total (the charge is refunded and the checkout may be paid again).
pub const WRONG_AMOUNT_MESSAGE: &str = "Payment not accepted: the provider charged another \
    amount than this order's total; it is being refunded. Please pay again.";

/// Whether a payment released because the provider said `status` is looked up again
/// for a while: one the provider had no record of may still arrive and charge.
pub fn watched_after_release(status: ProviderStatus) -> bool {
    matches!(
        status,
        ProviderStatus::NotFound | ProviderStatus::Unreachable
    )
}

/// Whether the watch over a released payment ends, given what a lookup found: the
/// provider knows its final state (a charge is then applied, and refunded).
pub fn watch_ends(found: Option<ProviderStatus>) -> bool {
    matches!(
        found,
        Some(ProviderStatus::Succeeded | ProviderStatus::Failed | ProviderStatus::Canceled)
    )
}

/// When to ask the provider again — for a refund it did not answer, or a released
/// payment still unknown — after `attempts` tries since `since`: growing pauses (1 s …
/// 1 h) for 72 hours, then `None`. A refusal is final: `None` at once.
pub fn next_try(
    refused: bool,
    attempts: u32,
    since: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    if refused {
        return None;
    }
    crate::outbox::next_attempt(attempts, since, now)
}

fn refund_reason(status: SessionStatus) -> RefundReason {
    match status {
        SessionStatus::Expired => RefundReason::Expired,
        SessionStatus::Inactive(InactiveReason::Superseded) => RefundReason::Superseded,
        SessionStatus::Completed(_) => RefundReason::AlreadyCompleted,
        _ => RefundReason::NoLongerPaying,
    }
}

#[cfg(test)]
mod tests;
