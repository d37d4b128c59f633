//! Signed tokens of the shop's identity provider (CONTRACT §19), checked with
//! `jsonwebtoken`: the signature by the key the token names (`kid`, from the JWKS) with
//! that key's one algorithm, or HS256 with the configured secret; then the claims
//! against this server's clock with 60 s of leeway. What a token may not be is refused
//! as `UNAUTHENTICATED`; keys that never arrived are `SERVICE_UNAVAILABLE`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use super::jwks::{Jwks, Key, NoKey};

/// Tokens longer than this are refused before they are parsed.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Clock skew allowed on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: i64 = 60;
/// A token may not claim to live longer than this from now (seconds): a year.
pub const MAX_LIFETIME_SECS: i64 = 366 * 86_400;
/// The most characters of a `sub` (the shop's customer id) or an agent's `sub`.
pub const MAX_SUB_CHARS: usize = 255;
/// The event a logout token carries (OpenID Connect Back-Channel Logout 1.0).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Where the keys come from.
#[derive(Debug)]
pub enum Keys {
    /// RS256, ES256 and EdDSA keys by `kid`.
    Jwks(Jwks),
    /// One shared secret, HS256 only (never printed).
    Hs256(Secret),
}

/// An HS256 secret; `Debug` does not show it.
#[derive(Clone)]
pub struct Secret(pub DecodingKey);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// How tokens are checked: the keys, and the issuer and audience when configured.
#[derive(Debug)]
pub struct Verifier {
    /// The keys.
    pub keys: Keys,
    /// `iss` must be this, when set.
    pub issuer: Option<String>,
    /// `aud` must be or contain this, when set.
    pub audience: Option<String>,
    /// The cookie a browser sends the token in, besides `Authorization: Bearer`.
    pub cookie: Option<String>,
    /// Access tokens already verified.
    pub cache: super::token_cache::TokenCache,
}

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Identifying a shopper: `sub` and `exp` required.
    Access,
    /// A back-channel logout: `events` with the logout event, `jti` and `iat` required,
    /// `sub` or `sid`, and no `nonce`.
    Logout,
}

/// The claims of a token that passed.
#[derive(Debug, Clone, Default)]
pub struct Verified {
    /// The shop's customer id.
    pub sub: Option<String>,
    /// When it expires (an access token always has one).
    pub exp: Option<DateTime<Utc>>,
    /// When it was issued, in seconds.
    pub iat: Option<i64>,
    /// When it starts to be valid, in seconds.
    pub nbf: Option<i64>,
    /// The customer's e-mail, when present.
    pub email: Option<String>,
    /// The customer's name, when present.
    pub name: Option<String>,
    /// The agent acting for the customer (RFC 8693 `act.sub`).
    pub agent: Option<String>,
    /// The identity provider's session id.
    pub sid: Option<String>,
    /// The token's id.
    pub jti: Option<String>,
}

impl Verified {
    /// When the token was issued (seconds, on the provider's clock): `iat`, else `nbf`,
    /// else a day before `exp` (a token that says nothing is taken to live at most a
    /// day). A back-channel logout refuses tokens issued at or before it.
    pub fn issued(&self) -> i64 {
        self.iat.or(self.nbf).unwrap_or_else(|| {
            self.exp
                .map_or(i64::MIN, |e| e.timestamp().saturating_sub(86_400))
        })
    }
}

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Not a valid token for this server; the text says why, for the log and the shopper.
    Invalid(String),
    /// No key is known yet: the identity provider's keys did not arrive.
    KeysUnavailable,
}

fn invalid(why: impl Into<String>) -> Refused {
    Refused::Invalid(why.into())
}

/// Whether the token's protected header has a `crit` member (read from the header's
/// JSON; the signature is checked by `jsonwebtoken` afterwards).
fn names_critical_extensions(token: &str) -> bool {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
    let Some(encoded) = token.split('.').next() else {
        return false;
    };
    URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Map<String, Value>>(&bytes).ok())
        .is_some_and(|header| header.contains_key("crit"))
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Value,
    #[serde(default)]
    exp: Value,
    #[serde(default)]
    nbf: Value,
    #[serde(default)]
    iat: Value,
    #[serde(default)]
    email: Value,
    #[serde(default)]
    name: Value,
    #[serde(default)]
    act: Value,
    #[serde(default)]
    sid: Value,
    #[serde(default)]
    jti: Value,
    #[serde(default)]
    events: Value,
    #[serde(default)]
    nonce: Value,
}

/// A NumericDate (seconds, possibly with a fraction), or why not.
fn seconds(value: &Value, name: &str) -> Result<Option<i64>, Refused> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| f.floor() as i64)
            })
            .map(Some)
            .ok_or_else(|| invalid(format!("{name} is not a time"))),
        _ => Err(invalid(format!("{name} is not a time"))),
    }
}

