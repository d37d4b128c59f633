//! Requests to the checkout server with `fetch`: the credentials mode and extra headers
//! the storefront chose (same-origin and none by default), JSON bodies, and the
//! `Idempotency-Key` header for order actions.

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
    fn code(&self) -> Option<String> {
        js_sys::Reflect::get(&self.body, &"code".into())
            .ok()
            .and_then(|c| c.as_string())
    }

    /// What the core makes of this answer ([`checkout_core::answer::read`]).
    pub fn reading(&self) -> checkout_core::answer::Reading {
        checkout_core::answer::read(
            self.status,
            self.content_type.as_deref(),
            self.code().as_deref(),
            self.retry_after.as_deref(),
        )
    }

    /// What the core makes of this answer to an order action
    /// ([`checkout_core::answer::read_order_action`]).
    pub fn order_reading(&self) -> checkout_core::answer::Reading {
        checkout_core::answer::read_order_action(
            self.status,
            self.content_type.as_deref(),
            self.code().as_deref(),
            self.retry_after.as_deref(),
        )
    }
}

/// How the storefront wants its requests sent (`CheckoutGuard` options `credentials`
/// and `headers`).
#[derive(Debug, Clone)]
pub struct RequestOptions {
    /// `fetch`'s credentials mode.
    pub credentials: RequestCredentials,
    /// Extra headers on every request (an API gateway's key, a tenant header…).
    pub headers: Vec<(String, String)>,
}

impl Default for RequestOptions {
    fn default() -> Self {
        RequestOptions {
            credentials: RequestCredentials::SameOrigin,
            headers: Vec::new(),
        }
    }
}

impl RequestOptions {
    /// Reads `{credentials, headers}` from the guard's options; anything else is an
    /// error the storefront sees at construction.
    pub fn read(credentials: &JsValue, headers: &JsValue) -> Result<RequestOptions, String> {
        let credentials = match credentials.as_string().as_deref() {
            None if credentials.is_undefined() => RequestCredentials::SameOrigin,
            Some("same-origin") => RequestCredentials::SameOrigin,
            Some("include") => RequestCredentials::Include,
            Some("omit") => RequestCredentials::Omit,
            _ => return Err("credentials must be \"same-origin\", \"include\" or \"omit\"".into()),
        };
        let mut pairs = Vec::new();
        if !headers.is_undefined() && !headers.is_null() {
            let object: &js_sys::Object = headers
                .dyn_ref()
                .ok_or("headers must be an object of header names to values")?;
            for entry in js_sys::Object::entries(object).iter() {
                let entry: js_sys::Array = entry.unchecked_into();
                let (name, value) = (entry.get(0).as_string(), entry.get(1).as_string());
                match (name, value) {
                    (Some(name), Some(value)) => pairs.push((name, value)),
                    _ => return Err("every header value must be a string".into()),
                }
            }
            // Refused now rather than on every request later (where it would look like
            // "no answer" and be retried forever).
            let check = Headers::new().map_err(|_| "headers: not available")?;
            for (name, value) in &pairs {
                check.set(name, value).map_err(|_| {
                    format!(
                        "headers: {} is not a valid header",
                        checkout_core::detail::Quoted(name)
                    )
                })?;
            }
        }
        Ok(RequestOptions {
            credentials,
            headers: pairs,
        })
    }
}

/// Sends a request. `Err` means no answer arrived (offline, connection dropped): the
/// caller keeps any pending action so the retry reuses its key.
pub async fn send(
    options: &RequestOptions,
    method: &str,
    url: &str,
    body: Option<&JsValue>,
    idempotency_key: Option<&str>,
) -> Result<Reply, JsValue> {
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let headers = Headers::new()?;
    for (name, value) in &options.headers {
        headers.set(name, value)?;
    }
    headers.set("accept", "application/json")?;
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(options.credentials);
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
