//! Recovery tokens and recovery links: `verify` and `peek` never panic on any input, and
//! a token or link is accepted only if it is exactly what its `sign` makes of its claims
//! with the key (no second encoding of the same claims, no altered byte, no other key),
//! and never as the other kind.
#![no_main]

use checkout_core::{
    restore,
    token::{peek, sign, verify, SigningKey},
};
use chrono::DateTime;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(key) = SigningKey::new(b"fuzzing secret, thirty-two bytes long".to_vec()) else {
        return;
    };
    let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    let peeked = peek(text);
    if let Ok(claims) = verify(text, std::slice::from_ref(&key), now) {
        assert_eq!(
            sign(&claims, &key),
            text,
            "an accepted token is not canonical"
        );
        assert_eq!(peeked.ok(), Some(claims), "peek and verify disagree");
        assert!(restore::verify(text, std::slice::from_ref(&key), now).is_err());
    }
    if let Ok(claims) = restore::verify(text, std::slice::from_ref(&key), now) {
        assert_eq!(
            restore::sign(&claims, &key),
            text,
            "an accepted link is not canonical"
        );
    }
});
