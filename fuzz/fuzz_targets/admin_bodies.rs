//! The admin request bodies the core judges (settings and numbering edits), from raw
//! JSON as a request brings them: never a panic, and an edit the core accepts is valid
//! (a refused edit leaves the stored value as it was).
#![no_main]

use checkout_core::{
    numbering::{OrderClass, OrderClassUpdate},
    settings::{CheckoutSettings, SettingsUpdate},
    ErrorCode,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(update) = serde_json::from_value::<SettingsUpdate>(value.clone()) {
        let stored = CheckoutSettings::default();
        match stored.apply(&update) {
            Ok(next) => assert!((5..=300).contains(&next.timeout_minutes)),
            Err(refused) => assert_eq!(refused.code, ErrorCode::ValidationFailed),
        }
    }
    if let Ok(update) = serde_json::from_value::<OrderClassUpdate>(value) {
        let stored = OrderClass::default();
        match stored.apply(&update) {
            Ok(next) => {
                next.validate().expect("an accepted edit is valid");
                assert!(next.next_number >= stored.next_number);
            }
            Err(refused) => assert_eq!(refused.code, ErrorCode::ValidationFailed),
        }
    }
});
