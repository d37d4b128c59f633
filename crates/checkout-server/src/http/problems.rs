//! `GET /problems`: the page every problem document's `type` points to
//! (`/problems#checkout-expired`), listing each code of the core with its status, its
//! meaning and what a client should do. Generated from [`ErrorCode::ALL`], so it can
//! never miss a code.

use axum::response::Html;
use checkout_core::ErrorCode;

/// What a client should do on `code`, in one sentence.
pub fn advice(code: ErrorCode) -> String {
    if code.is_transient() {
        return "Nothing was decided: keep the state (and any pending order action with its key) and retry after Retry-After, or with backoff.".into();
    }
    match code {
        ErrorCode::RequestInProgress | ErrorCode::PaymentInProgress => {
            "Wait and ask again (GET the checkout); never start a second payment or order.".into()
        }
        ErrorCode::SnapshotMismatch => "Show the shopper the current summary and ask them to confirm again.".into(),
        ErrorCode::ValidationFailed => "Fix the request; for an order action, the `missing` list says what the shopper must choose.".into(),
        ErrorCode::IdempotencyKeyRequired | ErrorCode::IdempotencyKeyReused => {
            "A client bug: send one key per distinct request and reuse it only for retries of that request.".into()
        }
        ErrorCode::MalformedRequest
        | ErrorCode::PayloadTooLarge
        | ErrorCode::UnsupportedMediaType
        | ErrorCode::MethodNotAllowed
        | ErrorCode::UriTooLong
        | ErrorCode::HeadersTooLarge
        | ErrorCode::NotFound => "A client bug: correct the request; retrying it unchanged gives the same answer.".into(),
        ErrorCode::CheckoutCompleted => "Show the order (GET the checkout for its order id).".into(),
        ErrorCode::PaymentDeclined => "Let the shopper choose another card or method; the checkout stays open.".into(),
        ErrorCode::Forbidden => "Do not retry: the credentials or the page's origin are not allowed this.".into(),
        ErrorCode::PreconditionFailed => "Read it again (GET, for its new ETag), reapply the change to what you read, and send it with that ETag in If-Match.".into(),
        _ => match code.redirect() {
            Some(to) => format!("Show the message and send the shopper to {to}."),
            None => "Show the message.".into(),
        },
    }
}

/// The anchor of a code on the page (`checkout-expired`).
fn anchor(code: ErrorCode) -> String {
    code.as_str().to_ascii_lowercase().replace('_', "-")
}

/// The page.
pub async fn page() -> Html<String> {
    let rows: String = ErrorCode::ALL
        .iter()
        .map(|&code| {
            format!(
                "<tr id=\"{}\"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                anchor(code),
                code.as_str(),
                code.http_status(),
                code.title(),
                code.shopper_message(),
                advice(code),
            )
        })
        .collect();
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Problem codes — Checkout Guard</title>\
         <link rel=\"stylesheet\" href=\"/assets/style.css\"></head><body><main>\n\
         <h1>Problem codes</h1>\n<p>Every error of the API is an RFC 9457 problem document \
         (<code>application/problem+json</code>) with <code>code</code> and <code>redirect</code>; its \
         <code>type</code> links to a row of this table.</p>\n\
         <table><thead><tr><th>code</th><th>status</th><th>title</th><th>what the shopper reads</th>\
         <th>what a client should do</th></tr></thead><tbody>\n{rows}</tbody></table></main></body></html>\n"
    ))
}
