//! The `Idempotency-Key` header: accepted keys are 1 to 255 visible ASCII characters and
//! parse again as themselves; nothing panics.
#![no_main]

use checkout_core::idempotency::IdempotencyKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = IdempotencyKey::parse(Some(text)) {
        let k = key.as_str();
        assert!(!k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()));
        assert_eq!(
            IdempotencyKey::parse(Some(k)).expect("re-parse").as_str(),
            k
        );
    }
});
