//! The one error type of the HTTP API: every core rejection becomes an RFC 9457 problem
//! (`application/problem+json`) with the core's `code` and `redirect`; database and other
//! unexpected failures become a 500 problem whose details go to the log, not the client.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use checkout_core::{lifecycle::IllegalTransition, ErrorCode, Rejection};

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A rule said no: a stable code for the client.
    #[error("{0}")]
    Rejected(Rejection),
    /// Something broke on our side; the message is logged only.
    #[error("internal error: {0}")]
    Internal(String),
    /// No API route at this path.
    #[error("no such API route")]
    RouteNotFound,
    /// Not now: throttled or overloaded (`RATE_LIMITED`, `SERVICE_UNAVAILABLE`). Sent
    /// with `Retry-After`; never stored under an idempotency key (nothing was decided).
    #[error("{rejection} (retry after {after_secs} s)")]
    RetryLater {
        /// The refusal.
        rejection: Rejection,
        /// Seconds until a retry may succeed.
        after_secs: u64,
    },
}

impl ApiError {
    /// The problem document and status, as stored for idempotent replay (rejections
    /// only: internal errors are never stored, so a retry runs again).
    pub fn stored_form(&self) -> Option<(u16, serde_json::Value)> {
        match self {
            ApiError::Rejected(r) => Some((
                r.code.http_status(),
                serde_json::to_value(r.to_problem()).unwrap_or_default(),
            )),
            _ => None,
        }
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        ApiError::Rejected(r)
    }
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        ApiError::Rejected(Rejection::new(code))
    }
}

impl From<IllegalTransition> for ApiError {
    fn from(e: IllegalTransition) -> Self {
        ApiError::Rejected(e.rejection())
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        crate::db::DbError::from(e).into()
    }
}

impl From<crate::db::DbError> for ApiError {
    /// A database that cannot be reached now (restarting, connections exhausted, busy)
    /// is `SERVICE_UNAVAILABLE` with `Retry-After`: nothing was changed and the retry is
    /// safe. Anything else is our bug: `INTERNAL_ERROR`, the details logged only.
    fn from(e: crate::db::DbError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "database unavailable");
            return ApiError::RetryLater {
                rejection: Rejection::new(ErrorCode::ServiceUnavailable),
                after_secs: 1,
            };
        }
        ApiError::Internal(format!("database: {e}"))
    }
}

/// Writes a problem document with the right content type.
pub fn problem_response(status: u16, body: &serde_json::Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut retry_after = None;
        let rejection = match self {
            ApiError::RetryLater {
                rejection,
                after_secs,
            } => {
                crate::ops::metrics::rejection(rejection.code);
                retry_after = Some(after_secs);
                rejection
            }
            ApiError::Rejected(rejection) => {
                crate::ops::metrics::rejection(rejection.code);
                rejection
            }
            ApiError::Internal(message) => {
                tracing::error!(error = %message, "request failed");
                Rejection::new(ErrorCode::InternalError)
            }
            ApiError::RouteNotFound => Rejection::with_message(
                ErrorCode::NotFound,
                "There is no API route at this path; see /api/v1/openapi.json.",
            ),
        };
        // Whatever produced the message, it never quotes much of the input back.
        let mut rejection = rejection;
        rejection.message = bounded(&rejection.message);
        let problem = rejection.to_problem();
        let mut response = problem_response(
            problem.status,
            &serde_json::to_value(problem).unwrap_or_default(),
        );
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

/// A message made safe to send back: every quoted piece of input (between backticks or
/// double quotes) cut to a few characters, the whole to 300.
pub fn bounded(message: &str) -> String {
    const PIECE: usize = 32;
    const WHOLE: usize = 300;
    let mut out = String::new();
    let mut quoted: Option<(char, usize)> = None;
    for c in message.chars() {
        match quoted {
            Some((close, _)) if c == close => {
                quoted = None;
                out.push(c);
            }
            Some((close, n)) => {
                if n < PIECE {
                    out.push(c);
                } else if n == PIECE {
                    out.push('…');
                }
                quoted = Some((close, n + 1));
            }
            None => {
                if c == '`' || c == '"' {
                    quoted = Some((c, 0));
                }
                out.push(c);
            }
        }
    }
    if out.chars().count() > WHOLE {
        out = out.chars().take(WHOLE).collect::<String>() + "…";
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn parser_messages_never_quote_much_input() {
        let long = "y".repeat(10_000);
        let message = format!("unknown field `{long}`, expected one of `a`, `b` at line 1");
        let out = super::bounded(&message);
        assert!(out.len() < 120, "{out}");
        assert!(
            out.starts_with("unknown field `yyyy") && out.contains("`a`, `b`"),
            "{out}"
        );
        assert_eq!(super::bounded("plain"), "plain");
        assert!(super::bounded(&"z".repeat(1_000)).chars().count() <= 301);
    }

    use super::*;

    #[tokio::test]
    async fn an_internal_error_is_a_coded_problem_that_tells_nothing() {
        let response = ApiError::Internal("database: secret detail".into()).into_response();
        assert_eq!(response.status(), 500);
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/problem+json"
        );
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["code"], "INTERNAL_ERROR");
        assert_eq!(problem["type"], "/problems#internal-error");
        assert!(!problem.to_string().contains("secret"), "{problem}");
        let busy = ApiError::RetryLater {
            rejection: Rejection::new(ErrorCode::ServiceUnavailable),
            after_secs: 3,
        }
        .into_response();
        assert_eq!(busy.status(), 503);
        assert_eq!(busy.headers().get(header::RETRY_AFTER).unwrap(), "3");
    }
}
