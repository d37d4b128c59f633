//! What a request says its body is: JSON is the one body the API takes (CONTRACT §11).

use axum::{
    extract::Request,
    http::{header, HeaderMap, Method},
    response::{IntoResponse, Response},
};
use checkout_core::ErrorCode;

use crate::http::error::ApiError;

/// Whether the request says its body is JSON (`application/json` or `…+json`).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| {
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

/// The one route whose body is a form, as its standard says: OpenID Connect
/// Back-Channel Logout 1.0 posts `logout_token` as `application/x-www-form-urlencoded`.
/// Its request is server to server and carries a signed, single-use token.
pub const FORM_ROUTE: &str = "/api/v1/auth/backchannel-logout";

/// Whether the request says its body is a URL-encoded form.
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// A state-changing API request that says its body is something other than JSON (a
/// form, `text/plain`: what a page of another site can send without asking) is
/// `UNSUPPORTED_MEDIA_TYPE`, whether the route reads a body or not; except a form sent
/// to [`FORM_ROUTE`].
pub fn not_json(api: bool, request: &Request) -> Option<Response> {
    let changes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let form_route = request.uri().path() == FORM_ROUTE && is_form(request.headers());
    (api && changes
        && !form_route
        && request.headers().contains_key(header::CONTENT_TYPE)
        && !is_json(request.headers()))
    .then(|| ApiError::from(ErrorCode::UnsupportedMediaType).into_response())
}