/// A control character, or a line or paragraph separator (which break logs and text).
fn breaks_text(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// An identifier claim: 1 to 255 characters, none of them a control character or line
/// separator.
fn identifier(value: &Value, name: &str) -> Result<Option<String>, Refused> {
    match value {
        Value::Null => Ok(None),
        Value::String(s)
            if !s.is_empty()
                && s.chars().count() <= MAX_SUB_CHARS
                && !s.chars().any(breaks_text) =>
        {
            Ok(Some(s.clone()))
        }
        _ => Err(invalid(format!(
            "{name} must be 1 to {MAX_SUB_CHARS} characters with no control characters"
        ))),
    }
}

/// A profile text (`email`, `name`): kept when it is a sensible string, else ignored.
fn profile(value: &Value) -> Option<String> {
    value
        .as_str()
        .filter(|s| s.chars().count() <= 320 && !s.chars().any(breaks_text))
        .map(str::to_owned)
}

impl Verifier {
    async fn key(&self, alg: Algorithm, kid: Option<&str>) -> Result<Key, Refused> {
        match &self.keys {
            Keys::Hs256(secret) => match alg {
                Algorithm::HS256 => Ok(Key {
                    alg,
                    key: secret.0.clone(),
                }),
                _ => Err(invalid("only HS256 tokens are accepted")),
            },
            Keys::Jwks(jwks) => {
                let kid = kid.ok_or_else(|| invalid("the token names no key (kid)"))?;
                let key = jwks.key(kid).await.map_err(|e| match e {
                    NoKey::Unknown => {
                        invalid("the token's key (kid) is not one of the identity provider's")
                    }
                    NoKey::Unavailable => Refused::KeysUnavailable,
                })?;
                if key.alg != alg {
                    return Err(invalid("the token's algorithm is not its key's"));
                }
                Ok(key)
            }
        }
    }

    /// Checks `token` for `purpose` at `now`.
    pub async fn verify(
        &self,
        token: &str,
        purpose: Purpose,
        now: DateTime<Utc>,
    ) -> Result<Arc<Verified>, Refused> {
        self.verify_keyed(token, super::token_cache::key(token), purpose, now)
            .await
    }

    /// [`Verifier::verify`] with the token's SHA-256 already computed.
    pub async fn verify_keyed(
        &self,
        token: &str,
        cache_key: [u8; 32],
        purpose: Purpose,
        now: DateTime<Utc>,
    ) -> Result<Arc<Verified>, Refused> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(invalid(format!(
                "the token is longer than {MAX_TOKEN_BYTES} bytes"
            )));
        }
        // An access token verified before with the current keys: only time has moved.
        let generation = match &self.keys {
            Keys::Jwks(jwks) => jwks.generation(),
            Keys::Hs256(_) => 0,
        };
        if purpose == Purpose::Access {
            if let Some(known) = self.cache.get(&cache_key, generation) {
                if expired(known.exp.map_or(0, |e| e.timestamp()), now.timestamp()) {
                    return Err(invalid("the token has expired"));
                }
                return Ok(known);
            }
        }
        // `alg: none` and unknown algorithms fail here: `Algorithm` has no such value.
        let header = decode_header(token).map_err(|_| invalid("not a signed token"))?;
        // RFC 7515 §4.1.11: an extension this server does not know must be refused.
        if names_critical_extensions(token) {
            return Err(invalid("the token names critical extensions (crit)"));
        }
        // A logout token is never a sign-in (OIDC Back-Channel Logout §2.4).
        // RFC 7515 §4.1.9: `typ` may carry the `application/` prefix.
        let logout_type = header.typ.as_deref().is_some_and(|t| {
            let t = t.to_ascii_lowercase();
            t == "logout+jwt" || t == "application/logout+jwt"
        });
        if purpose == Purpose::Access && logout_type {
            return Err(invalid("a logout token is not a sign-in"));
        }
        let key = self.key(header.alg, header.kid.as_deref()).await?;
        let mut validation = Validation::new(key.alg);
        // Times are checked below against this server's clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims.clear();
        validation.validate_aud = self.audience.is_some();
        if let Some(aud) = &self.audience {
            validation.set_audience(&[aud]);
            validation.required_spec_claims.insert("aud".into());
        }
        if let Some(iss) = &self.issuer {
            validation.set_issuer(&[iss]);
            validation.required_spec_claims.insert("iss".into());
        }
        let claims = decode::<Claims>(token, &key.key, &validation)
            .map_err(|e| invalid(format!("the token was refused ({e})")))?
            .claims;
        let verified = Arc::new(check(&claims, purpose, now.timestamp())?);
        if purpose == Purpose::Access {
            self.cache.put(cache_key, Arc::clone(&verified), generation);
        }
        Ok(verified)
    }
}

/// Whether a token expiring at `exp` has expired at `now` (seconds), leeway given.
fn expired(exp: i64, now: i64) -> bool {
    now > exp.saturating_add(LEEWAY_SECS)
}

