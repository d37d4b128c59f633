//! The identity provider's public keys (CONTRACT §19): a JSON Web Key Set from a file
//! or a URL. From a URL the set is fetched at start and again every
//! `--jwt-jwks-refresh-secs` (a key the provider withdraws stops working within that
//! time), and cached. A token whose `kid` is not in the cache makes one refetch at most a minute (a
//! flood of made-up `kid`s costs the provider one request a minute), and while no key
//! has ever arrived one attempt a second at most (the server answers 503 meanwhile). A
//! request never waits more than [`FETCH_WAIT`] for a fetch in progress. A failed fetch,
//! or one with no usable key, keeps the keys already known.

use std::{collections::HashMap, sync::Arc, time::Duration};

use jsonwebtoken::{
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse},
    Algorithm, DecodingKey,
};
use tokio::{sync::Mutex, time::Instant};

/// How long a request waits for a fetch in progress before it answers from the cache.
pub const FETCH_WAIT: Duration = Duration::from_secs(2);
/// How often an unknown `kid` may refetch the set.
pub const REFETCH_EVERY: Duration = Duration::from_secs(60);
/// How often a fetch is tried while no key is known at all.
pub const RETRY_EMPTY_EVERY: Duration = Duration::from_secs(1);
/// A fetch ends within this long.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// A key set larger than this is refused (a real one is a few kilobytes).
pub const MAX_SET_BYTES: usize = 256 * 1024;

/// A verification key and the one algorithm it verifies.
#[derive(Clone)]
pub struct Key {
    /// RS256, ES256 or EdDSA.
    pub alg: Algorithm,
    /// The public key.
    pub key: DecodingKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// The usable keys of a set, by `kid`.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    by_kid: HashMap<String, Key>,
}

impl KeySet {
    /// Reads a JWK Set. Keys that cannot verify our tokens are left out, not refused:
    /// encryption keys (`use: enc`), symmetric keys (`kty: oct`, which would let a
    /// public value sign tokens), keys without a `kid`, and other algorithms or curves.
    pub fn parse(json: &[u8]) -> Result<KeySet, String> {
        #[derive(serde::Deserialize)]
        struct Raw {
            keys: Vec<serde_json::Value>,
        }
        let raw: Raw = serde_json::from_slice(json).map_err(|e| format!("not a JWK Set: {e}"))?;
        let mut by_kid = HashMap::new();
        for value in raw.keys {
            let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
                continue;
            };
            if let (Some(kid), Some(key)) = (jwk.common.key_id.clone(), usable(&jwk)) {
                by_kid.insert(kid, key);
            }
        }
        Ok(KeySet { by_kid })
    }

    /// How many usable keys it has.
    pub fn len(&self) -> usize {
        self.by_kid.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.by_kid.is_empty()
    }

    fn get(&self, kid: &str) -> Option<Key> {
        self.by_kid.get(kid).cloned()
    }
}

/// The key a JWK describes, if it is one this server verifies with.
fn usable(jwk: &Jwk) -> Option<Key> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return None;
    }
    let alg = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        _ => return None,
    };
    let declared = match jwk.common.key_algorithm {
        None => Some(alg),
        Some(KeyAlgorithm::RS256) => Some(Algorithm::RS256),
        Some(KeyAlgorithm::ES256) => Some(Algorithm::ES256),
        Some(KeyAlgorithm::EdDSA) => Some(Algorithm::EdDSA),
        Some(_) => None,
    };
    if declared != Some(alg) {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(Key { alg, key })
}

/// Why no key was found for a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoKey {
    /// The set is known and has no such key.
    Unknown,
    /// No key has arrived yet (the URL did not answer).
    Unavailable,
}

struct Cached {
    set: Arc<KeySet>,
    tried_at: Option<Instant>,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks")
            .field("url", &self.url.as_ref().map(|(url, _)| url.as_str()))
            .field("keys", &self.cached().0.len())
            .finish_non_exhaustive()
    }
}

/// Where the keys come from, and what is known of them.
pub struct Jwks {
    url: Option<(reqwest::Url, reqwest::Client)>,
    /// How often the set is fetched again whatever the tokens say.
    refresh_every: Duration,
    cached: std::sync::RwLock<Cached>,
    fetching: Mutex<()>,
    /// Moves on with every set fetched: what was verified with an older set is checked
    /// again (a key may have been withdrawn).
    generation: std::sync::atomic::AtomicU64,
}

