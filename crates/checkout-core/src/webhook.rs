//! Standard Webhooks 1.0, as the order events are signed for downstream systems
//! (CONTRACT §21): `webhook-id`, `webhook-timestamp` (unix seconds) and
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, several
//! space-separated while an endpoint's secret is being rotated. An endpoint's secret is
//! `whsec_` followed by the standard base64 of its key bytes; the HMAC key is those
//! bytes, not the text. Written as the specification says, so the official
//! `standardwebhooks` libraries verify what the server sends (the test command runs
//! them); the spec's own test vector is a unit test below.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{ErrorCode, Rejection};

/// The message id header: the event's id, the same on every attempt.
pub const ID_HEADER: &str = "webhook-id";
/// The header with the time of signing, in unix seconds.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The signatures header.
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// What every secret starts with.
pub const SECRET_PREFIX: &str = "whsec_";
/// Fewest key bytes of a secret the shop makes (the specification: 24 to 64).
pub const MIN_KEY_BYTES: usize = 24;
/// Most key bytes of a secret.
pub const MAX_KEY_BYTES: usize = 64;
/// How far a signature's time may be from the verifier's clock.
pub const TOLERANCE: Duration = Duration::minutes(5);
/// Longest signature header a verifier reads.
const MAX_SIGNATURE_HEADER: usize = 4 * 1024;

/// An endpoint's signing secret: its key bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    /// A new secret from `key` (random bytes the caller drew), if it has
    /// [`MIN_KEY_BYTES`] to [`MAX_KEY_BYTES`] of them.
    pub fn from_key(key: &[u8]) -> Option<Secret> {
        (MIN_KEY_BYTES..=MAX_KEY_BYTES)
            .contains(&key.len())
            .then(|| Secret(key.to_vec()))
    }

    /// Reads a stored or configured `whsec_<base64>` secret (padding optional, as the
    /// official libraries read it); `None` when it is not one or has no key bytes.
    pub fn parse(text: &str) -> Option<Secret> {
        let encoded = text.strip_prefix(SECRET_PREFIX)?.trim_end_matches('=');
        let padded = format!("{encoded}{}", "=".repeat((4 - encoded.len() % 4) % 4));
        let key = STANDARD.decode(padded).ok()?;
        (!key.is_empty() && key.len() <= 1024).then_some(Secret(key))
    }

    /// The secret as it is shown once to the admin and stored: `whsec_<base64>`.
    pub fn encode(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
        // HMAC takes a key of any length; this cannot fail.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes any key length"),
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// One signature: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!(
            "v1,{}",
            STANDARD.encode(self.mac(id, timestamp, body).finalize().into_bytes())
        )
    }
}

/// Most secrets from earlier rotations that still sign beside the current one.
pub const MAX_PREVIOUS_SECRETS: usize = 4;

/// The secrets that keep signing after a rotation replaces `current`: it, then those
/// of earlier rotations still valid (`previous`, newest first), at most
/// [`MAX_PREVIOUS_SECRETS`] — so rotating twice in a day never cuts off a receiver still
/// on the first secret.
pub fn kept_after_rotation(current: String, previous: Vec<String>) -> Vec<String> {
    let mut kept = previous;
    kept.insert(0, current);
    kept.truncate(MAX_PREVIOUS_SECRETS);
    kept
}

