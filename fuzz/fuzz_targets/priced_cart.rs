//! The shop's priced cart (`PricedCart::parse`, CONTRACT §24) over any JSON: never a
//! panic; a refusal is `VALIDATION_FAILED` with at most 100 problems, each at a JSON
//! Pointer; an accepted cart prices with `net + tax = grand_total`, with its first
//! shipping method too, and a restore of it comes back unchanged whatever the catalog.
#![no_main]

use checkout_core::{
    offer::Offer, priced_cart::PricedCart, restore, snapshot::Snapshot, ErrorCode,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return;
    };
    match PricedCart::parse(&value) {
        Ok(cart) => {
            let mut input = cart.pricing_input();
            let own = Offer::own(&input).expect("a priced cart has its own offer");
            if let Some(m) = own.shipping_methods.first() {
                input.choose_shipping(own.shipping(&m.id).expect("offered")).expect("delivers");
            }
            let s = Snapshot::capture(&input).expect("a checked cart prices");
            assert_eq!(s.totals.net + s.totals.tax, s.totals.grand_total);
            let back = restore::reprice(&input, &s, &Offer::default()).expect("comes back");
            assert!(back.changes.is_empty());
            assert_eq!(back.snapshot, s);
        }
        Err(refused) => {
            assert_eq!(refused.code, ErrorCode::ValidationFailed);
            assert!(!refused.errors.is_empty() && refused.errors.len() <= 100);
            assert!(refused
                .errors
                .iter()
                .all(|e| e.pointer.is_empty() || e.pointer.starts_with('/')));
        }
    }
});
