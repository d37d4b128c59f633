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

use crate::http::error::ApiError;

/// The longest path segment any file or id can have (a longer one is refused before it
/// reaches the file system, which would fail with "name too long").
pub const MAX_SEGMENT: usize = 255;

/// The longest address (path and query, in bytes) a request may have: longer is
/// `URI_TOO_LONG` (414). hyper itself refuses, without a body, addresses over 64 KiB.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// The most header bytes (names and values) a request may carry: more is
/// `HEADERS_TOO_LARGE` (431). hyper itself refuses, without a body, a request head over
/// about 400 KiB.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// The most headers a request may have: more is `HEADERS_TOO_LARGE` (431).
pub const MAX_HEADERS: usize = 96;

/// hyper itself refuses, without a body, a request with more headers than this.
pub const HYPER_MAX_HEADERS: usize = 160;

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
/// of that status; so does a 404 for a path under `/api/`.
fn problem_bodies(api: bool, mut response: Response) -> Response {
    // Refused before its body was read: the connection cannot carry another request, so
    // say so (a client that reused it would otherwise lose its next request).
    if matches!(
        response.status(),
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE
    ) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
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
    for name in [header::ALLOW, header::CONNECTION] {
        if let Some(value) = response.headers().get(&name) {
            replaced.headers_mut().insert(name, value.clone());
        }
    }
    replaced
}

/// A request whose address or headers are over the limits is refused with its problem
/// document (hyper's own refusals, for far larger ones, have no body).
fn refuse_large_head(request: &Request) -> Option<Response> {
    let uri = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if uri > MAX_URI_BYTES {
        return Some(ApiError::from(ErrorCode::UriTooLong).into_response());
    }
    let headers = request.headers();
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return Some(ApiError::from(ErrorCode::HeadersTooLarge).into_response());
    }
    None
}

/// A declared `Content-Length` over the body limit is refused at once (413), before any
/// of the body is read.
fn refuse_large_body(request: &Request) -> Option<Response> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = crate::body_limit(request.uri().path());
    if declared.is_some_and(|n| n > limit as u64) {
        let mut refused = ApiError::from(ErrorCode::PayloadTooLarge).into_response();
        refused
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return Some(refused);
    }
    None
}

/// Security and caching headers on every answer: `nosniff`, a strict referrer policy,
/// the CSP and `frame-ancestors 'none'` (with `X-Frame-Options` for old browsers), and,
/// unless the answer chose its own, `Cache-Control: no-store` on API answers (they carry
/// a shopper's data, a recovery token or a problem) and `no-cache` on the storefront's
/// files (revalidated on every use, so pages, scripts and the module never mix versions).
fn security_headers(api: bool, csp: Option<&HeaderValue>, mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.reserve(6);
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
        csp.cloned()
            .unwrap_or_else(|| HeaderValue::from_static(CONTENT_SECURITY_POLICY)),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        // API answers carry a shopper's data; the storefront's pages, scripts and the
        // wasm module are revalidated on every use (a 304 when unchanged, by
        // `Last-Modified`), so an updated server never meets an old cached module.
        let policy = if api { "no-store" } else { "no-cache" };
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// The origins, besides the server's own, whose pages may send state-changing requests
/// (a storefront served from another host), e.g. `https://shop.example`.
#[derive(Debug, Clone, Default)]
pub struct TrustedOrigins {
    /// The configured origins.
    pub origins: Arc<Vec<String>>,
    /// The shop is served over HTTPS (`--secure-cookies`): its own origin is `https://…`.
    pub https: bool,
    /// The Content-Security-Policy when it is not [`CONTENT_SECURITY_POLICY`] (the
    /// payment provider's origin added to `connect-src`).
    pub csp: Option<HeaderValue>,
}

/// The storefront's Content-Security-Policy when browsers also talk to `origin` (the
/// payment provider's tokenization endpoint).
pub fn policy_with(origin: &str) -> Option<HeaderValue> {
    let plain = !origin.is_empty()
        && origin
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".:/-[]".contains(&b));
    if !plain {
        return None;
    }
    HeaderValue::from_str(&CONTENT_SECURITY_POLICY.replace(
        "connect-src 'self'",
        &format!("connect-src 'self' {origin}"),
    ))
    .ok()
}

