//! What one HTTP answer from the server means for the browser (CONTRACT §12): a success,
//! a definite refusal that may move the shopper, or "transient: nothing was decided,
//! keep every bit of state and retry later with the same key".
//!
//! Only a problem document from the server itself, with a code from the product's list
//! that is not itself transient, is definite. A 5xx, a 429, a 408, an answer that is not
//! `application/problem+json` (a proxy's 502 page, a captive portal), a problem with a
//! code this build does not know: all transient. So an outage never sends the shopper to
//! the cart and never drops a pending order action.

use crate::error::{ErrorCode, Rejection};

/// The reading of one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// A 2xx answer: the request took effect (or was replayed).
    Success,
    /// The server decided: this rejection stands (and may move the shopper).
    Definite(Rejection),
    /// Nothing was decided: keep the state and retry after the delay.
    Transient {
        /// The server's `Retry-After`, in seconds, when it gave one.
        retry_after_secs: Option<u32>,
    },
}

/// The media type of the server's problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Reads an answer from its status, its `Content-Type`, the `code` member of its body
/// (when the body was JSON and had one) and its `Retry-After` header.
pub fn read(
    status: u16,
    content_type: Option<&str>,
    code: Option<&str>,
    retry_after: Option<&str>,
) -> Reading {
    let transient = Reading::Transient {
        retry_after_secs: retry_after.and_then(parse_retry_after),
    };
    if (200..300).contains(&status) {
        return Reading::Success;
    }
    if status >= 500 || status == 429 || status == 408 || !is_problem_json(content_type) {
        return transient;
    }
    match code.and_then(ErrorCode::from_name) {
        Some(code) if !code.is_transient() => Reading::Definite(Rejection::new(code)),
        _ => transient,
    }
}

/// Reads the answer to an order action (place order, pay, submit for approval): as
/// [`read`], except that the server's own `RATE_LIMITED` is definite. The action was
/// refused before anything happened (a throttle, such as card payments per hour), and
/// an action the shopper asked for must not be sent again by itself an hour later: the
/// shopper sees the message and tries again when they choose.
pub fn read_order_action(
    status: u16,
    content_type: Option<&str>,
    code: Option<&str>,
    retry_after: Option<&str>,
) -> Reading {
    let throttled = status == 429
        && is_problem_json(content_type)
        && code.and_then(ErrorCode::from_name) == Some(ErrorCode::RateLimited);
    if throttled {
        return Reading::Definite(Rejection::new(ErrorCode::RateLimited));
    }
    read(status, content_type, code, retry_after)
}

/// Whether a `Content-Type` header value is `application/problem+json` (any
/// parameters, any case).
pub fn is_problem_json(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(PROBLEM_JSON))
}

