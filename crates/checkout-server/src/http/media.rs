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

/// A state-changing API request that says its body is something other than JSON (a
/// form, `text/plain`: what a page of another site can send without asking) is
/// `UNSUPPORTED_MEDIA_TYPE`, whether the route reads a body or not.
pub fn not_json(api: bool, request: &Request) -> Option<Response> {
    let changes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    (api && changes
        && request.headers().contains_key(header::CONTENT_TYPE)
        && !is_json(request.headers()))
    .then(|| ApiError::from(ErrorCode::UnsupportedMediaType).into_response())
}