/// CSRF (CONTRACT §11): a state-changing request (anything but GET, HEAD, OPTIONS) is
/// `FORBIDDEN` when its `Origin` is neither the server's own nor a trusted one, or when
/// the browser says it comes from another site (`Sec-Fetch-Site: cross-site` or
/// `same-site`) without a trusted `Origin`. A request with neither header (a
/// server-to-server client) is judged by its credentials alone.
fn csrf(trusted: &TrustedOrigins, request: &Request) -> Option<Response> {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return None;
    }
    // The authority the request was sent to: the absolute-form target's, else `Host`.
    let authority = request
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            let hosts: Vec<_> = request.headers().get_all(header::HOST).iter().collect();
            match hosts.as_slice() {
                [one] => one.to_str().ok().map(str::to_owned),
                _ => None,
            }
        });
    let scheme = if trusted.https { "https" } else { "http" };
    cross_site(request.headers(), authority.as_deref(), scheme, trusted).map(|why| {
        ApiError::Rejected(Rejection::with_message(ErrorCode::Forbidden, why)).into_response()
    })
}

/// The one middleware every request passes (one layer: each `from_fn` layer costs a
/// boxed future and a clone of the inner service per request; five of them took a
/// third of `/healthz`'s throughput). In order: paths no name can have are
/// `NOT_FOUND`; an address or headers over the limits are refused; a declared body over
/// the limit is refused at once; cross-site state
/// changes are `FORBIDDEN`; then the answer gets the core's problem body if a framework
/// layer refused without one, and its security and caching headers.
pub async fn guard(
    State(trusted): State<TrustedOrigins>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let api = path.starts_with("/api/");
    // `//x` would make the file service redirect to `//x/`, which a browser reads as
    // another host.
    let early = if path.starts_with("//") || path.split('/').any(|s| s.len() > MAX_SEGMENT) {
        Some(ApiError::from(ErrorCode::NotFound).into_response())
    } else {
        refuse_large_head(&request).or_else(|| refuse_large_body(&request))
    };
    if let Some(refused) = early {
        return security_headers(api, trusted.csp.as_ref(), refused);
    }
    let request = match read_body(request).await {
        Ok(request) => request,
        Err(refused) => return security_headers(api, trusted.csp.as_ref(), refused),
    };
    let response =
        match csrf(&trusted, &request).or_else(|| crate::http::media::not_json(api, &request)) {
            Some(refused) => refused,
            None => problem_bodies(api, next.run(request).await),
        };
    security_headers(api, trusted.csp.as_ref(), response)
}

/// Reads a request's body (at most [`crate::body_limit`]) before anything answers
/// it. A refusal sent while the client is still sending (a cross-site request, a
/// missing login, a wrong content type) would otherwise close a kept-open connection
/// under the client, which then sees no answer at all instead of the problem.
async fn read_body(request: Request) -> Result<Request, Response> {
    let headers = request.headers();
    let empty = !headers.contains_key(header::TRANSFER_ENCODING)
        && headers
            .get(header::CONTENT_LENGTH)
            .is_none_or(|v| v.as_bytes() == b"0");
    if empty {
        return Ok(request);
    }
    let limit = crate::body_limit(request.uri().path());
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => Ok(Request::from_parts(parts, axum::body::Body::from(bytes))),
        Err(error) => {
            let too_large = std::error::Error::source(&error)
                .is_some_and(|e| e.to_string().contains("length limit"));
            let code = if too_large {
                ErrorCode::PayloadTooLarge
            } else {
                ErrorCode::MalformedRequest
            };
            let mut refused = ApiError::from(code).into_response();
            refused
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            Err(refused)
        }
    }
}

/// Why a state-changing request with these headers is refused, if it is.
pub fn cross_site(
    headers: &HeaderMap,
    authority: Option<&str>,
    scheme: &str,
    trusted: &TrustedOrigins,
) -> Option<&'static str> {
    const OTHER_SITE: &str =
        "This request came from another site. Changes can only be made from the shop's own pages.";
    const OTHER_ORIGIN: &str =
        "This request came from another origin. Changes can only be made from the shop's own pages.";
    let origins: Vec<_> = headers.get_all(header::ORIGIN).iter().collect();
    let origin = match origins.as_slice() {
        [] => None,
        // Two origins, or one that is not text: not something a browser sends.
        [one] => Some(one.to_str().map_err(|_| ())),
        _ => return Some(OTHER_ORIGIN),
    };
    let origin = match origin {
        Some(Err(())) => return Some(OTHER_ORIGIN),
        Some(Ok(origin)) => Some(origin.to_owned()),
        // No Origin: a Referer, if there is one, says where the request came from.
        None => match headers
            .get(header::REFERER)
            .map(|r| referer_origin(r.as_bytes()))
        {
            Some(Some(origin)) => Some(origin),
            Some(None) => return Some(OTHER_ORIGIN),
            None => None,
        },
    };
    let origin = origin.as_deref();
    if let Some(origin) = origin {
        if trusted
            .origins
            .iter()
            .any(|t| t.eq_ignore_ascii_case(origin))
        {
            return None;
        }
    }
    let site_says_other = headers
        .get_all(header::HeaderName::from_static("sec-fetch-site"))
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("cross-site").split(','))
        .any(|v| {
            !matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "same-origin" | "none"
            )
        });
    if site_says_other {
        return Some(OTHER_SITE);
    }
    let origin = origin?;
    let own = authority
        .is_some_and(|authority| origin.eq_ignore_ascii_case(&format!("{scheme}://{authority}")));
    (!own).then_some(OTHER_ORIGIN)
}

