//! After a payment is made: its webhooks (sent, retried, sent again on request), the
//! lookup, cancel and refund routes, and the test-control routes.

use std::{sync::Arc, time::Duration};

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{fail, without_secret_key, Shared, Sim};
use crate::ledger::{Event, Refund};

/// Sends `events`, in order, after `delay` (in the background).
pub(super) fn send_later(sim: &Shared, events: Vec<Event>, delay: Duration) {
    let sim = Arc::clone(sim);
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        for event in events {
            deliver(&sim, &event).await;
        }
    });
}

/// One webhook, retried with growing pauses until a 2xx or the attempts run out;
/// returns the last status (0: no answer).
pub(super) async fn deliver(sim: &Sim, event: &Event) -> u16 {
    let body = serde_json::to_vec(event).unwrap_or_default();
    let mut pause = Duration::from_millis(250);
    let mut status = 0;
    for attempt in 0..sim.attempts {
        if attempt > 0 {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(8));
        }
        // Read at each attempt: a URL changed meanwhile gets the retries.
        let Some(url) = sim
            .webhook_url
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        else {
            return 0;
        };
        let signature =
            checkout_core::signature::sign(&sim.webhook_secret, &body, chrono::Utc::now());
        let sent = sim
            .client
            .post(&url)
            .header(header::CONTENT_TYPE, "application/json")
            .header(checkout_core::signature::HEADER, signature)
            .body(body.clone())
            .send()
            .await;
        status = sent.map(|r| r.status().as_u16()).unwrap_or(0);
        if (200..300).contains(&status) {
            break;
        }
    }
    status
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    idempotency_key: Option<String>,
    checkout_id: Option<String>,
}

/// `GET /v1/payments?idempotency_key=…` (the lookup) or `?checkout_id=…`, with each
/// payment's refunds.
pub(super) async fn list(
    State(sim): State<Shared>,
    headers: HeaderMap,
    query: Query<ListQuery>,
) -> Response {
    if let Some(refused) = without_secret_key(&sim, &headers) {
        return refused;
    }
    if query.idempotency_key.is_some() {
        sim.lookups
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    let ledger = sim.ledger();
    let data: Vec<Value> = ledger
        .find(
            query.idempotency_key.as_deref(),
            query.checkout_id.as_deref(),
        )
        .into_iter()
        .map(|p| {
            let mut public = p.public();
            public["charged"] = json!(p.charged);
            public["refunds"] = json!(p.refunds);
            public
        })
        .collect();
    Json(json!({ "data": data })).into_response()
}

/// `POST /v1/payments/{id}/cancel`: voids a payment not yet charged (not confirmed, or
/// waiting for the shopper's challenge); answers the payment as it then stands (a
/// charged one stays charged).
pub(super) async fn cancel(
    State(sim): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = without_secret_key(&sim, &headers) {
        return refused;
    }
    let (public, event) = {
        let mut ledger = sim.ledger();
        let Some(payment) = ledger.payments.get_mut(&id) else {
            return fail(StatusCode::NOT_FOUND, "not_found", "no such payment");
        };
        let event = matches!(payment.status, "requires_confirmation" | "requires_action")
            .then(|| payment.move_to("canceled"));
        (payment.public(), event)
    };
    if let Some(event) = event {
        send_later(&sim, vec![event], sim.timing.webhook_delay);
    }
    Json(public).into_response()
}

#[derive(Deserialize)]
pub(super) struct RefundRequest {
    payment: String,
    #[serde(default)]
    reason: String,
}

/// `POST /v1/refunds` (`Idempotency-Key`): gives a charged payment's money back, once.
pub(super) async fn refund(State(sim): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = without_secret_key(&sim, &headers) {
        return refused;
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let Ok(request) = serde_json::from_slice::<RefundRequest>(&body) else {
        return fail(StatusCode::BAD_REQUEST, "invalid_request", "bad refund");
    };
    let (refund, event) = {
        let mut ledger = sim.ledger();
        if let Some((payment, refund)) = ledger.refund_keys.get(&key).cloned() {
            let found = ledger.payments[&payment]
                .refunds
                .iter()
                .find(|r| r.id == refund)
                .cloned();
            return Json(found).into_response();
        }
        let Some(payment) = ledger.payments.get_mut(&request.payment) else {
            return fail(StatusCode::NOT_FOUND, "not_found", "no such payment");
        };
        if !payment.charged || !payment.refunds.is_empty() {
            return fail(
                StatusCode::BAD_REQUEST,
                "charge_not_refundable",
                "nothing to refund",
            );
        }
        let refund = Refund {
            id: format!("re_sim_{}", uuid::Uuid::now_v7().simple()),
            payment: payment.id.clone(),
            amount: payment.amount,
            currency: payment.currency.clone(),
            reason: request.reason.chars().take(100).collect(),
            status: "succeeded",
        };
        payment.refunds.push(refund.clone());
        let event = payment.record("payment.refunded");
        let pair = (payment.id.clone(), refund.id.clone());
        if !key.is_empty() {
            ledger.refund_keys.insert(key, pair);
        }
        (refund, event)
    };
    send_later(&sim, vec![event], sim.timing.webhook_delay);
    Json(refund).into_response()
}

/// `PUT /v1/webhook_endpoint` `{"url": …}`: where webhooks go.
pub(super) async fn set_webhook(
    State(sim): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = without_secret_key(&sim, &headers) {
        return refused;
    }
    let url = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["url"].as_str().map(str::to_owned))
        .filter(|u| u.starts_with("http://127.0.0.1:") || u.starts_with("http://localhost:"));
    let Some(url) = url else {
        return fail(
            StatusCode::BAD_REQUEST,
            "invalid_url",
            "a loopback http URL is required",
        );
    };
    *sim.webhook_url.write().unwrap_or_else(|p| p.into_inner()) = Some(url.clone());
    Json(json!({ "url": url })).into_response()
}

/// Test control: the held answer of payment `id` goes out.
pub(super) async fn release(State(sim): State<Shared>, Path(id): Path<String>) -> Response {
    let ledger = sim.ledger();
    match ledger.payments.get(&id).and_then(|p| p.released.as_ref()) {
        Some(tx) => {
            let _ = tx.send(true);
            StatusCode::NO_CONTENT.into_response()
        }
        None => fail(StatusCode::NOT_FOUND, "not_found", "nothing held"),
    }
}

#[derive(Deserialize)]
pub(super) struct Resend {
    #[serde(default = "one")]
    times: u32,
}

pub(super) fn one() -> u32 {
    1
}

/// Test control: sends payment `id`'s events (in order, same ids) `times` times now;
/// answers the shop's statuses.
pub(super) async fn resend(
    State(sim): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<Resend>,
) -> Response {
    let events = match sim.ledger().payments.get(&id) {
        Some(p) => p.events.clone(),
        None => return fail(StatusCode::NOT_FOUND, "not_found", "no such payment"),
    };
    let mut statuses = Vec::new();
    for _ in 0..body.times.min(10) {
        for event in &events {
            statuses.push(deliver(&sim, event).await);
        }
    }
    Json(json!({ "statuses": statuses })).into_response()
}
