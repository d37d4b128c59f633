//! One delivery on the wire: a `POST` of the event's JSON signed as Standard Webhooks
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature`; [`checkout_core::webhook`])
//! with the endpoint's secret, and with the secret before its latest rotation too while
//! that one is still valid.

use checkout_core::webhook::{self, Secret};

use crate::{db::outbox::Claimed, state::AppState};

/// Longest `Retry-After` value kept.
const MAX_RETRY_AFTER: usize = 64;

/// What a receiver answered.
#[derive(Debug, Clone)]
pub struct Answered {
    /// Its status.
    pub status: u16,
    /// Its `Retry-After`, if any.
    pub retry_after: Option<String>,
}

/// POSTs one event; the receiver's answer, or what kept it from answering (kept short,
/// without the URL).
pub async fn send(
    state: &AppState,
    client: &reqwest::Client,
    delivery: &Claimed,
) -> Result<Answered, String> {
    let url = reqwest::Url::parse(&delivery.url).map_err(|e| format!("bad URL: {e}"))?;
    state.outbound.check_url(&url)?;
    let current = Secret::parse(&delivery.secret)
        .ok_or_else(|| "the endpoint's secret is unreadable".to_owned())?;
    let previous: Vec<Secret> = delivery
        .previous_secrets
        .iter()
        .filter_map(|s| Secret::parse(s))
        .collect();
    let secrets: Vec<&Secret> = std::iter::once(&current).chain(&previous).collect();
    // The receiver checks the signature's time against its own clock: sign with the
    // real time, never the test clock.
    let timestamp = chrono::Utc::now().timestamp();
    let signature = webhook::signature_header(
        &secrets,
        &delivery.event_id,
        timestamp,
        delivery.payload.as_bytes(),
    );
    let mut request = client.post(url);
    if let Some(parent) = crate::ops::telemetry::traceparent() {
        request = request.header("traceparent", parent);
    }
    let response = request
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(webhook::ID_HEADER, &delivery.event_id)
        .header(webhook::TIMESTAMP_HEADER, timestamp.to_string())
        .header(webhook::SIGNATURE_HEADER, signature)
        .body(delivery.payload.clone())
        .send()
        .await
        .map_err(|error| {
            let error = error.without_url();
            let mut text = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                text = format!("{text}: {cause}");
                source = cause.source();
            }
            if let Some((cut, _)) = text.char_indices().nth(300) {
                text.truncate(cut);
            }
            text
        })?;
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= MAX_RETRY_AFTER)
        .map(str::to_owned);
    Ok(Answered {
        status: response.status().as_u16(),
        retry_after,
    })
}
