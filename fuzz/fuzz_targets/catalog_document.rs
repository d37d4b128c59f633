//! The catalog document parser (`CatalogDocument::from_json`, CONTRACT §17) over any
//! bytes: never a panic; a refusal is `MALFORMED_REQUEST` or `VALIDATION_FAILED` with at
//! most 100 problems, each at a JSON Pointer; an accepted document serializes and parses
//! back to itself, and pricing a cart of its first products does not panic.
#![no_main]

use checkout_core::{catalog::CatalogDocument, snapshot::Snapshot, ErrorCode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    match CatalogDocument::from_json(bytes) {
        Ok(doc) => {
            let again = serde_json::to_vec(&doc).expect("serializes");
            let back = CatalogDocument::from_json(&again).expect("its own output parses");
            assert_eq!(back, doc);
            let offer = doc.offer();
            let cart: Vec<(String, u32)> = offer
                .products
                .iter()
                .take(5)
                .map(|p| (p.sku.clone(), 3))
                .collect();
            if let Ok(mut input) = offer.pricing_input(&cart) {
                if let Some(m) = offer.shipping_methods.first() {
                    input.shipping_method = Some(m.clone());
                }
                if let Ok(s) = Snapshot::capture(&input) {
                    assert_eq!(s.totals.net + s.totals.tax, s.totals.grand_total);
                }
            }
        }
        Err(refused) => {
            assert!(matches!(
                refused.code,
                ErrorCode::MalformedRequest | ErrorCode::ValidationFailed
            ));
            if refused.code == ErrorCode::ValidationFailed {
                assert!(!refused.errors.is_empty() && refused.errors.len() <= 100);
                assert!(refused
                    .errors
                    .iter()
                    .all(|e| e.pointer.is_empty() || e.pointer.starts_with('/')));
            }
        }
    }
});
