//! Retry safety by the IETF `Idempotency-Key` draft (CONTRACT §7): which keys are
//! acceptable, the request fingerprint, and what a request with a key must do given what
//! is already stored for that key. Storing records atomically is the server's job; the
//! decision table is here.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::{ErrorCode, Rejection};

/// Longest accepted key.
pub const MAX_KEY_LEN: usize = 255;
/// Records are kept at least this long (the contract's minimum).
pub const RETENTION: Duration = Duration::hours(24);
/// A request still "in progress" after this long is taken to have died with its server
/// (a crash after claiming the key, before any effect was committed); a retry may take
/// the key over. Order effects commit together with the stored response, so a takeover
/// can never produce a second effect.
pub const IN_PROGRESS_LEASE: Duration = Duration::seconds(30);

/// A validated `Idempotency-Key` header value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Parses the header value. Absent is `IDEMPOTENCY_KEY_REQUIRED`; empty, longer than
    /// 255 characters, containing anything but visible ASCII, or a `"` or `\` inside the
    /// key is `VALIDATION_FAILED`.
    /// The draft's quoted form (`"abc"`) is accepted and unquoted.
    pub fn parse(header: Option<&str>) -> Result<IdempotencyKey, Rejection> {
        let raw = header.ok_or_else(|| Rejection::new(ErrorCode::IdempotencyKeyRequired))?;
        let raw = raw.trim();
        let value = raw
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or(raw);
        // The draft's key is a Structured Field string: inside its quotes a `"` or `\`
        // would have to be escaped, so neither may appear in the key itself (`""""`
        // would otherwise be the key `""`, which does not parse back to itself).
        if value.is_empty()
            || value.len() > MAX_KEY_LEN
            || !value
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        {
            return Err(Rejection::with_message(
                ErrorCode::ValidationFailed,
                format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
            ));
        }
        Ok(IdempotencyKey(value.to_owned()))
    }

    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The fingerprint of a request: SHA-256 over the method, the route and the body in
/// canonical JSON (object keys sorted, no insignificant white space), so a retry that
/// re-serialises the same body differently still matches.
pub fn fingerprint(method: &str, route: &str, body: &serde_json::Value) -> String {
    let mut hasher = Sha256::new();
    for part in [method.as_bytes(), route.as_bytes()] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    // serde_json's maps are ordered by key (no `preserve_order` feature), so this
    // serialisation is canonical.
    let canonical = serde_json::to_vec(body).unwrap_or_default();
    hasher.update((canonical.len() as u64).to_be_bytes());
    hasher.update(&canonical);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What is stored for a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredRequest {
    /// The first request claimed the key and has not finished.
    InProgress {
        /// Its fingerprint.
        fingerprint: String,
        /// When it claimed the key.
        started_at: DateTime<Utc>,
    },
    /// The first request finished; its response is stored.
    Completed {
        /// Its fingerprint.
        fingerprint: String,
    },
}

/// What to do with an incoming request carrying a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyDecision {
    /// Nothing stored: claim the key and run.
    Run,
    /// The first attempt died holding the key (lease ran out): take it over and run.
    TakeOver,
    /// Return the stored response with `Idempotent-Replayed: true`.
    Replay,
    /// Refuse: the same key for a different request.
    Reused,
    /// Refuse: the first request is still running.
    InProgress,
}

impl KeyDecision {
    /// The refusal for the two refusing decisions.
    pub fn rejection(self) -> Option<Rejection> {
        match self {
            KeyDecision::Reused => Some(Rejection::new(ErrorCode::IdempotencyKeyReused)),
            KeyDecision::InProgress => Some(Rejection::new(ErrorCode::RequestInProgress)),
            _ => None,
        }
    }
}

/// The decision table of the draft: a different fingerprint is always a reuse; the same
/// fingerprint replays a finished response, waits for a running one, and takes over one
/// whose lease has run out.
pub fn decide(
    stored: Option<&StoredRequest>,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> KeyDecision {
    match stored {
        None => KeyDecision::Run,
        Some(StoredRequest::Completed { fingerprint: f })
        | Some(StoredRequest::InProgress { fingerprint: f, .. })
            if f != fingerprint =>
        {
            KeyDecision::Reused
        }
        Some(StoredRequest::Completed { .. }) => KeyDecision::Replay,
        Some(StoredRequest::InProgress { started_at, .. }) => {
            if now - *started_at >= IN_PROGRESS_LEASE {
                KeyDecision::TakeOver
            } else {
                KeyDecision::InProgress
            }
        }
    }
}

/// Whether a stored response must be kept: HTTP 5xx responses are not stored (the
/// effect did not happen and the retry must run); everything else is.
pub fn is_storable(status: u16) -> bool {
    status < 500
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn keys_are_validated() {
        assert_eq!(
            IdempotencyKey::parse(None).unwrap_err().code,
            ErrorCode::IdempotencyKeyRequired
        );
        // `""""` was found by the fuzzer: quotes inside the key.
        for bad in [
            "",
            "   ",
            "has space",
            "é",
            &"k".repeat(256),
            "\"\"\"\"",
            "\"a\\\"b\"",
            "a\"b",
            "a\\b",
        ] {
            assert_eq!(
                IdempotencyKey::parse(Some(bad)).unwrap_err().code,
                ErrorCode::ValidationFailed,
                "{bad:?}"
            );
        }
        assert_eq!(
            IdempotencyKey::parse(Some("\"8e03978e-40d5\""))
                .unwrap()
                .as_str(),
            "8e03978e-40d5"
        );
    }

    #[test]
    fn fingerprint_ignores_key_order_but_not_values_or_route() {
        let a = json!({"snapshot_digest": "sha256:1", "note": "x"});
        let b: serde_json::Value =
            serde_json::from_str(r#"{ "note":"x",  "snapshot_digest":"sha256:1" }"#).unwrap();
        assert_eq!(fingerprint("POST", "/a", &a), fingerprint("POST", "/a", &b));
        assert_ne!(fingerprint("POST", "/a", &a), fingerprint("POST", "/b", &a));
        assert_ne!(
            fingerprint("POST", "/a", &a),
            fingerprint(
                "POST",
                "/a",
                &json!({"snapshot_digest": "sha256:2", "note": "x"})
            )
        );
    }

    #[test]
    fn decision_table() {
        let f = "f1";
        assert_eq!(decide(None, f, now()), KeyDecision::Run);
        let done = StoredRequest::Completed {
            fingerprint: f.into(),
        };
        assert_eq!(decide(Some(&done), f, now()), KeyDecision::Replay);
        assert_eq!(decide(Some(&done), "f2", now()), KeyDecision::Reused);
        let running = StoredRequest::InProgress {
            fingerprint: f.into(),
            started_at: now() - Duration::seconds(29),
        };
        assert_eq!(decide(Some(&running), f, now()), KeyDecision::InProgress);
        assert_eq!(decide(Some(&running), "f2", now()), KeyDecision::Reused);
        let stale = StoredRequest::InProgress {
            fingerprint: f.into(),
            started_at: now() - IN_PROGRESS_LEASE,
        };
        assert_eq!(decide(Some(&stale), f, now()), KeyDecision::TakeOver);
        assert!(is_storable(409) && is_storable(201) && !is_storable(503));
    }
}
