//! The catalog document (CONTRACT §17): the shipped catalogs are valid and price as
//! their shops expect; every problem of a bad document is listed at its JSON Pointer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use checkout_core::{catalog::CatalogDocument, snapshot::Snapshot, ErrorCode};
use serde_json::{json, Value};

fn shipped(name: &str) -> Value {
    let path = format!("{}/../../catalogs/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn pointers(value: &Value) -> Vec<String> {
    let refused = CatalogDocument::parse(value).unwrap_err();
    assert_eq!(refused.code, ErrorCode::ValidationFailed);
    refused.errors.iter().map(|e| e.pointer.clone()).collect()
}

#[test]
fn the_shipped_catalogs_are_valid_and_round_trip() {
    for name in ["bakery.json", "bookstore-eur.json", "shop-jpy.json"] {
        let doc =
            CatalogDocument::parse(&shipped(name)).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let again = CatalogDocument::parse(&serde_json::to_value(&doc).unwrap()).unwrap();
        assert_eq!(again, doc, "{name}");
    }
}

#[test]
fn a_yen_catalog_prices_in_whole_yen_with_tax_included() {
    let doc = CatalogDocument::parse(&shipped("shop-jpy.json")).unwrap();
    let offer = doc.offer();
    let mut input = offer
        .pricing_input(&[("TEA-SENCHA".into(), 3), ("TEA-POT".into(), 1)])
        .unwrap();
    input.shipping_method = Some(offer.shipping("yamato").unwrap());
    let s = Snapshot::capture(&input).unwrap();
    // 3 × 1080 = 3240 with 8 % inside: 240; 5500 with 10 % inside: 500; free shipping.
    assert_eq!(s.lines[0].tax, 240);
    assert_eq!(s.lines[1].tax, 500);
    assert_eq!(s.totals.shipping, 0);
    assert_eq!(s.totals.grand_total, 8_740);
    assert_eq!(s.totals.net + s.totals.tax, s.totals.grand_total);
}

#[test]
fn every_problem_is_listed_at_its_place_and_nothing_else() {
    let mut doc = shipped("bookstore-eur.json");
    doc["currency"] = json!("EURO");
    doc["origin_country"] = json!("XX");
    doc["colour"] = json!("blue");
    doc["products"][0]["unit_price"] = json!(9_007_199_254_740_992_i64); // 2^53
    doc["products"][1]["sku"] = json!("BK-1");
    doc["products"][2]["tax_class"] = json!("luxury");
    doc["products"][3]["weight"] = json!(3);
    doc["tax_rates"][0]["rate_bps"] = json!(-700);
    doc["promotions"][0]["rule"]["sku"] = json!("NOPE");
    doc["vouchers"][1]["discount"]["amount"] = json!(5);
    doc["shipping_methods"][1]["countries"] = json!(["FR", "ZZ"]);
    let listed = pointers(&doc);
    assert_eq!(
        listed,
        [
            "/colour",
            "/currency",
            "/origin_country",
            "/products/3/weight",
            "/tax_rates/0/rate_bps",
            "/vouchers/1/discount/amount",
            "/products/0/unit_price",
            "/products/2/tax_class",
            "/products/1/sku",
            "/promotions/0/rule/sku",
            "/shipping_methods/1/countries/1",
            "/tax_rates",
        ],
        "{listed:?}"
    );
}

#[test]
fn a_country_taxed_or_shipped_to_needs_a_rate_for_every_class() {
    let mut doc = shipped("bookstore-eur.json");
    // Austria loses its reduced rate: books could not be taxed there.
    doc["tax_rates"].as_array_mut().unwrap().remove(2);
    let refused = CatalogDocument::parse(&doc).unwrap_err();
    assert_eq!(refused.errors.len(), 1, "{:?}", refused.errors);
    assert_eq!(refused.errors[0].pointer, "/tax_rates");
    assert!(
        refused.errors[0].detail.contains("reduced in AT"),
        "{:?}",
        refused.errors
    );
    // Shipping to Italy without Italian rates is refused the same way.
    let mut doc = shipped("bookstore-eur.json");
    doc["shipping_methods"][1]["countries"] = json!(["FR", "IT"]);
    let refused = CatalogDocument::parse(&doc).unwrap_err();
    let details: Vec<&str> = refused.errors.iter().map(|e| e.detail.as_str()).collect();
    assert_eq!(
        details,
        [
            "no rate for class reduced in IT",
            "no rate for class standard in IT"
        ]
    );
}

#[test]
fn odd_documents_are_refused_not_panicked_on() {
    for odd in [
        json!(null),
        json!([]),
        json!("catalog"),
        json!({}),
        json!({"currency": "EUR", "origin_country": "DE", "products": {}}),
        json!({"currency": "EUR", "origin_country": "DE", "products": [1, "x", null]}),
        json!({"currency": 978, "origin_country": "de"}),
        json!({"currency": "EUR", "origin_country": "DE", "vouchers": [{"code": "read5", "description": "x", "discount": {"kind": "gift"}, "min_subtotal": 0}]}),
    ] {
        assert!(!pointers(&odd).is_empty(), "{odd}");
    }
    // The least catalog: a currency and a country.
    let least =
        CatalogDocument::parse(&json!({"currency": "KWD", "origin_country": "KW"})).unwrap();
    assert!(least.products.is_empty());
    // A huge list of problems is cut to the first hundred, and says how many there were.
    let mut doc = shipped("bakery.json");
    doc["products"] = Value::Array(
        (0..5_000)
            .map(|i| json!({"sku": format!("P{i}"), "name": "x", "unit_price": -1, "tax_class": "food"}))
            .collect(),
    );
    doc["promotions"] = json!([]);
    let refused = CatalogDocument::parse(&doc).unwrap_err();
    assert_eq!(refused.errors.len(), 100);
    assert!(
        refused.message.contains("5000 problem"),
        "{}",
        refused.message
    );
    assert!(
        CatalogDocument::from_json(b"{\"currency\":")
            .unwrap_err()
            .code
            == ErrorCode::MalformedRequest
    );
}

#[test]
fn fifty_thousand_products_are_one_catalog() {
    let mut doc = shipped("bakery.json");
    doc["products"] = Value::Array(
        (0..50_000)
            .map(|i| json!({"sku": format!("SKU-{i:05}"), "name": format!("Product {i}"), "unit_price": 100 + i, "tax_class": "standard"}))
            .collect(),
    );
    doc["promotions"] = json!([]);
    let parsed = CatalogDocument::parse(&doc).unwrap();
    let offer = parsed.offer();
    assert_eq!(offer.products.len(), 50_000);
    assert_eq!(offer.product("SKU-49999").unwrap().unit_price, 100 + 49_999);
}
