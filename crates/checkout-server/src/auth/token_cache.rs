//! Tokens already verified, so that a shopper's every request does not verify the same
//! signature again (an RS256 verification costs more than the rest of a read). Keyed by
//! the token's SHA-256; an entry holds what the token said and which fetched key set
//! verified it, and is used only while that set is current and the token has not
//! expired (checked on every use, against the server's clock). Bounded: when full it
//! starts empty again.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use sha2::{Digest, Sha256};

use super::jwt::Verified;

/// Tokens kept at most.
pub const CAPACITY: usize = 16_384;

/// Verified tokens by SHA-256, with the key set generation that verified them.
type Entries = HashMap<[u8; 32], (Arc<Verified>, u64)>;

/// The verified tokens.
#[derive(Debug, Default)]
pub struct TokenCache {
    entries: Mutex<Entries>,
}

/// A token's key in the cache (its SHA-256).
pub fn key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A key as lower-case hex.
pub fn hex(key: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for b in key {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

impl TokenCache {
    /// What `key`'s token said, if it was verified with key set `generation`.
    pub fn get(&self, key: &[u8; 32], generation: u64) -> Option<Arc<Verified>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(_, g)| *g == generation)
            .map(|(v, _)| Arc::clone(v))
    }

    /// Keeps a verified token.
    pub fn put(&self, key: [u8; 32], verified: Arc<Verified>, generation: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(key, (verified, generation));
    }

    /// How many tokens it holds.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_serves_only_its_key_set_and_the_cache_stays_bounded() {
        let cache = TokenCache::default();
        let verified = Verified {
            sub: Some("c".into()),
            ..Verified::default()
        };
        cache.put(key("a"), Arc::new(verified), 1);
        assert!(cache.get(&key("a"), 1).is_some());
        assert!(
            cache.get(&key("a"), 2).is_none(),
            "a newer key set verifies again"
        );
        assert!(cache.get(&key("b"), 1).is_none());
        for i in 0..CAPACITY + 10 {
            cache.put(key(&i.to_string()), Arc::default(), 1);
        }
        assert!(cache.len() <= CAPACITY);
        assert_eq!(
            hex(&key("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
