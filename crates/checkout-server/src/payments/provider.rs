//! Payment providers (CONTRACT §13). [`PaymentProvider`] is what the server needs from
//! one, shaped like Stripe's, Adyen's or Braintree's APIs: create-and-confirm a payment
//! for a browser-made token under the shop's idempotency key, look a payment up by that
//! key, cancel (void) one not yet charged, refund one, and read its signed webhooks.
//! Every answer is only a [`Report`](checkout_core::payment::Report); what a report does
//! to a checkout is the core's rule (`checkout_core::payment::resolve`).
//!
//! [`HttpProvider`] speaks the API of `checkout-payment-sim`, the simulated provider
//! that runs as its own process (see the README for its test cards). A shop connecting
//! a real provider implements the trait with that provider's client.

use std::{future::Future, pin::Pin, time::Duration};
use tracing::Instrument;

use checkout_core::{payment::ProviderStatus, signature, Rejection};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

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

    /// Verifies a webhook's signature and reads its event.
    fn webhook(
        &self,
        signature: Option<&str>,
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

/// The client of the simulated provider's HTTP API (`checkout-payment-sim`).
#[derive(Debug, Clone)]
pub struct HttpProvider {
    base: String,
    public_base: String,
    api_key: String,
    publishable_key: String,
    webhook_secrets: Vec<Vec<u8>>,
    client: reqwest::Client,
}

/// Where and how to reach the simulated provider.
#[derive(Debug, Clone)]
pub struct HttpProviderConfig {
    /// The API's base URL as the server reaches it.
    pub base: String,
    /// The base URL as browsers reach it (tokenization).
    pub public_base: String,
    /// The secret API key.
    pub api_key: String,
    /// The publishable key for the browser.
    pub publishable_key: String,
    /// Webhook signing secrets (the first current, the rest accepted during a rotation).
    pub webhook_secrets: Vec<String>,
    /// The longest any call may take, answer included (`--gateway-timeout-ms`): a
    /// provider that accepts connections and never answers holds nothing up longer.
    pub timeout: Duration,
}

impl HttpProvider {
    /// A client for the provider at `config.base`.
    pub fn new(config: HttpProviderConfig) -> HttpProvider {
        HttpProvider {
            base: config.base.trim_end_matches('/').to_owned(),
            public_base: config.public_base.trim_end_matches('/').to_owned(),
            api_key: config.api_key,
            publishable_key: config.publishable_key,
            webhook_secrets: config
                .webhook_secrets
                .into_iter()
                .map(String::into_bytes)
                .collect(),
            client: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(3).min(config.timeout))
                .timeout(config.timeout)
                .pool_max_idle_per_host(64)
                .build()
                .unwrap_or_default(),
        }
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<(u16, Value), ProviderError> {
        let span = tracing::info_span!(
            "provider call",
            otel.kind = "client",
            http.status = tracing::field::Empty,
            error = tracing::field::Empty
        );
        let answer = self.call_in(request, &span).instrument(span.clone()).await;
        if let Err(error) = &answer {
            span.record("error", tracing::field::display(error));
        }
        answer
    }

    async fn call_in(
        &self,
        mut request: reqwest::RequestBuilder,
        span: &tracing::Span,
    ) -> Result<(u16, Value), ProviderError> {
        if let Some(parent) = crate::ops::telemetry::traceparent() {
            request = request.header("traceparent", parent);
        }
        let response = request
            .bearer_auth(&self.api_key)
            .send()
            .await
            .map_err(|e| ProviderError::Unavailable(e.to_string()))?;
        let status = response.status().as_u16();
        span.record("http.status", status);
        // The whole answer or nothing: a body broken mid-way is a lost answer.
        let body = response
            .bytes()
            .await
            .map_err(|e| ProviderError::Unavailable(e.to_string()))?;
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        match status {
            200..=299 => Ok((status, value)),
            // 409: a request with the key is still in flight; 429 and 5xx: try later.
            409 | 429 | 500..=599 => Err(ProviderError::Unavailable(format!("status {status}"))),
            _ => Err(ProviderError::Refused(
                value["error"]["code"]
                    .as_str()
                    .unwrap_or("refused")
                    .chars()
                    .take(64)
                    .collect(),
            )),
        }
    }
}

/// A payment from the simulated provider's JSON.
fn payment_of(value: &Value) -> Result<ProviderPayment, ProviderError> {
    let text = |field: &str| value[field].as_str().map(str::to_owned);
    let status = text("status").and_then(|s| ProviderStatus::parse(&s));
    match (
        text("id"),
        text("idempotency_key"),
        status,
        value["amount"].as_i64(),
    ) {
        (Some(id), Some(key), Some(status), Some(amount)) => Ok(ProviderPayment {
            id,
            key,
            status,
            amount,
            currency: text("currency").unwrap_or_default(),
            checkout_id: text("checkout_id").unwrap_or_default(),
        }),
        _ => Err(ProviderError::Unavailable(
            "the provider's answer is not a payment".into(),
        )),
    }
}

impl PaymentProvider for HttpProvider {
    fn create_and_confirm<'a>(
        &'a self,
        payment: &'a NewPayment,
    ) -> BoxFuture<'a, Result<ProviderPayment, ProviderError>> {
        Box::pin(async move {
            let request = self
                .client
                .post(format!("{}/v1/payments", self.base))
                .header("Idempotency-Key", &payment.key)
                .json(&json!({
                    "amount": payment.amount,
                    "currency": payment.currency,
                    "token": payment.token,
                    "checkout_id": payment.checkout_id,
                    "confirm": true,
                }));
            payment_of(&self.call(request).await?.1)
        })
    }

    fn lookup<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<ProviderPayment>, ProviderError>> {
        Box::pin(async move {
            let request = self
                .client
                .get(format!("{}/v1/payments", self.base))
                .query(&[("idempotency_key", key)]);
            let (_, list) = self.call(request).await?;
            match list["data"].as_array().map(Vec::as_slice) {
                Some([]) => Ok(None),
                Some([one]) => payment_of(one).map(Some),
                _ => Err(ProviderError::Unavailable("an unexpected lookup".into())),
            }
        })
    }

    fn cancel<'a>(
        &'a self,
        payment_id: &'a str,
    ) -> BoxFuture<'a, Result<ProviderPayment, ProviderError>> {
        Box::pin(async move {
            let request = self
                .client
                .post(format!("{}/v1/payments/{payment_id}/cancel", self.base));
            payment_of(&self.call(request).await?.1)
        })
    }

    fn refund<'a>(
        &'a self,
        payment_id: &'a str,
        key: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<String, ProviderError>> {
        Box::pin(async move {
            let request = self
                .client
                .post(format!("{}/v1/refunds", self.base))
                .header("Idempotency-Key", key)
                .json(&json!({ "payment": payment_id, "reason": reason }));
            let (_, refund) = self.call(request).await?;
            refund["id"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| ProviderError::Unavailable("no refund id".into()))
        })
    }

    fn webhook(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<WebhookEvent, WebhookError> {
        let secrets: Vec<&[u8]> = self.webhook_secrets.iter().map(Vec::as_slice).collect();
        if secrets.is_empty() {
            return Err(WebhookError::Signature(Rejection::with_message(
                checkout_core::ErrorCode::Forbidden,
                "No webhook secret is configured (--payment-webhook-secret).",
            )));
        }
        signature::verify(signature, body, &secrets, now).map_err(WebhookError::Signature)?;
        let malformed = |why: &str| WebhookError::Malformed(why.to_owned());
        let event: Value = serde_json::from_slice(body).map_err(|_| malformed("not JSON"))?;
        let id = event["id"]
            .as_str()
            .filter(|id| !id.is_empty() && id.len() <= 100)
            .ok_or_else(|| malformed("no event id"))?;
        let payment = payment_of(&event["data"]["payment"]).ok();
        Ok(WebhookEvent {
            id: id.to_owned(),
            payment,
        })
    }

    fn browser(&self) -> BrowserSetup {
        BrowserSetup {
            provider: "simulated".into(),
            tokenize_url: format!("{}/v1/tokens", self.public_base),
            publishable_key: self.publishable_key.clone(),
        }
    }
}
