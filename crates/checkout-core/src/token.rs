//! Recovery tokens (CONTRACT §8): what a token claims, how it is encoded and signed with
//! HMAC-SHA256, how it is verified in constant time, and what binds it to its session.
//!
//! Format: `cgr1.<payload>.<mac>` where `payload` is the base64url (no padding) JSON of
//! [`RecoveryClaims`] and `mac` is the base64url HMAC-SHA256 of `cgr1.<payload>` under
//! the server secret. Decoding is strict (canonical base64 only, exact claim fields), so
//! changing any byte of a token makes it invalid.
//!
//! Single use without a table of spent tokens: a token carries the session's
//! `generation`; redeeming it increments the generation (compare-and-set) and issues a
//! new token, so an older token's generation is behind and it is `TOKEN_REPLAYED`.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::Sha256;

use crate::{
    error::{ErrorCode, Rejection},
    verdict::{evaluate, Action, CheckInput, SessionView, Viewer},
};

const PREFIX: &str = "cgr1";
/// Smallest secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 32;
/// Longest lifetime of a token, even for a session that never expires.
pub const MAX_TOKEN_TTL: Duration = Duration::hours(24);
/// Longest token accepted before any decoding work.
pub const MAX_TOKEN_LEN: usize = 1024;

type HmacSha256 = Hmac<Sha256>;

/// What a recovery token asserts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryClaims {
    /// Session id.
    pub sid: String,
    /// The shopper it was issued to.
    pub uid: String,
    /// The session's generation at issue.
    pub gen: u32,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds; never later than the session's own expiry.
    pub exp: i64,
}

/// A signing secret. The first key signs; every key verifies, so a previous secret
/// keeps working during a rotation.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// Wraps secret bytes, refusing secrets shorter than [`MIN_SECRET_LEN`].
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<SigningKey, Rejection> {
        let bytes = bytes.into();
        if bytes.len() < MIN_SECRET_LEN {
            return Err(Rejection::with_message(
                ErrorCode::ValidationFailed,
                format!("a token secret needs at least {MIN_SECRET_LEN} bytes"),
            ));
        }
        Ok(SigningKey(bytes))
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length; this cannot fail.
        match HmacSha256::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes any key length"),
        }
    }
}

impl RecoveryClaims {
    /// The claims for a token issued at `now` for `session`: expiry is the session's own
    /// expiry, capped at [`MAX_TOKEN_TTL`] from now.
    pub fn issue(session: &SessionView, now: DateTime<Utc>) -> RecoveryClaims {
        let cap = now + MAX_TOKEN_TTL;
        let exp = match session.expires_at {
            Some(expiry) if session.managed => expiry.min(cap),
            _ => cap,
        };
        RecoveryClaims {
            sid: session.id.clone(),
            uid: session.user_id.clone(),
            gen: session.generation,
            iat: now.timestamp(),
            exp: exp.timestamp(),
        }
    }
}

fn invalid() -> Rejection {
    Rejection::new(ErrorCode::TokenInvalid)
}

/// Signs claims into a token.
pub fn sign(claims: &RecoveryClaims, key: &SigningKey) -> String {
    seal(PREFIX, claims, key)
}

/// `<prefix>.<base64url JSON>.<base64url HMAC-SHA256 of the two>`: the one encoding of
/// every signed token (recovery tokens here, recovery links in [`crate::restore`]). The
/// prefix is under the MAC, so a token of one kind is never taken for the other.
pub(crate) fn seal<T: Serialize>(prefix: &str, claims: &T, key: &SigningKey) -> String {
    // Serialising plain strings and integers cannot fail.
    let json = serde_json::to_vec(claims).unwrap_or_default();
    let signed = format!("{prefix}.{}", URL_SAFE_NO_PAD.encode(json));
    let mut mac = key.mac();
    mac.update(signed.as_bytes());
    let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signed}.{tag}")
}

fn split<'t>(prefix: &str, token: &'t str) -> Result<(&'t str, &'t str, &'t str), Rejection> {
    if token.len() > MAX_TOKEN_LEN || !token.is_ascii() {
        return Err(invalid());
    }
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(p), Some(payload), Some(tag), None) if p == prefix => {
            let signed_len = prefix.len() + 1 + payload.len();
            Ok((&token[..signed_len], payload, tag))
        }
        _ => Err(invalid()),
    }
}

fn parse_claims<T: DeserializeOwned>(payload: &str) -> Result<T, Rejection> {
    let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
    serde_json::from_slice(&json).map_err(|_| invalid())
}

/// Checks the MAC of a sealed token under any of `keys` (constant-time comparison),
/// then reads its claims. Any altered byte is `TOKEN_INVALID`.
pub(crate) fn open<T: DeserializeOwned>(
    prefix: &str,
    token: &str,
    keys: &[SigningKey],
) -> Result<T, Rejection> {
    let (signed, payload, tag) = split(prefix, token)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
    let genuine = keys.iter().any(|key| {
        let mut mac = key.mac();
        mac.update(signed.as_bytes());
        mac.verify_slice(&tag).is_ok()
    });
    if !genuine {
        return Err(invalid());
    }
    parse_claims(payload)
}

/// Verifies the signature under any of `keys` (constant-time comparison), then the
/// expiry. Any altered byte is `TOKEN_INVALID`; a genuine but old token is
/// `TOKEN_EXPIRED` (`now >= exp`).
pub fn verify(
    token: &str,
    keys: &[SigningKey],
    now: DateTime<Utc>,
) -> Result<RecoveryClaims, Rejection> {
    let claims: RecoveryClaims = open(PREFIX, token, keys)?;
    if now.timestamp() >= claims.exp {
        return Err(Rejection::new(ErrorCode::TokenExpired));
    }
    Ok(claims)
}

