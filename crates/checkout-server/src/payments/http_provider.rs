//! The client of the simulated provider's HTTP API (`checkout-payment-sim`), over the
//! server's one outbound HTTP client (`crate::outbound`): HTTPS with the system's roots
//! plus `--extra-ca-file`, plain HTTP only to this machine, connect and total timeouts.

use std::time::Duration;
use tracing::Instrument;

use axum::http::HeaderMap;
use checkout_core::{payment::ProviderStatus, signature, Rejection};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::provider::{
    BoxFuture, BrowserSetup, NewPayment, PaymentProvider, ProviderError, ProviderPayment,
    WebhookError, WebhookEvent,
};
use crate::outbound::Outbound;

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
    /// Whom the client trusts (`--extra-ca-file`); the provider may be on the shop's
    /// own network (the operator names it), but plain HTTP only to loopback.
    pub outbound: Outbound,
}

impl HttpProvider {
    /// A client for the provider at `config.base`: an `https://` address, or `http://`
    /// to this machine; anything else is refused (no real provider takes plain HTTP).
    pub fn new(config: HttpProviderConfig) -> Result<HttpProvider, String> {
        let outbound = config.outbound.with_private(true);
        for (flag, url) in [
            ("--payment-provider-url", &config.base),
            ("--payment-provider-public-url", &config.public_base),
        ] {
            let parsed = reqwest::Url::parse(url).map_err(|e| format!("{flag} {url}: {e}"))?;
            outbound
                .check_url(&parsed)
                .map_err(|why| format!("{flag} {url}: {why}"))?;
        }
        let client = outbound.client(config.timeout)?;
        Ok(HttpProvider {
            base: config.base.trim_end_matches('/').to_owned(),
            public_base: config.public_base.trim_end_matches('/').to_owned(),
            api_key: config.api_key,
            publishable_key: config.publishable_key,
            webhook_secrets: config
                .webhook_secrets
                .into_iter()
                .map(String::into_bytes)
                .collect(),
            client,
        })
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
            next_action: value["next_action"]["redirect_to_url"]["url"]
                .as_str()
                .map(str::to_owned),
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
                    "return_url": payment.return_url,
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
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<WebhookEvent, WebhookError> {
        let signature = headers.get(signature::HEADER).and_then(|v| v.to_str().ok());
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