impl Jwks {
    /// Keys read once from a file.
    pub fn from_file(path: &std::path::Path) -> Result<Jwks, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("--jwt-jwks-file {}: {e}", path.display()))?;
        let set = KeySet::parse(&bytes)
            .map_err(|e| format!("--jwt-jwks-file {}: {e}", path.display()))?;
        if set.is_empty() {
            return Err(format!(
                "--jwt-jwks-file {}: no RS256, ES256 (P-256) or EdDSA (Ed25519) key with a kid",
                path.display()
            ));
        }
        Ok(Jwks::new(None, Duration::MAX, set))
    }

    /// Keys fetched from `url` with `client`, again every `refresh_every` (by
    /// [`Jwks::keep_fresh`]).
    pub fn from_url(url: reqwest::Url, client: reqwest::Client, refresh_every: Duration) -> Jwks {
        Jwks::new(Some((url, client)), refresh_every, KeySet::default())
    }

    fn new(
        url: Option<(reqwest::Url, reqwest::Client)>,
        refresh_every: Duration,
        set: KeySet,
    ) -> Jwks {
        Jwks {
            url,
            refresh_every,
            cached: std::sync::RwLock::new(Cached {
                set: Arc::new(set),
                tried_at: None,
            }),
            fetching: Mutex::new(()),
            generation: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Which fetched set the keys are from (0 before the first, and for a file).
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    fn cached(&self) -> (Arc<KeySet>, Option<Instant>) {
        let c = self.cached.read().unwrap_or_else(|p| p.into_inner());
        (c.set.clone(), c.tried_at)
    }

    /// The key named `kid`, refetching the set if the rules above allow.
    pub async fn key(&self, kid: &str) -> Result<Key, NoKey> {
        let (set, _) = self.cached();
        if let Some(key) = set.get(kid) {
            return Ok(key);
        }
        // With no key yet, a fetch under way (the one at start) is waited for too, so
        // the first requests after start are not refused while it runs.
        if self.url.is_some() && (set.is_empty() || self.may_fetch()) {
            // One fetch at a time; whoever waits finds its result, and no one waits
            // long for a slow provider.
            if let Ok(_turn) = tokio::time::timeout(FETCH_WAIT, self.fetching.lock()).await {
                if self.may_fetch() {
                    self.refresh().await;
                }
            }
        }
        let (set, _) = self.cached();
        match set.get(kid) {
            Some(key) => Ok(key),
            None if set.is_empty() => Err(NoKey::Unavailable),
            None => Err(NoKey::Unknown),
        }
    }

    fn may_fetch(&self) -> bool {
        let (set, tried_at) = self.cached();
        let every = if set.is_empty() {
            RETRY_EMPTY_EVERY
        } else {
            REFETCH_EVERY
        };
        tried_at.is_none_or(|t| t.elapsed() >= every)
    }

    /// Fetches the set now (at start, every `refresh_every`, and when [`Jwks::key`]
    /// allows). A failure, or a set with no usable key, is logged and keeps the keys
    /// known. The time of the attempt is noted when it ends too, so that requests that
    /// waited for it do not start another at once.
    pub async fn refresh(&self) {
        let Some((url, client)) = &self.url else {
            return;
        };
        let note_attempt = || {
            self.cached
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .tried_at = Some(Instant::now());
        };
        note_attempt();
        let fetched = fetch(client, url).await.and_then(|set| {
            if set.is_empty() {
                Err("no usable key in the set (kept the keys known)".to_owned())
            } else {
                Ok(set)
            }
        });
        note_attempt();
        match fetched {
            Ok(set) => {
                tracing::info!(keys = set.len(), %url, "identity provider keys fetched");
                self.cached.write().unwrap_or_else(|p| p.into_inner()).set = Arc::new(set);
                self.generation
                    .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            }
            Err(error) => tracing::warn!(%error, %url, "identity provider keys not fetched"),
        }
    }

    /// Fetches the set at once and then every `refresh_every` until `stop` (a file's
    /// set is read once, at start).
    pub async fn keep_fresh(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        if self.url.is_none() {
            return;
        }
        loop {
            {
                let _turn = self.fetching.lock().await;
                self.refresh().await;
            }
            tokio::select! {
                () = tokio::time::sleep(self.refresh_every) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
        }
    }
}

async fn fetch(client: &reqwest::Client, url: &reqwest::Url) -> Result<KeySet, String> {
    let mut response = client
        .get(url.clone())
        .timeout(FETCH_TIMEOUT)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_SET_BYTES {
            return Err(format!("larger than {MAX_SET_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    KeySet::parse(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_signature_keys_of_our_three_algorithms_with_a_kid_are_kept() {
        let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        let set = serde_json::json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "ed"},
            {"kty": "OKP", "crv": "Ed25519", "x": x},
            {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "enc", "use": "enc"},
            {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "hs", "alg": "HS256"},
            {"kty": "oct", "k": "c2VjcmV0", "kid": "oct"},
            {"kty": "XYZ", "kid": "odd"},
            "not a key"
        ]});
        let parsed = KeySet::parse(set.to_string().as_bytes()).unwrap();
        assert_eq!(parsed.len(), 1);
        assert!(parsed.get("ed").is_some_and(|k| k.alg == Algorithm::EdDSA));
        assert!(KeySet::parse(b"[]").is_err());
    }
}