/// The claim rules of CONTRACT §19 for `purpose`, at `now` (seconds).
fn check(claims: &Claims, purpose: Purpose, now: i64) -> Result<Verified, Refused> {
    let exp = seconds(&claims.exp, "exp")?;
    let nbf = seconds(&claims.nbf, "nbf")?;
    let iat = seconds(&claims.iat, "iat")?;
    if let Some(exp) = exp {
        if expired(exp, now) {
            return Err(invalid("the token has expired"));
        }
        if exp > now.saturating_add(MAX_LIFETIME_SECS) {
            return Err(invalid("the token claims to live longer than a year"));
        }
    }
    if nbf.is_some_and(|nbf| nbf > now.saturating_add(LEEWAY_SECS)) {
        return Err(invalid("the token is not valid yet"));
    }
    if iat.is_some_and(|iat| iat > now.saturating_add(LEEWAY_SECS)) {
        return Err(invalid("the token was issued in the future"));
    }
    if iat.is_some_and(|iat| iat < now.saturating_sub(MAX_LIFETIME_SECS)) {
        return Err(invalid("the token was issued more than a year ago"));
    }
    let sub = identifier(&claims.sub, "sub")?;
    let sid = identifier(&claims.sid, "sid")?;
    let agent = match &claims.act {
        Value::Null => None,
        Value::Object(act) => Some(
            identifier(act.get("sub").unwrap_or(&Value::Null), "act.sub")?
                .ok_or_else(|| invalid("act has no sub"))?,
        ),
        _ => return Err(invalid("act must be an object")),
    };
    let jti = identifier(&claims.jti, "jti")?;
    match purpose {
        Purpose::Access => {
            if exp.is_none() {
                return Err(invalid("the token has no exp"));
            }
            if !claims.events.is_null() {
                return Err(invalid("a logout token is not a sign-in"));
            }
            if sub.is_none() {
                return Err(invalid("the token has no sub"));
            }
        }
        Purpose::Logout => {
            let event = claims
                .events
                .as_object()
                .and_then(|events| events.get(BACKCHANNEL_LOGOUT_EVENT));
            if !event.is_some_and(Value::is_object) {
                return Err(invalid(
                    "a logout token needs the back-channel logout event",
                ));
            }
            if !claims.nonce.is_null() {
                return Err(invalid("a logout token may not have a nonce"));
            }
            if jti.is_none() || iat.is_none() || exp.is_none() {
                return Err(invalid("a logout token needs jti, iat and exp"));
            }
            if sub.is_none() && sid.is_none() {
                return Err(invalid("a logout token needs sub or sid"));
            }
        }
    }
    Ok(Verified {
        sub,
        exp: exp.and_then(|s| DateTime::from_timestamp(s, 0)),
        iat,
        nbf,
        email: profile(&claims.email),
        name: profile(&claims.name),
        agent,
        sid,
        jti,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: Value) -> Claims {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn access_tokens_need_sub_and_exp_within_the_leeway() {
        let now = 1_800_000_000;
        let ok = check(
            &claims(serde_json::json!({"sub": "c-1", "exp": now - 60})),
            Purpose::Access,
            now,
        )
        .unwrap();
        assert_eq!(ok.sub.as_deref(), Some("c-1"));
        for (json, why) in [
            (
                serde_json::json!({"sub": "c-1", "exp": now - 61}),
                "expired",
            ),
            (serde_json::json!({"sub": "c-1"}), "no exp"),
            (serde_json::json!({"exp": now + 60}), "no sub"),
            (
                serde_json::json!({"sub": "c-1", "exp": now + 60, "nbf": now + 61}),
                "not valid yet",
            ),
            (
                serde_json::json!({"sub": "a\u{7}b", "exp": now + 60}),
                "control",
            ),
            (
                serde_json::json!({"sub": "x".repeat(256), "exp": now + 60}),
                "255",
            ),
            (serde_json::json!({"sub": 7, "exp": now + 60}), "characters"),
            (serde_json::json!({"sub": "c", "exp": "soon"}), "not a time"),
            (
                serde_json::json!({"sub": "c", "exp": now + 60, "act": "agent"}),
                "object",
            ),
        ] {
            match check(&claims(json), Purpose::Access, now) {
                Err(Refused::Invalid(message)) => assert!(message.contains(why), "{message}"),
                other => panic!("{why}: {other:?}"),
            }
        }
    }

    #[test]
    fn logout_tokens_need_the_event_jti_iat_and_no_nonce() {
        let now = 1_800_000_000;
        let event = serde_json::json!({ BACKCHANNEL_LOGOUT_EVENT: {} });
        let good = serde_json::json!({"sub": "c-1", "iat": now, "exp": now + 120, "jti": "j1", "events": event});
        assert!(check(&claims(good.clone()), Purpose::Logout, now).is_ok());
        let mut with_nonce = good.clone();
        with_nonce["nonce"] = "n".into();
        let mut no_event = good.clone();
        no_event["events"] = serde_json::json!({});
        let mut no_jti = good.clone();
        no_jti.as_object_mut().unwrap().remove("jti");
        let mut no_exp = good.clone();
        no_exp.as_object_mut().unwrap().remove("exp");
        let mut no_subject = good;
        no_subject.as_object_mut().unwrap().remove("sub");
        for json in [with_nonce, no_event, no_jti, no_exp, no_subject] {
            assert!(check(&claims(json), Purpose::Logout, now).is_err());
        }
    }
}