/// `Retry-After` in delta-seconds (the only form this server sends); an HTTP date or
/// anything else is ignored and the client's own backoff applies.
pub fn parse_retry_after(value: &str) -> Option<u32> {
    let value = value.trim();
    if value.is_empty() || value.len() > 9 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// The first retry comes after this long.
pub const FIRST_RETRY_MS: u32 = 1_000;
/// No retry waits longer than this.
pub const MAX_RETRY_MS: u32 = 30_000;

/// How long to wait before retry number `attempt` (0 for the first retry): doubling
/// from [`FIRST_RETRY_MS`] up to [`MAX_RETRY_MS`], and never sooner than the server's
/// `Retry-After`. (The caller may add jitter.)
pub fn retry_delay_ms(attempt: u32, retry_after_secs: Option<u32>) -> u32 {
    let doubled = FIRST_RETRY_MS.saturating_mul(1u32 << attempt.min(15));
    let own = doubled.min(MAX_RETRY_MS);
    let server = retry_after_secs.map_or(0, |s| s.saturating_mul(1000).min(10 * MAX_RETRY_MS));
    own.max(server)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROBLEM: Option<&str> = Some("application/problem+json");

    #[test]
    fn a_throttled_order_action_is_refused_for_good() {
        let throttled = read_order_action(429, PROBLEM, Some("RATE_LIMITED"), Some("3600"));
        assert_eq!(
            throttled,
            Reading::Definite(Rejection::new(ErrorCode::RateLimited))
        );
        assert!(!ErrorCode::RateLimited.is_undecided());
        // A proxy's 429 page, or an overloaded server, still decides nothing.
        assert_eq!(
            read_order_action(429, Some("text/html"), None, Some("5")),
            transient(Some(5))
        );
        assert_eq!(
            read_order_action(503, PROBLEM, Some("SERVICE_UNAVAILABLE"), None),
            transient(None)
        );
        // Reading a checkout keeps treating a 429 as "ask again later".
        assert_eq!(
            read(429, PROBLEM, Some("RATE_LIMITED"), Some("2")),
            transient(Some(2))
        );
    }

    fn transient(secs: Option<u32>) -> Reading {
        Reading::Transient {
            retry_after_secs: secs,
        }
    }

    #[test]
    fn server_failures_and_foreign_answers_are_transient_never_not_found() {
        for status in [500, 502, 503, 504] {
            assert_eq!(
                read(status, PROBLEM, Some("INTERNAL_ERROR"), None),
                transient(None)
            );
            assert_eq!(read(status, Some("text/html"), None, None), transient(None));
            // Even a 5xx that names a definite code is not believed.
            assert_eq!(
                read(status, PROBLEM, Some("CHECKOUT_NOT_FOUND"), None),
                transient(None)
            );
        }
        assert_eq!(
            read(429, PROBLEM, Some("RATE_LIMITED"), Some("7")),
            transient(Some(7))
        );
        assert_eq!(read(408, None, None, None), transient(None));
        // A 404 from something that is not the server's problem document (a proxy).
        assert_eq!(
            read(404, Some("text/html; charset=utf-8"), None, None),
            transient(None)
        );
        assert_eq!(
            read(
                404,
                Some("application/json"),
                Some("CHECKOUT_NOT_FOUND"),
                None
            ),
            transient(None)
        );
        // An unknown code, or none.
        assert_eq!(
            read(409, PROBLEM, Some("SOMETHING_NEW"), None),
            transient(None)
        );
        assert_eq!(read(409, PROBLEM, None, None), transient(None));
        assert_eq!(
            read(503, PROBLEM, Some("SERVICE_UNAVAILABLE"), Some("2")),
            transient(Some(2))
        );
    }

    #[test]
    fn the_servers_own_problems_are_definite() {
        assert_eq!(
            read(
                404,
                Some("Application/Problem+JSON; charset=utf-8"),
                Some("CHECKOUT_NOT_FOUND"),
                None
            ),
            Reading::Definite(Rejection::new(ErrorCode::CheckoutNotFound))
        );
        assert_eq!(
            read(410, PROBLEM, Some("CHECKOUT_EXPIRED"), None),
            Reading::Definite(Rejection::new(ErrorCode::CheckoutExpired))
        );
        assert_eq!(
            read(201, Some("application/json"), None, None),
            Reading::Success
        );
        assert_eq!(read(200, None, None, None), Reading::Success);
    }

    #[test]
    fn every_code_reads_back_as_itself_unless_transient() {
        for code in ErrorCode::ALL {
            let reading = read(code.http_status(), PROBLEM, Some(code.as_str()), None);
            if code.is_transient() || code.http_status() >= 500 {
                assert_eq!(reading, transient(None), "{code}");
            } else {
                assert_eq!(reading, Reading::Definite(Rejection::new(code)), "{code}");
            }
        }
    }

    #[test]
    fn retry_delays_double_up_to_a_cap_and_respect_retry_after() {
        let delays: Vec<u32> = (0..7).map(|a| retry_delay_ms(a, None)).collect();
        assert_eq!(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
        assert_eq!(retry_delay_ms(100, None), MAX_RETRY_MS);
        assert_eq!(retry_delay_ms(0, Some(5)), 5_000);
        assert_eq!(retry_delay_ms(4, Some(5)), 16_000);
        assert_eq!(retry_delay_ms(0, Some(u32::MAX)), 300_000);
        assert_eq!(parse_retry_after(" 12 "), Some(12));
        for bad in [
            "",
            "-1",
            "1.5",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "9999999999",
        ] {
            assert_eq!(parse_retry_after(bad), None, "{bad}");
        }
    }
}
