//! Payments that need the shopper (CONTRACT §20): a 3-D Secure challenge, a bank's or a
//! wallet's page. The provider answers `requires_action` with a URL; the checkout stays
//! `PAYMENT_PENDING` and cannot expire while the action is open, up to the shop's action
//! timeout (`--payment-action-timeout-secs`). Past it, reconciliation cancels the payment
//! with the provider and the checkout is released: `ACTIVE`, or `EXPIRED` if its own
//! time ran out meanwhile.

use chrono::{DateTime, Utc};

use super::ProviderStatus;

/// The action timeout when the shop sets none: 15 minutes, as long as a bank's
/// challenge page usually waits.
pub const DEFAULT_ACTION_TIMEOUT_SECS: u64 = 900;

/// The longest action URL taken from a provider.
pub const MAX_ACTION_URL: usize = 2048;

/// Where the step the shopper must take at the provider stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActionWindow {
    /// The payment asked for no action (or none is recorded yet).
    #[default]
    None,
    /// The shopper may still finish it: nothing is released for want of an answer.
    Open,
    /// Its time is up: reconciliation cancels the payment and releases the checkout.
    Overdue,
}

impl ActionWindow {
    /// The window of an action that must be finished by `deadline` (none: no action).
    pub fn at(deadline: Option<DateTime<Utc>>, now: DateTime<Utc>) -> ActionWindow {
        match deadline {
            None => ActionWindow::None,
            Some(deadline) if now < deadline => ActionWindow::Open,
            Some(_) => ActionWindow::Overdue,
        }
    }
}

/// When an action the provider asked for at `asked_at` is overdue, for a shop whose
/// action timeout is `timeout_secs` (at least a minute, at most a day).
pub fn action_deadline(asked_at: DateTime<Utc>, timeout_secs: u64) -> DateTime<Utc> {
    let secs = timeout_secs.clamp(60, 86_400);
    asked_at + chrono::Duration::seconds(i64::try_from(secs).unwrap_or(900))
}

/// Whether `url` may be sent to a browser as a place to go: an absolute `https://`
/// address (or `http://`, for a provider on this machine in development), printable
/// ASCII without spaces or credentials, at most `max_chars`. A provider's answer is not
/// trusted to be one: a `javascript:` URL never reaches the page.
pub fn is_web_address(url: &str, max_chars: usize) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or_default();
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    !host.is_empty()
        && !host.contains('@')
        && url.len() <= max_chars
        && url.chars().all(|c| c.is_ascii_graphic())
}

/// Whether the shopper may cancel their payment from the checkout page: only one that
/// waits for them at the provider (an action was recorded for it). Any other payment is
/// being confirmed, and cancelling it could race the charge: `PAYMENT_IN_PROGRESS`.
pub fn shopper_may_cancel(action_recorded: bool) -> Result<(), crate::Rejection> {
    if action_recorded {
        return Ok(());
    }
    Err(crate::Rejection::with_message(
        crate::ErrorCode::PaymentInProgress,
        "This payment is being confirmed with your bank and cannot be cancelled. Wait for \
         its outcome: this page updates by itself.",
    ))
}

/// What the shopper's cancel does with the payment as the provider reports it: voids it
/// while it still waits for the shopper (`requires_action`); a payment the provider has
/// meanwhile decided is taken as decided (an approval is the order).
pub fn voided_on_cancel(status: ProviderStatus) -> bool {
    status == ProviderStatus::RequiresAction
}

/// What the shopper is told while the payment waits for them at the provider.
pub const ACTION_WAITING_MESSAGE: &str = "Your bank asks you to confirm this payment. \
    Continue to your bank's page; nothing is charged until you confirm there.";

/// What the shopper is told when they come back from the provider's page and the
/// outcome is not known yet.
pub const CONFIRMING_MESSAGE: &str = "Confirming your payment with your bank… Do not pay \
    again: this page updates by itself.";

/// What the shopper is told when a payment that needed them is released, by what the
/// provider said and where the action stood; `None` when no action was recorded (the
/// plain [`super::release_message`] applies).
pub fn action_release_message(
    status: ProviderStatus,
    window: ActionWindow,
) -> Option<&'static str> {
    Some(match (window, status) {
        (ActionWindow::None, _) => return None,
        (ActionWindow::Overdue, ProviderStatus::Canceled) => {
            "Payment not taken: the confirmation with your bank was not finished in time, \
             so the payment was cancelled. Nothing was charged; you can pay again."
        }
        (ActionWindow::Overdue, ProviderStatus::Unreachable | ProviderStatus::NotFound) => {
            "Payment not confirmed: the confirmation with your bank was not finished in \
             time. You can pay again; should a charge for the first attempt appear later, \
             it is refunded by itself."
        }
        (_, ProviderStatus::Canceled) => {
            "Payment cancelled: nothing was charged. You can pay again or choose another \
             way to pay."
        }
        (_, ProviderStatus::Failed) => {
            "Payment not taken: your bank did not confirm it. Nothing was charged; you can \
             pay again or choose another way to pay."
        }
        _ => return None,
    })
}
