//! The simulated provider's test cards (see the README's table): what each number does
//! is in `ledger.rs`. The server's tests name them from here.

/// Approved at once.
pub const APPROVE: &str = "4242424242424242";
/// Declined (as is any number not listed here).
pub const DECLINE: &str = "4000000000000002";
/// Charged at once; the answer arrives after `--slow-ms`.
pub const SLOW: &str = "4000000000000077";
/// Never answers; nothing is charged.
pub const TIMEOUT: &str = "4000000000000119";
/// Charged; the connection breaks before the answer (the webhook still comes).
pub const LOST_ANSWER: &str = "4000000000009995";
/// Answered `processing`; confirmed only by webhook after `--async-ms`.
pub const WEBHOOK_ONLY: &str = "4000000000003220";
/// Approved; its webhook is sent twice.
pub const WEBHOOK_TWICE: &str = "4000000000004954";
/// Answered `processing`; its webhooks arrive out of order (`succeeded` before
/// `processing`).
pub const OUT_OF_ORDER: &str = "4000000000005126";
/// Answered `processing`, and stays so for `--lasting-ms` before it succeeds.
pub const LASTING: &str = "4000000000000259";
/// The request is held up on the way: never answered, unknown to a lookup, and
/// charged after `--late-ms` (a late charge the shop must give back).
pub const LATE: &str = "4000000000006975";
/// 3-D Secure, always (Stripe's "always authenticate" card): answered
/// `requires_action` with the challenge page, where Approve charges and Fail
/// declines; leaving the page without a click is the abandoned case.
pub const CHALLENGE: &str = "4000002760003184";
/// 3-D Secure as [`CHALLENGE`], but the webhook of the outcome comes only after
/// `--late-ms` (the shopper is back long before it).
pub const CHALLENGE_WEBHOOK_LATE: &str = "4000000000003063";
