//! Signed HTTP deliveries (CONTRACT §13, §14): the `Checkout-Signature` header of the
//! order events this shop sends to downstream systems, and of the payment provider's
//! webhooks it receives. `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`, as
//! Stripe signs its webhooks: the timestamp is under the MAC, so a captured delivery
//! cannot be replayed later with a new time, and a receiver refuses one older than its
//! tolerance (5 minutes).

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{ErrorCode, Rejection};

/// The header's name.
pub const HEADER: &str = "Checkout-Signature";
/// How old (or how far in the future) a signature may be.
pub const TOLERANCE: Duration = Duration::minutes(5);
/// Longest header read before any work.
const MAX_HEADER_LEN: usize = 1024;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], t: i64, body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes any key length"),
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64
        || !text
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// The header value for `body` signed with `secret` at `now`.
pub fn sign(secret: &[u8], body: &[u8], now: DateTime<Utc>) -> String {
    let t = now.timestamp();
    format!(
        "t={t},v1={}",
        hex(&mac(secret, t, body).finalize().into_bytes())
    )
}

fn refused(why: &str) -> Rejection {
    Rejection::with_message(ErrorCode::Forbidden, format!("Signature refused: {why}."))
}

/// Verifies a `Checkout-Signature` header for `body` under any of `secrets` (a rotation
/// keeps the previous one), in constant time: `FORBIDDEN` when it is missing, malformed,
/// signed with another secret, or its time is more than [`TOLERANCE`] from `now`.
/// Several `v1=` entries are allowed (the sender signs with each of its secrets).
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secrets: &[&[u8]],
    now: DateTime<Utc>,
) -> Result<(), Rejection> {
    let header = header.ok_or_else(|| refused("no signature"))?;
    if header.len() > MAX_HEADER_LEN {
        return Err(refused("the header is too long"));
    }
    let mut t = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) if t.is_none() => {
                t = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| refused("a bad timestamp"))?,
                );
            }
            Some(("v1", value)) => {
                candidates.push(unhex(value).ok_or_else(|| refused("a bad signature"))?)
            }
            Some(("t", _)) => return Err(refused("two timestamps")),
            _ => {}
        }
    }
    let t = t.ok_or_else(|| refused("no timestamp"))?;
    if candidates.is_empty() {
        return Err(refused("no v1 signature"));
    }
    let at = DateTime::from_timestamp(t, 0).ok_or_else(|| refused("a bad timestamp"))?;
    if (now - at).abs() > TOLERANCE {
        return Err(refused("it is too old or from the future"));
    }
    let genuine = secrets.iter().any(|secret| {
        candidates
            .iter()
            .any(|candidate| mac(secret, t, body).verify_slice(candidate).is_ok())
    });
    if genuine {
        Ok(())
    } else {
        Err(refused("it does not match"))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn signed_bodies_verify_within_the_tolerance_only() {
        let body = br#"{"id":"evt_1","type":"order.placed"}"#;
        let header = sign(b"secret-1", body, now());
        assert!(header.starts_with("t=1800000000,v1="));
        assert!(verify(Some(&header), body, &[b"secret-1"], now()).is_ok());
        assert!(verify(
            Some(&header),
            body,
            &[b"other", b"secret-1"],
            now() + TOLERANCE
        )
        .is_ok());
        let code = |r: Result<(), Rejection>| r.unwrap_err().code;
        assert_eq!(
            code(verify(
                Some(&header),
                body,
                &[b"secret-1"],
                now() + TOLERANCE + Duration::seconds(1)
            )),
            ErrorCode::Forbidden
        );
        assert_eq!(
            code(verify(
                Some(&header),
                body,
                &[b"secret-1"],
                now() - Duration::minutes(6)
            )),
            ErrorCode::Forbidden
        );
        assert_eq!(
            code(verify(Some(&header), body, &[b"secret-2"], now())),
            ErrorCode::Forbidden
        );
        assert_eq!(
            code(verify(Some(&header), b"{}", &[b"secret-1"], now())),
            ErrorCode::Forbidden
        );
        assert_eq!(
            code(verify(None, body, &[b"secret-1"], now())),
            ErrorCode::Forbidden
        );
        // A new time with the old MAC does not verify: the time is under the MAC.
        let moved = header.replacen("t=1800000000", "t=1800000100", 1);
        assert_eq!(
            code(verify(Some(&moved), body, &[b"secret-1"], now())),
            ErrorCode::Forbidden
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        let body = b"x";
        let good = sign(b"s", body, now());
        let mac = good.split_once(",v1=").unwrap().1.to_owned();
        for bad in [
            String::new(),
            "t=,v1=00".into(),
            format!("v1={mac}"),
            "t=1800000000".into(),
            format!("t=1800000000,v1={}", mac.to_uppercase()),
            format!("t=1800000000,t=1800000000,v1={mac}"),
            format!("t=99999999999999999999,v1={mac}"),
            format!("t=1800000000,v1={mac}{}", "0".repeat(2_000)),
        ] {
            assert!(verify(Some(&bad), body, &[b"s"], now()).is_err(), "{bad}");
        }
        assert!(verify(
            Some(&format!("t=1800000000, v1=00{}, v1={mac}", "0".repeat(62))),
            body,
            &[b"s"],
            now()
        )
        .is_ok());
    }

    proptest! {
        #[test]
        fn any_changed_byte_of_the_body_is_refused(body in proptest::collection::vec(any::<u8>(), 1..200), i in any::<usize>(), b in any::<u8>()) {
            let header = sign(b"k", &body, now());
            let mut changed = body.clone();
            let i = i % changed.len();
            prop_assume!(changed[i] != b);
            changed[i] = b;
            prop_assert!(verify(Some(&header), &changed, &[b"k"], now()).is_err());
            prop_assert!(verify(Some(&header), &body, &[b"k"], now()).is_ok());
        }
    }
}
