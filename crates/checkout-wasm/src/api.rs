//! Requests to the checkout server with `fetch`: same-origin credentials (the login
//! cookie), JSON bodies, and the `Idempotency-Key` header for order actions.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestCredentials, RequestInit, Response};

/// A server answer: status and parsed JSON body (`null` when there is none).
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Parsed body.
    pub body: JsValue,
}

/// Sends a request. `Err` means no answer arrived (offline, connection dropped): the
/// caller keeps any pending action so the retry reuses its key.
pub async fn send(
    method: &str,
    url: &str,
    body: Option<&JsValue>,
    idempotency_key: Option<&str>,
) -> Result<Reply, JsValue> {
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let headers = Headers::new()?;
    headers.set("accept", "application/json")?;
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    if let Some(body) = body {
        headers.set("content-type", "application/json")?;
        let text = js_sys::JSON::stringify(body)?;
        init.set_body(&text);
    }
    if let Some(key) = idempotency_key {
        headers.set("idempotency-key", key)?;
    }
    init.set_headers(&headers);
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await?
        .dyn_into()?;
    let status = response.status();
    let body = match response.json() {
        Ok(promise) => JsFuture::from(promise).await.unwrap_or(JsValue::NULL),
        Err(_) => JsValue::NULL,
    };
    Ok(Reply { status, body })
}
