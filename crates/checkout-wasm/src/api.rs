//! Requests to the checkout server with `fetch`: same-origin credentials (the login
//! cookie), JSON bodies, and the `Idempotency-Key` header for order actions.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestCredentials, RequestInit, Response};

/// A server answer: status, the headers the core reads, and the parsed JSON body
/// (`null` when there is none or it is not JSON, such as a proxy's HTML error page).
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`, which tells the server's own problem documents from others.
    pub content_type: Option<String>,
    /// `Retry-After`, when the server asks for a pause.
    pub retry_after: Option<String>,
    /// Parsed body.
    pub body: JsValue,
}

impl Reply {
    /// What the core makes of this answer ([`checkout_core::answer::read`]).
    pub fn reading(&self) -> checkout_core::answer::Reading {
        let code = js_sys::Reflect::get(&self.body, &"code".into())
            .ok()
            .and_then(|c| c.as_string());
        checkout_core::answer::read(
            self.status,
            self.content_type.as_deref(),
            code.as_deref(),
            self.retry_after.as_deref(),
        )
    }
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
    let content_type = response.headers().get("content-type").ok().flatten();
    let retry_after = response.headers().get("retry-after").ok().flatten();
    let body = match response.json() {
        Ok(promise) => JsFuture::from(promise).await.unwrap_or(JsValue::NULL),
        Err(_) => JsValue::NULL,
    };
    Ok(Reply {
        status,
        content_type,
        retry_after,
        body,
    })
}
