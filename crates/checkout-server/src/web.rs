//! What every request and answer passes through (CONTRACT §11), whichever route or layer
//! handles it: framework-level refusals become the core's problem documents, pages and
//! answers carry their security and caching headers, state-changing requests from
//! another site are refused (CSRF), and a request id from outside is kept only when it
//! is short and plain.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use checkout_core::{answer::is_problem_json, ErrorCode, Rejection};

use crate::error::ApiError;

/// The longest path segment any file or id can have (a longer one is refused before it
/// reaches the file system, which would fail with "name too long").
pub const MAX_SEGMENT: usize = 255;

/// A request id from outside is kept only when it has at most this many characters, all
/// of `A-Z a-z 0-9 . _ -`; otherwise the server makes its own.
pub const MAX_REQUEST_ID: usize = 64;

/// The storefront's Content-Security-Policy: scripts, styles and connections from this
/// origin only (wasm compiled by those scripts), never framed.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Refusals that axum or tower produce without a body of ours (405 for a known path
/// with another method, 413 from the body limit, …) become the core's problem document
/// of that status; so does a 404 for a path under `/api/`. A path with a segment longer
/// than any name is `NOT_FOUND` at once.
pub async fn problem_bodies(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let api = path.starts_with("/api/");
    if path.split('/').any(|segment| segment.len() > MAX_SEGMENT) {
        return ApiError::from(ErrorCode::NotFound).into_response();
    }
    let response = next.run(request).await;
    let problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| is_problem_json(Some(v)));
    if problem {
        return response;
    }
    let code = match response.status() {
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::NOT_FOUND if api => ErrorCode::NotFound,
        StatusCode::BAD_REQUEST if api => ErrorCode::MalformedRequest,
        StatusCode::UNPROCESSABLE_ENTITY if api => ErrorCode::ValidationFailed,
        StatusCode::INTERNAL_SERVER_ERROR => ErrorCode::InternalError,
        _ => return response,
    };
    let mut replaced = ApiError::from(code).into_response();
    if let Some(allow) = response.headers().get(header::ALLOW) {
        replaced.headers_mut().insert(header::ALLOW, allow.clone());
    }
    replaced
}

/// A declared `Content-Length` over the body limit is refused at once (413), before any
/// of the body is read.
pub async fn refuse_large_bodies(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > crate::MAX_BODY_BYTES as u64) {
        return ApiError::from(ErrorCode::PayloadTooLarge).into_response();
    }
    next.run(request).await
}

/// Security and caching headers on every answer: `nosniff`, a strict referrer policy,
/// the CSP and `frame-ancestors 'none'` (with `X-Frame-Options` for old browsers), and
/// `Cache-Control: no-store` on every API answer that did not choose its own (they carry
/// a shopper's data, a recovery token or a problem).
pub async fn security_headers(request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if api && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The origins, besides the server's own, whose pages may send state-changing requests
/// (a storefront served from another host), e.g. `https://shop.example`.
#[derive(Debug, Clone, Default)]
pub struct TrustedOrigins(pub Arc<Vec<String>>);

/// CSRF (CONTRACT §11): a state-changing request (anything but GET, HEAD, OPTIONS) is
/// `FORBIDDEN` when its `Origin` is neither the server's own nor a trusted one, or when
/// the browser says it comes from another site (`Sec-Fetch-Site: cross-site` or
/// `same-site`) without a trusted `Origin`. A request with neither header (a
/// server-to-server client) is judged by its credentials alone.
pub async fn csrf(State(trusted): State<TrustedOrigins>, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    match cross_site(request.headers(), &trusted) {
        None => next.run(request).await,
        Some(why) => {
            ApiError::Rejected(Rejection::with_message(ErrorCode::Forbidden, why)).into_response()
        }
    }
}

/// Why a state-changing request with these headers is refused, if it is.
pub fn cross_site(headers: &HeaderMap, trusted: &TrustedOrigins) -> Option<&'static str> {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let origin = text(header::ORIGIN);
    if let Some(origin) = origin {
        if trusted.0.iter().any(|t| t.eq_ignore_ascii_case(origin)) {
            return None;
        }
    }
    if matches!(
        text(header::HeaderName::from_static("sec-fetch-site")),
        Some("cross-site" | "same-site")
    ) {
        return Some("This request came from another site. Changes can only be made from the shop's own pages.");
    }
    match origin {
        None => None,
        Some(origin) => {
            let authority = origin
                .split_once("://")
                .map(|(_, rest)| rest)
                .filter(|rest| !rest.is_empty() && !rest.contains('/'));
            let own = match (authority, text(header::HOST)) {
                (Some(authority), Some(host)) => authority.eq_ignore_ascii_case(host),
                _ => false,
            };
            (!own).then_some("This request came from another origin. Changes can only be made from the shop's own pages.")
        }
    }
}

/// Drops an incoming `X-Request-Id` that is long or not plain, so the server makes its
/// own (what the audit trail stores stays small and safe to print).
pub async fn screen_request_id(mut request: Request, next: Next) -> Response {
    let acceptable = request
        .headers()
        .get_all("x-request-id")
        .iter()
        .map(|v| {
            let v = v.as_bytes();
            !v.is_empty()
                && v.len() <= MAX_REQUEST_ID
                && v.iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b))
        })
        .collect::<Vec<_>>();
    if acceptable.len() > 1 || acceptable.iter().any(|ok| !ok) {
        request.headers_mut().remove("x-request-id");
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_the_own_or_a_trusted_origin_may_change_state() {
        let none = TrustedOrigins::default();
        let shop = TrustedOrigins(Arc::new(vec!["https://shop.example".into()]));
        let own = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
        ]);
        assert_eq!(cross_site(&own, &none), None);
        let evil = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "https://evil.example"),
        ]);
        assert!(cross_site(&evil, &none).is_some());
        for bad in [
            "null",
            "http://127.0.0.1:8080.evil.example",
            "http://127.0.0.1:8080/x",
            "127.0.0.1:8080",
        ] {
            let h = {
                let mut h = headers(&[("host", "127.0.0.1:8080")]);
                h.insert("origin", HeaderValue::from_static(bad));
                h
            };
            assert!(cross_site(&h, &none).is_some(), "{bad}");
        }
        let site = headers(&[("host", "127.0.0.1:8080"), ("sec-fetch-site", "same-site")]);
        assert!(cross_site(&site, &none).is_some());
        let same = headers(&[
            ("host", "127.0.0.1:8080"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert_eq!(cross_site(&same, &none), None);
        // A configured storefront origin is trusted even from another site.
        let trusted = headers(&[
            ("host", "api.example"),
            ("origin", "https://shop.example"),
            ("sec-fetch-site", "same-site"),
        ]);
        assert_eq!(cross_site(&trusted, &shop), None);
        assert!(cross_site(&trusted, &none).is_some());
        // Server-to-server: no Origin, no Sec-Fetch-Site.
        assert_eq!(cross_site(&headers(&[("host", "x")]), &none), None);
    }
}
