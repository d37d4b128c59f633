//! Payment providers (CONTRACT §13). [`PaymentProvider`] is what the server needs from
//! one, shaped like Stripe's, Adyen's or Braintree's APIs: create-and-confirm a payment
//! for a browser-made token under the shop's idempotency key, look a payment up by that
//! key, cancel (void) one not yet charged, refund one, and read its signed webhooks.
//! Every answer is only a [`Report`](checkout_core::payment::Report); what a report does
//! to a checkout is the core's rule (`checkout_core::payment::resolve`).
//!
//! A payment may need the shopper (CONTRACT §20): the provider answers
//! `requires_action` with a URL ([`ProviderPayment::next_action`]) where the shopper
//! confirms (3-D Secure, a bank's or a wallet's page), and sends them back to the
//! payment's `return_url`.
//!
//! [`super::HttpProvider`] speaks the API of `checkout-payment-sim`, the simulated
//! provider that runs as its own process (see the README for its test cards). A shop
//! connecting a real provider implements the trait with that provider's client.

use std::{future::Future, pin::Pin};

use axum::http::HeaderMap;
use checkout_core::{payment::ProviderStatus, Rejection};
use chrono::{DateTime, Utc};

/// A boxed future, for an object-safe trait.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What to charge.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// The shop's key for this payment (the provider's idempotency key): a retried
    /// request with it never charges twice.
    pub key: String,
    /// The checkout paid for (the provider keeps it as metadata and sends it back in
    /// webhooks).
    pub checkout_id: String,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217.
    pub currency: String,
    /// The token the browser got from the provider.
    pub token: String,
    /// Where the provider sends the shopper back after a step of theirs at the provider
    /// (3-D Secure, a bank's page): the storefront's page of this checkout. `None` when
    /// the shop's address is not known (no `--public-url`, and the request came neither
    /// from a browser nor from this machine): a payment that needs the shopper is then
    /// refused.
    pub return_url: Option<String>,
}

/// A payment as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderPayment {
    /// The provider's id (stored as the order's payment reference).
    pub id: String,
    /// The shop's key.
    pub key: String,
    /// Where it stands.
    pub status: ProviderStatus,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217.
    pub currency: String,
    /// The checkout it pays for.
    pub checkout_id: String,
    /// For `requires_action`: where the shopper confirms the payment (Stripe's
    /// `next_action.redirect_to_url.url`). Sent to the browser only if it is a web
    /// address (`checkout_core::payment::action::is_web_address`).
    pub next_action: Option<String>,
}

/// A webhook event, once its signature is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// The provider's event id (a repeat is acknowledged and ignored).
    pub id: String,
    /// The payment it is about, as it stood when the event was made; `None` for an
    /// event this server does not act on (a refund's, say), which is acknowledged.
    pub payment: Option<ProviderPayment>,
}

/// The provider did not give a definite answer, or refused the request.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    /// No answer in time.
    #[error("the payment provider did not answer in time")]
    Timeout,
    /// The connection failed or the answer was lost: the outcome is unknown.
    #[error("the payment provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request (a bad or used token): nothing happened.
    #[error("the payment provider refused the request: {0}")]
    Refused(String),
}

/// What the storefront needs to tokenize a card with the provider.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct BrowserSetup {
    /// The provider (`simulated`).
    pub provider: String,
    /// Where the browser posts the card for a token.
    pub tokenize_url: String,
    /// The publishable key it sends.
    pub publishable_key: String,
}

/// What the server needs from a payment provider.
pub trait PaymentProvider: Send + Sync + 'static {
    /// Creates and confirms a payment once per `payment.key`: a retry answers the
    /// payment as it stands.
    fn create_and_confirm<'a>(
        &'a self,
        payment: &'a NewPayment,
    ) -> BoxFuture<'a, Result<ProviderPayment, ProviderError>>;

    /// The payment made under the shop's `key`; `None` when the provider never saw it.
    fn lookup<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<ProviderPayment>, ProviderError>>;

    /// Voids a payment not yet charged; answers the payment as it then stands.
    fn cancel<'a>(
        &'a self,
        payment_id: &'a str,
    ) -> BoxFuture<'a, Result<ProviderPayment, ProviderError>>;

    /// Refunds a charged payment in full, once per `key`; answers the refund's id.
    fn refund<'a>(
        &'a self,
        payment_id: &'a str,
        key: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<String, ProviderError>>;

    /// Verifies a webhook's signature, with every header it came with (the provider's
    /// own scheme: `Stripe-Signature`, `Adyen-Signature` …), and reads its event.
    fn webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<WebhookEvent, WebhookError>;

    /// What the storefront needs to tokenize.
    fn browser(&self) -> BrowserSetup;
}

/// A webhook that is not taken.
#[derive(Debug, Clone)]
pub enum WebhookError {
    /// Unsigned, badly signed, or outside the time tolerance: `FORBIDDEN`.
    Signature(Rejection),
    /// Signed, but not an event this server reads: `VALIDATION_FAILED`.
    Malformed(String),
}