/// The `webhook-signature` value: one signature per secret (the current one first, then
/// the one being rotated out while it is still valid), space-separated.
pub fn signature_header(secrets: &[&Secret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| s.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

fn refused(why: &str) -> Rejection {
    Rejection::with_message(ErrorCode::Forbidden, format!("Signature refused: {why}."))
}

/// The three headers of one delivery, as a verifier reads them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Headers<'a> {
    /// `webhook-id`.
    pub id: Option<&'a str>,
    /// `webhook-timestamp`.
    pub timestamp: Option<&'a str>,
    /// `webhook-signature`.
    pub signature: Option<&'a str>,
}

/// Verifies a delivery as a receiver does: all three headers present, the time within
/// [`TOLERANCE`] of `now`, and one `v1` signature made with one of `secrets` (compared
/// in constant time). `FORBIDDEN` otherwise.
pub fn verify(
    headers: Headers<'_>,
    body: &[u8],
    secrets: &[&Secret],
    now: DateTime<Utc>,
) -> Result<(), Rejection> {
    let (Some(id), Some(timestamp), Some(signatures)) =
        (headers.id, headers.timestamp, headers.signature)
    else {
        return Err(refused("a webhook header is missing"));
    };
    if signatures.len() > MAX_SIGNATURE_HEADER {
        return Err(refused("the header is too long"));
    }
    let t: i64 = timestamp.parse().map_err(|_| refused("a bad timestamp"))?;
    let at = DateTime::from_timestamp(t, 0).ok_or_else(|| refused("a bad timestamp"))?;
    if (now - at).abs() > TOLERANCE {
        return Err(refused("it is too old or from the future"));
    }
    let genuine = signatures
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| STANDARD.decode(s).ok())
        .any(|candidate| {
            secrets
                .iter()
                .any(|secret| secret.mac(id, t, body).verify_slice(&candidate).is_ok())
        });
    if genuine {
        Ok(())
    } else {
        Err(refused("no signature matches"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's shared test vector (the official libraries test the same).
    #[test]
    fn the_specifications_test_vector() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signed = secret.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn secrets_are_24_to_64_bytes_and_read_back() {
        assert!(Secret::from_key(&[7; 23]).is_none());
        assert!(Secret::from_key(&[7; 65]).is_none());
        let secret = Secret::from_key(&[7; 32]).unwrap();
        let text = secret.encode();
        assert!(text.starts_with("whsec_") && !text.contains(char::is_whitespace));
        assert_eq!(Secret::parse(&text), Some(secret.clone()));
        // Without its padding too (as the libraries accept).
        assert_eq!(Secret::parse(text.trim_end_matches('=')), Some(secret));
        for bad in ["", "whsec_", "whsec_!!!!", "sk_abc", "whsec_a b"] {
            assert!(Secret::parse(bad).is_none(), "{bad}");
        }
        assert!(!format!("{:?}", Secret::from_key(&[1; 24]).unwrap()).contains("AQEB"));
    }

    #[test]
    fn rotation_signs_with_both_and_either_verifies() {
        let (new, old) = (
            Secret::from_key(&[1; 32]).unwrap(),
            Secret::from_key(&[2; 32]).unwrap(),
        );
        let t = now().timestamp();
        let header = signature_header(&[&new, &old], "evt_1", t, b"{}");
        assert_eq!(header.split(' ').count(), 2);
        let ts = t.to_string();
        let headers = Headers {
            id: Some("evt_1"),
            timestamp: Some(&ts),
            signature: Some(&header),
        };
        assert!(verify(headers, b"{}", &[&old], now()).is_ok());
        assert!(verify(headers, b"{}", &[&new], now()).is_ok());
        let other = Secret::from_key(&[3; 32]).unwrap();
        assert!(verify(headers, b"{}", &[&other], now()).is_err());
    }

    #[test]
    fn a_rotation_keeps_the_newest_four_earlier_secrets() {
        let kept = kept_after_rotation("c".into(), vec!["b".into(), "a".into()]);
        assert_eq!(kept, ["c", "b", "a"]);
        let many = (0..9).map(|i| i.to_string()).collect();
        assert_eq!(kept_after_rotation("x".into(), many), ["x", "0", "1", "2"]);
    }

    #[test]
    fn a_changed_id_time_body_or_clock_is_refused() {
        let secret = Secret::from_key(&[9; 24]).unwrap();
        let t = now().timestamp();
        let ts = t.to_string();
        let sig = secret.sign("evt_1", t, b"body");
        let good = Headers {
            id: Some("evt_1"),
            timestamp: Some(&ts),
            signature: Some(&sig),
        };
        assert!(verify(good, b"body", &[&secret], now()).is_ok());
        assert!(verify(good, b"bodz", &[&secret], now()).is_err());
        let other_id = Headers {
            id: Some("evt_2"),
            ..good
        };
        assert!(verify(other_id, b"body", &[&secret], now()).is_err());
        let later = (t + 1).to_string();
        let moved = Headers {
            timestamp: Some(&later),
            ..good
        };
        assert!(verify(moved, b"body", &[&secret], now()).is_err());
        assert!(verify(good, b"body", &[&secret], now() + Duration::minutes(6)).is_err());
        assert!(verify(Headers::default(), b"body", &[&secret], now()).is_err());
    }
}
