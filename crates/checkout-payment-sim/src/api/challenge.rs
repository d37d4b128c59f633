//! The 3-D Secure challenge page a bank shows the shopper (here served by the provider
//! itself, as a provider's hosted authentication page is): **Approve** charges the
//! payment, **Fail** declines it; either sends the browser back to the payment's
//! `return_url` with `payment_intent` and `redirect_status`, as Stripe's redirects do.
//! The shop never trusts that query: it asks the provider.

use std::sync::atomic::Ordering;

use axum::{
    extract::{Path, Query, Request, State},
    http::{header, StatusCode},
    middleware::Next,
    response::{Html, IntoResponse, Redirect, Response},
    Form, Json,
};
use serde::Deserialize;

use super::{fail, follow_up::send_later, Shared};

/// Whether `url` is an absolute http(s) address a browser may be sent to.
pub(super) fn is_web_address(url: &str) -> bool {
    checkout_core::payment::action::is_web_address(
        url,
        checkout_core::payment::action::MAX_ACTION_URL,
    )
}

#[derive(Deserialize)]
pub(super) struct SecretQuery {
    #[serde(default)]
    secret: String,
}

#[derive(Deserialize)]
pub(super) struct Outcome {
    #[serde(default)]
    secret: String,
    outcome: String,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn html_page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:30rem;\
         margin:2rem auto;padding:0 1rem}}button{{font-size:1.1rem;padding:.6rem 1.2rem;\
         margin:.3rem .6rem .3rem 0}}</style></head><body><main><h1>{title}</h1>{body}</main>\
         </body></html>"
    );
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        Html(html),
    )
        .into_response()
}

/// The challenge's return address with the outcome appended.
fn back_to(return_url: &str, id: &str, status: &str) -> String {
    let joiner = if return_url.contains('?') { '&' } else { '?' };
    format!("{return_url}{joiner}payment_intent={id}&redirect_status={status}")
}

/// `GET /challenge/{id}?secret=…`: the page with Approve and Fail.
pub(super) async fn show(
    State(sim): State<Shared>,
    Path(id): Path<String>,
    Query(query): Query<SecretQuery>,
) -> Response {
    let ledger = sim.ledger();
    let Some((payment, challenge)) = ledger
        .payments
        .get(&id)
        .and_then(|p| p.challenge.as_ref().map(|c| (p, c)))
        .filter(|(_, c)| c.secret == query.secret)
    else {
        return (
            StatusCode::NOT_FOUND,
            html_page("No such payment", "<p>This link is not valid.</p>"),
        )
            .into_response();
    };
    if payment.status != "requires_action" {
        let back = back_to(&challenge.return_url, &id, payment.status);
        return html_page(
            "Nothing to confirm",
            &format!(
                "<p>This payment is {}.</p><p><a href=\"{}\">Back to the shop</a></p>",
                escape(payment.status),
                escape(&back)
            ),
        );
    }
    let amount = format!(
        "{}.{:02} {}",
        payment.amount / 100,
        payment.amount % 100,
        escape(&payment.currency)
    );
    html_page(
        "Confirm your payment",
        &format!(
            "<p>Your bank asks you to confirm a payment of <strong>{amount}</strong> \
             with the card ending in {last4}.</p>\
             <form method=\"post\" action=\"/challenge/{id}\">\
             <input type=\"hidden\" name=\"secret\" value=\"{secret}\">\
             <button name=\"outcome\" value=\"approve\">Approve</button>\
             <button name=\"outcome\" value=\"fail\">Fail</button></form>",
            last4 = escape(&payment.last4),
            id = escape(&id),
            secret = escape(&challenge.secret),
        ),
    )
}

/// `POST /challenge/{id}`: Approve or Fail, then back to the shop (303).
pub(super) async fn finish(
    State(sim): State<Shared>,
    Path(id): Path<String>,
    Form(outcome): Form<Outcome>,
) -> Response {
    let approved = match outcome.outcome.as_str() {
        "approve" => true,
        "fail" => false,
        _ => {
            return fail(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "approve or fail",
            )
        }
    };
    let (back, event, late) = {
        let mut ledger = sim.ledger();
        let Some(payment) = ledger.payments.get_mut(&id).filter(|p| {
            p.challenge
                .as_ref()
                .is_some_and(|c| c.secret == outcome.secret)
        }) else {
            return fail(StatusCode::NOT_FOUND, "not_found", "no such challenge");
        };
        // Only a payment still waiting changes: cancelled (the shop gave up on the
        // shopper) or already decided stays as it is.
        let event = (payment.status == "requires_action")
            .then(|| payment.move_to(if approved { "succeeded" } else { "failed" }));
        let challenge = payment.challenge.clone().unwrap_or_else(|| unreachable!());
        (
            back_to(&challenge.return_url, &id, payment.status),
            event,
            challenge.late_webhook,
        )
    };
    if let Some(event) = event {
        let delay = if late {
            sim.timing.late
        } else {
            sim.timing.webhook_delay
        };
        send_later(&sim, vec![event], delay);
    }
    Redirect::to(&back).into_response()
}

#[derive(Deserialize)]
pub(super) struct OutageRequest {
    down: bool,
}

/// Test control: `POST /sim/outage {"down": true|false}`.
pub(super) async fn outage(
    State(sim): State<Shared>,
    Json(request): Json<OutageRequest>,
) -> Response {
    sim.down.store(request.down, Ordering::SeqCst);
    StatusCode::NO_CONTENT.into_response()
}

/// Test control: `GET /sim/stats`, what the provider counted.
pub(super) async fn stats(State(sim): State<Shared>) -> Response {
    Json(serde_json::json!({ "lookups": sim.lookups.load(Ordering::Relaxed) })).into_response()
}

/// The API answers 503 while the provider is down (test control); the browser's pages
/// still work, as a bank's do while its provider's API is out.
pub(super) async fn unless_down(
    State(sim): State<Shared>,
    request: Request,
    next: Next,
) -> Response {
    if sim.down.load(Ordering::SeqCst) {
        return fail(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the provider is down (test control)",
        );
    }
    next.run(request).await
}