/// The origin (`scheme://host[:port]`) of a `Referer`, or `None` when it is not an
/// absolute http(s) URL.
fn referer_origin(referer: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(referer).ok()?;
    let (scheme, rest) = text.split_once("://")?;
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty() && !authority.contains('@'))
        .then(|| format!("{}://{authority}", scheme.to_ascii_lowercase()))
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
            let plain = !v.is_empty()
                && v.len() <= MAX_REQUEST_ID
                && v.iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b));
            // Plain and no card number in it (the id is logged and stored).
            plain && {
                let text = String::from_utf8_lossy(v);
                checkout_core::payment::mask_card_numbers(&text) == text
            }
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
        let shop = TrustedOrigins {
            origins: Arc::new(vec!["https://shop.example".into()]),
            https: false,
            csp: None,
        };
        let own = Some("127.0.0.1:8080");
        let check = |pairs: &[(&'static str, &'static str)], trusted: &TrustedOrigins| {
            cross_site(&headers(pairs), own, "http", trusted)
        };
        assert_eq!(check(&[("origin", "http://127.0.0.1:8080")], &none), None);
        assert_eq!(check(&[("origin", "HTTP://127.0.0.1:8080")], &none), None);
        for bad in [
            "https://evil.example",
            "null",
            "http://127.0.0.1:8080.evil.example",
            "http://127.0.0.1:8080/x",
            "127.0.0.1:8080",
            // Another scheme on the same host is another origin.
            "https://127.0.0.1:8080",
            "javascript://127.0.0.1:8080",
            "x://127.0.0.1:8080",
        ] {
            let mut h = HeaderMap::new();
            h.insert("origin", HeaderValue::from_static(bad));
            assert!(cross_site(&h, own, "http", &none).is_some(), "{bad}");
        }
        // Two origins, or one that is not text.
        let mut two = HeaderMap::new();
        two.append("origin", HeaderValue::from_static("http://127.0.0.1:8080"));
        two.append("origin", HeaderValue::from_static("https://evil.example"));
        assert!(cross_site(&two, own, "http", &none).is_some());
        let mut bytes = HeaderMap::new();
        bytes.insert(
            "origin",
            HeaderValue::from_bytes(b"http://evil.example\xff").unwrap(),
        );
        assert!(cross_site(&bytes, own, "http", &none).is_some());
        // Sec-Fetch-Site in any case and any list position.
        for site in [
            "same-site",
            "cross-site",
            "Cross-Site",
            "cross-site, same-origin",
        ] {
            let mut h = HeaderMap::new();
            h.insert("sec-fetch-site", HeaderValue::from_static(site));
            assert!(cross_site(&h, own, "http", &none).is_some(), "{site}");
        }
        let mut later = HeaderMap::new();
        later.append("sec-fetch-site", HeaderValue::from_static("same-origin"));
        later.append("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(cross_site(&later, own, "http", &none).is_some());
        assert_eq!(check(&[("sec-fetch-site", "same-origin")], &none), None);
        assert_eq!(check(&[("sec-fetch-site", "none")], &none), None);
        // Over HTTPS the own origin is https://.
        let mut h = HeaderMap::new();
        h.insert("origin", HeaderValue::from_static("https://127.0.0.1:8080"));
        assert_eq!(cross_site(&h, own, "https", &none), None);
        // A configured storefront origin is trusted even from another site.
        let trusted = [
            ("origin", "https://shop.example"),
            ("sec-fetch-site", "same-site"),
        ];
        assert_eq!(check(&trusted, &shop), None);
        assert!(check(&trusted, &none).is_some());
        // Server-to-server: no Origin, no Sec-Fetch-Site.
        assert_eq!(check(&[], &none), None);
        // No way to know the own authority: an Origin is refused.
        let mut h = HeaderMap::new();
        h.insert("origin", HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(cross_site(&h, None, "http", &none).is_some());
    }
}
