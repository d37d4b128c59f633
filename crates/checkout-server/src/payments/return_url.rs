//! Where the payment provider sends the shopper back after a step at their bank
//! (CONTRACT §20): a page of the shop's own origin only. The shop's origins are the
//! configured ones — `--public-url` and the trusted origins — and, when no public URL is
//! configured, the request's `Origin` (a browser's, which the origin check has already
//! held to this server's own or a trusted one) or a loopback `Host` (development, the
//! load generator). A `Host` header alone never names the shop: behind a proxy that
//! passes any `Host` on, it is the client's word.

use axum::http::{header, HeaderMap};
use checkout_core::{payment::action, ErrorCode, Rejection};

/// The provider's return address for checkout `session_id`: `requested` if it is a page
/// of one of the shop's origins (no fragment, no quotes or angle brackets), else the
/// storefront's checkout page on the first of them; `None` when the shop's address is
/// not known (a payment that needs the shopper at their bank is then refused by the
/// provider, and the shopper told: nothing is charged).
pub(super) fn return_url(
    public_url: Option<&str>,
    trusted: &[String],
    headers: &HeaderMap,
    session_id: &str,
    requested: Option<&str>,
) -> Result<Option<String>, Rejection> {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &axum::http::HeaderValue| v.to_str().ok())
    };
    let mut own: Vec<String> = Vec::new();
    match public_url {
        Some(url) => own.push(url.to_owned()),
        None => {
            own.extend(
                header(header::ORIGIN)
                    .filter(|o| o.starts_with("https://") || o.starts_with("http://"))
                    .map(str::to_owned),
            );
            own.extend(
                header(header::HOST)
                    .filter(|h| is_loopback(h))
                    .map(|h| format!("http://{h}")),
            );
        }
    }
    own.extend(trusted.iter().cloned());
    let own: Vec<&str> = own.iter().map(|o| o.trim_end_matches('/')).collect();
    let Some(url) = requested else {
        return Ok(own
            .first()
            .map(|first| format!("{first}/checkout/?id={session_id}")));
    };
    let same_origin = own.iter().any(|o| {
        url.strip_prefix(o)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
    });
    let plain = !url.contains(['#', '"', '\'', '<', '>', '\\', '`']);
    if same_origin && plain && action::is_web_address(url, action::MAX_ACTION_URL) {
        Ok(Some(url.to_owned()))
    } else {
        Err(Rejection::with_message(
            ErrorCode::ValidationFailed,
            "return_url must be a page of this shop (its own origin), without a fragment or quotes, at most 2048 characters.",
        ))
    }
}

/// Whether a `Host` header names this machine (`127.0.0.1:8080`, `localhost`, `[::1]`).
fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !name.ends_with(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap_or_else(|_| unreachable!()));
        }
        map
    }

    #[test]
    fn the_shops_own_origins_only() {
        let none: &[String] = &[];
        // A configured public URL is the shop's address, whatever the request says.
        let evil = headers(&[("host", "evil.example"), ("origin", "http://evil.example")]);
        let url = return_url(Some("https://shop.example"), none, &evil, "c1", None);
        assert_eq!(
            url.ok().flatten().as_deref(),
            Some("https://shop.example/checkout/?id=c1")
        );
        let stolen = return_url(
            Some("https://shop.example"),
            none,
            &evil,
            "c1",
            Some("http://evil.example/steal"),
        );
        assert!(stolen.is_err());
        // Without one: the browser's Origin, or a loopback Host; never another Host
        // (no address is known, so none is given to the provider).
        let unknown = headers(&[("host", "evil.example")]);
        assert_eq!(return_url(None, none, &unknown, "c1", None), Ok(None));
        assert!(return_url(None, none, &unknown, "c1", Some("http://evil.example/")).is_err());
        let local = return_url(
            None,
            none,
            &headers(&[("host", "127.0.0.1:8080")]),
            "c1",
            None,
        );
        assert_eq!(
            local.ok().flatten().as_deref(),
            Some("http://127.0.0.1:8080/checkout/?id=c1")
        );
        let from_browser = headers(&[
            ("host", "shop.internal:8080"),
            ("origin", "https://shop.example"),
        ]);
        let url = return_url(None, none, &from_browser, "c1", None);
        assert_eq!(
            url.ok().flatten().as_deref(),
            Some("https://shop.example/checkout/?id=c1")
        );
        // Trusted origins are the shop's too.
        let trusted = vec!["https://www.shop.example".to_owned()];
        let url = return_url(
            Some("https://shop.example"),
            &trusted,
            &evil,
            "c1",
            Some("https://www.shop.example/pay/back?x=1"),
        );
        assert_eq!(
            url.ok().flatten().as_deref(),
            Some("https://www.shop.example/pay/back?x=1")
        );
        for refused in [
            "https://shop.example.evil.example/",
            "https://shop.example@evil.example/",
            "https://shop.example/back#frag",
            "https://shop.example/back?a=\"<svg>",
            "javascript:alert(1)",
            "https://shop.example/a b",
        ] {
            assert!(
                return_url(
                    Some("https://shop.example"),
                    none,
                    &evil,
                    "c1",
                    Some(refused)
                )
                .is_err(),
                "{refused}"
            );
        }
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "127.0.0.1",
            "127.0.0.1:8080",
            "localhost:3000",
            "[::1]:8080",
            "LOCALHOST",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "evil.example",
            "10.0.0.1:80",
            "127.0.0.1.evil.example",
            "[::2]:80",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