/// Reads the claims without checking the signature. The browser has no secret; it uses
/// this only to know which session and until when, never to trust the token.
pub fn peek(token: &str) -> Result<RecoveryClaims, Rejection> {
    let (_, payload, _) = split(PREFIX, token)?;
    parse_claims(payload)
}

/// Checks verified claims against the session they name, for the shopper redeeming
/// them: the right shopper, the current generation (an older one was already used),
/// and a session that is still `ACTIVE` (otherwise its own code, e.g. expired).
pub fn check_binding(
    claims: &RecoveryClaims,
    session: Option<&SessionView>,
    viewer: &Viewer,
    now: DateTime<Utc>,
) -> Result<(), Rejection> {
    let Some(user) = viewer.user_id.as_deref() else {
        return Err(Rejection::new(ErrorCode::Unauthenticated));
    };
    if claims.uid != user {
        return Err(Rejection::with_message(
            ErrorCode::TokenInvalid,
            "This recovery link belongs to another account.",
        ));
    }
    let session = match session {
        Some(s) if s.id == claims.sid && s.user_id == claims.uid => s,
        _ => return Err(Rejection::new(ErrorCode::CheckoutNotFound)),
    };
    if claims.gen < session.generation {
        return Err(Rejection::new(ErrorCode::TokenReplayed));
    }
    if claims.gen > session.generation {
        return Err(invalid());
    }
    evaluate(&CheckInput {
        session: Some(session.clone()),
        viewer: viewer.clone(),
        action: Action::Resume,
        digest: None,
        now,
    })
    .into_result()
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::lifecycle::SessionStatus;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn key(byte: u8) -> SigningKey {
        SigningKey::new(vec![byte; 32]).unwrap()
    }

    fn session() -> SessionView {
        SessionView {
            id: "0193-session".into(),
            user_id: "u1".into(),
            status: SessionStatus::Active,
            managed: true,
            expires_at: Some(now() + Duration::minutes(10)),
            login_expires_at: None,
            is_latest: true,
            digest: "sha256:aa".into(),
            generation: 3,
        }
    }

    fn viewer(user: &str) -> Viewer {
        Viewer {
            user_id: Some(user.into()),
            acting_admin: None,
        }
    }

    #[test]
    fn round_trip_and_expiry_capped_by_the_session() {
        let claims = RecoveryClaims::issue(&session(), now());
        assert_eq!(claims.exp, (now() + Duration::minutes(10)).timestamp());
        let token = sign(&claims, &key(1));
        assert_eq!(verify(&token, &[key(1)], now()).unwrap(), claims);
        assert_eq!(peek(&token).unwrap(), claims);
        let at_expiry = now() + Duration::minutes(10);
        assert_eq!(
            verify(&token, &[key(1)], at_expiry).unwrap_err().code,
            ErrorCode::TokenExpired
        );
    }

    #[test]
    fn previous_secret_still_verifies_during_rotation() {
        let token = sign(&RecoveryClaims::issue(&session(), now()), &key(1));
        assert!(verify(&token, &[key(2), key(1)], now()).is_ok());
        assert_eq!(
            verify(&token, &[key(2)], now()).unwrap_err().code,
            ErrorCode::TokenInvalid
        );
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(SigningKey::new(vec![0; 31]).is_err());
    }

    #[test]
    fn binding_checks_user_generation_and_state() {
        let s = session();
        let claims = RecoveryClaims::issue(&s, now());
        assert!(check_binding(&claims, Some(&s), &viewer("u1"), now()).is_ok());
        let code = |r: Result<(), Rejection>| r.unwrap_err().code;
        assert_eq!(
            code(check_binding(&claims, Some(&s), &viewer("u2"), now())),
            ErrorCode::TokenInvalid
        );
        let mut rotated = s.clone();
        rotated.generation += 1;
        assert_eq!(
            code(check_binding(&claims, Some(&rotated), &viewer("u1"), now())),
            ErrorCode::TokenReplayed
        );
        let mut expired = s.clone();
        expired.status = SessionStatus::Expired;
        assert_eq!(
            code(check_binding(&claims, Some(&expired), &viewer("u1"), now())),
            ErrorCode::CheckoutExpired
        );
        assert_eq!(
            code(check_binding(&claims, None, &viewer("u1"), now())),
            ErrorCode::CheckoutNotFound
        );
    }

    proptest! {
        #[test]
        fn changing_any_byte_makes_the_token_invalid(
            position in 0usize..4096,
            replacement in any::<u8>(),
        ) {
            let token = sign(&RecoveryClaims::issue(&session(), now()), &key(7));
            let mut bytes = token.clone().into_bytes();
            let i = position % bytes.len();
            prop_assume!(bytes[i] != replacement);
            bytes[i] = replacement;
            let tampered = String::from_utf8_lossy(&bytes).into_owned();
            let err = verify(&tampered, &[key(7)], now()).unwrap_err();
            prop_assert_eq!(err.code, ErrorCode::TokenInvalid);
        }
    }

    #[test]
    fn every_single_byte_change_is_invalid_exhaustively() {
        let token = sign(&RecoveryClaims::issue(&session(), now()), &key(9));
        let original = token.as_bytes();
        for i in 0..original.len() {
            for replacement in 0u8..=255 {
                if replacement == original[i] {
                    continue;
                }
                let mut bytes = original.to_vec();
                bytes[i] = replacement;
                let tampered = String::from_utf8_lossy(&bytes).into_owned();
                assert_eq!(
                    verify(&tampered, &[key(9)], now()).unwrap_err().code,
                    ErrorCode::TokenInvalid,
                    "byte {i} -> {replacement}"
                );
            }
        }
    }
}
