//! The shop's own priced cart (CONTRACT §24): the body is checked field by field, and
//! the same lines priced by a catalog and sent by a shop's backend price identically.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use checkout_core::{
    catalog::CatalogDocument,
    offer::Offer,
    priced_cart::PricedCart,
    restore,
    snapshot::{Address, Snapshot},
    ErrorCode,
};
use proptest::prelude::*;
use serde_json::{json, Value};

fn bookstore() -> Value {
    json!({
        "customer": {"id": "cust-42", "email": "reader@example.org"},
        "currency": "EUR", "prices_include_tax": true,
        "lines": [
            {"sku": "BK-1", "name": "Der Zauberberg", "quantity": 2, "unit_price": 1999, "tax_rate_bps": 700},
            {"sku": "TOTE", "name": "Tote bag", "quantity": 1, "unit_price": 1290, "tax_rate_bps": 1900}
        ],
        "shipping_methods": [{"id": "dhl", "name": "DHL Paket", "price": 499, "tax_rate_bps": 1900}],
        "payment_methods": [{"id": "card", "name": "Card"}, {"id": "invoice", "name": "Invoice"}],
        "metadata": {"cart_id": "c-981"}
    })
}

fn pointers(body: &Value) -> Vec<String> {
    let refusal = PricedCart::parse(body).unwrap_err();
    assert_eq!(refusal.code, ErrorCode::ValidationFailed, "{refusal:?}");
    refusal.errors.iter().map(|e| e.pointer.clone()).collect()
}

#[test]
fn the_contract_example_prices_with_the_rules_of_section_17() {
    let cart = PricedCart::parse(&bookstore()).unwrap();
    assert_eq!(cart.customer.id, "cust-42");
    assert_eq!(cart.metadata["cart_id"], "c-981");
    let mut input = cart.pricing_input();
    let offer = Offer::own(&input).unwrap();
    input
        .choose_shipping(offer.shipping("dhl").unwrap())
        .unwrap();
    let s = Snapshot::capture(&input).unwrap();
    // Books 3998 gross at 7 %: tax round(3998 × 7/107) = round(261.55) = 262.
    assert_eq!(
        (s.lines[0].gross, s.lines[0].tax, s.lines[0].net),
        (3998, 262, 3736)
    );
    // Tote 1290 at 19 %: round(1290 × 19/119) = round(205.97) = 206.
    assert_eq!((s.lines[1].gross, s.lines[1].tax), (1290, 206));
    // DHL 499 at 19 %: round(79.67) = 80.
    let shipping = s.shipping_method.as_ref().unwrap();
    assert_eq!((shipping.gross, shipping.tax), (499, 80));
    assert_eq!(s.totals.grand_total, 3998 + 1290 + 499);
    assert_eq!(s.totals.tax, 262 + 206 + 80);
    assert_eq!(s.totals.net + s.totals.tax, s.totals.grand_total);
    // The shop's rate holds wherever it goes (its platform decided it).
    input
        .set_shipping_address(&Address {
            name: "A".into(),
            line1: "1 Rue".into(),
            line2: None,
            city: "Paris".into(),
            postal_code: "75001".into(),
            region: None,
            country: "FR".into(),
            phone: None,
        })
        .unwrap();
    assert_eq!(Snapshot::capture(&input).unwrap().totals, s.totals);
}

#[test]
fn every_problem_is_listed_at_its_pointer() {
    let mut body = bookstore();
    body["lines"][0]["quantity"] = json!(0);
    body["lines"][0]["unit_price"] = json!(-1);
    body["lines"][1]["unit_price"] = json!(9_007_199_254_740_992_i64);
    body["lines"][1]["tax_rate_bps"] = json!(10_001);
    body["currency"] = json!("EUX");
    body["customer"]["email"] = json!("not an address");
    body["shipping_methods"][0]["countries"] = json!(["DE", "XX"]);
    body["payment_methods"][1]["id"] = json!("card");
    body["surprise"] = json!(1);
    let found = pointers(&body);
    for expected in [
        "/lines/0/quantity",
        "/lines/0/unit_price",
        "/lines/1/unit_price",
        "/lines/1/tax_rate_bps",
        "/currency",
        "/customer/email",
        "/shipping_methods/0/countries/1",
        "/payment_methods/1/id",
        "/surprise",
    ] {
        assert!(
            found.iter().any(|p| p == expected),
            "{expected} not in {found:?}"
        );
    }
}

#[test]
fn limits_of_lines_methods_and_metadata() {
    let line = |i: usize| json!({"sku": format!("S-{i}"), "name": "n", "quantity": 1, "unit_price": 1, "tax_rate_bps": 0});
    let mut body = bookstore();
    body["lines"] = Value::Array((0..500).map(line).collect());
    assert!(PricedCart::parse(&body).is_ok(), "500 lines are allowed");
    body["lines"] = Value::Array((0..10_000).map(line).collect());
    assert_eq!(pointers(&body), ["/lines"]);

    let mut body = bookstore();
    body["lines"] = json!([]);
    body["payment_methods"] = json!([]);
    body.as_object_mut().unwrap().remove("shipping_methods");
    assert_eq!(
        pointers(&body),
        ["/lines", "/shipping_methods", "/payment_methods"]
    );

    let mut body = bookstore();
    body["lines"][1]["sku"] = json!("BK-1");
    assert_eq!(pointers(&body), ["/lines/1/sku"]);

    let mut body = bookstore();
    let many: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    body["metadata"] = Value::Object(many);
    assert_eq!(pointers(&body), ["/metadata"]);
    body["metadata"] = json!({"a/b": "line\nbreak", "n": 5, "long": "x".repeat(501), "ok": "fine"});
    let found = pointers(&body);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found.contains(&"/metadata/a~1b".to_owned()));
    assert!(found.contains(&"/metadata/n".to_owned()));
    assert!(found.contains(&"/metadata/long".to_owned()));
    body["metadata"] = json!({"\u{202e}key": "v"});
    assert_eq!(pointers(&body), ["/metadata/\u{202e}key"]);
    body["metadata"] = json!([1]);
    assert_eq!(pointers(&body), ["/metadata"]);

    for bad in [json!(null), json!([]), json!("x"), json!({})] {
        assert!(PricedCart::parse(&bad).is_err());
    }
    // Blank-looking text is blank, fillers are refused; marks scripts need stay.
    for (name, refused) in [
        ("\u{ad}\u{ad}", true),
        ("Hangul\u{3164}", true),
        ("\u{34f}", true),
        ("\u{5e9}\u{5dc}\u{5d5}\u{5dd}\u{200f}", false),
        ("Bücher\u{ad}regal", false),
    ] {
        let mut body = bookstore();
        body["lines"][0]["name"] = json!(name);
        assert_eq!(PricedCart::parse(&body).is_err(), refused, "{name:?}");
    }
    let mut body = bookstore();
    body["customer"] = json!({"id": "cust\u{0}42"});
    assert_eq!(pointers(&body), ["/customer/id"]);
    body["customer"] = json!({"id": ""});
    assert_eq!(pointers(&body), ["/customer/id"]);
}

#[test]
fn whole_cart_rules_and_return_addresses() {
    // An empty delivery list delivers nowhere: refused (leave it out for everywhere).
    let mut body = bookstore();
    body["shipping_methods"][0]["countries"] = json!([]);
    assert_eq!(pointers(&body), ["/shipping_methods/0/countries"]);
    // Merchandise above the cap.
    let mut body = bookstore();
    body["lines"] = json!([{"sku": "A", "name": "a", "quantity": 999, "unit_price": 100_000_000, "tax_rate_bps": 0},
                           {"sku": "B", "name": "b", "quantity": 999, "unit_price": 100_000_000, "tax_rate_bps": 0}]);
    assert_eq!(pointers(&body), ["/lines"]);
    // An order that may cost nothing is not offered by card alone.
    let mut body = bookstore();
    body["lines"] = json!([{"sku": "F", "name": "Free sample", "quantity": 1, "unit_price": 0, "tax_rate_bps": 0}]);
    body["shipping_methods"][0]["price"] = json!(0);
    body["payment_methods"] = json!([{"id": "card", "name": "Card"}]);
    assert_eq!(pointers(&body), ["/payment_methods"]);
    body["shipping_methods"][0]["price"] = json!(499);
    assert!(
        PricedCart::parse(&body).is_ok(),
        "shipping makes it cost something"
    );
    // Return addresses: absolute http(s), no credentials, no spaces, no other scheme.
    let mut body = bookstore();
    body["success_url"] = json!("https://bookstore.example/thanks?c={CHECKOUT_ID}");
    body["cancel_url"] = json!("http://127.0.0.1:3000/cart");
    let cart = PricedCart::parse(&body).unwrap();
    let own = cart.pricing_input().own_offer.unwrap();
    assert_eq!(
        own.cancel_url.as_deref(),
        Some("http://127.0.0.1:3000/cart")
    );
    for bad in [
        "javascript:alert(1)",
        "//evil.example",
        "https://user:pw@evil.example/",
        "https://a b",
        "https://",
        "ftp://x.example",
        "https://bücher.example/",
    ] {
        body["success_url"] = json!(bad);
        assert_eq!(pointers(&body), ["/success_url"], "{bad}");
    }
}

#[test]
fn a_wrong_type_is_named_at_its_field() {
    let mut body = bookstore();
    body["lines"][0]["unit_price"] = json!(1000.0);
    let refusal = PricedCart::parse(&body).expect_err("a float price");
    assert_eq!(refusal.errors[0].pointer, "/lines/0/unit_price");
    assert_eq!(refusal.errors[0].detail, "must be a whole number");
    body["lines"][0]["unit_price"] = json!(1999);
    body["shipping_methods"][0]
        .as_object_mut()
        .unwrap()
        .remove("price");
    let refusal = PricedCart::parse(&body).expect_err("no price");
    assert_eq!(refusal.errors[0].pointer, "/shipping_methods/0");
    assert!(
        refusal.errors[0].detail.contains("price"),
        "{:?}",
        refusal.errors
    );
}

#[test]
fn a_restored_priced_cart_comes_back_unchanged_whatever_the_catalog_sells() {
    let mut input = PricedCart::parse(&bookstore()).unwrap().pricing_input();
    let own = Offer::own(&input).unwrap();
    input.choose_shipping(own.shipping("dhl").unwrap()).unwrap();
    input.choose_payment(own.payment("invoice").unwrap());
    let old = Snapshot::capture(&input).unwrap();
    // The catalog sells nothing of it: the shop's cart is priced from what it sent.
    let catalog = Offer::default();
    let repriced = restore::reprice(&input, &old, &catalog).unwrap();
    assert!(repriced.changes.is_empty(), "{:?}", repriced.changes);
    assert_eq!(repriced.snapshot, old);
    assert_eq!(repriced.input.own_offer, input.own_offer);
    // And such a checkout offers no voucher.
    assert!(own.voucher("READ5").is_err());
}

/// A catalog with one product per line (each in its own tax class at its rate) and one
/// shipping method, and the priced cart of the same lines.
fn both(lines: &[(i64, u32, u32)], ship: (i64, u32), included: bool) -> (Value, Value) {
    let products: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, (price, _, _))| {
            json!({"sku": format!("P-{i}"), "name": format!("Product {i}"),
            "unit_price": price, "tax_class": format!("c{i}"), "max_quantity": 999})
        })
        .collect();
    let mut rates: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, (_, _, bps))| json!({"class": format!("c{i}"), "country": "DE", "rate_bps": bps}))
        .collect();
    rates.push(json!({"class": "ship", "country": "DE", "rate_bps": ship.1}));
    let catalog = json!({
        "currency": "EUR", "prices_include_tax": included, "origin_country": "DE",
        "products": products, "tax_rates": rates,
        "shipping_methods": [{"id": "post", "name": "Post", "price": ship.0, "tax_class": "ship"}],
        "payment_methods": [{"id": "invoice", "name": "Invoice"}],
    });
    let priced_lines: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, (price, quantity, bps))| {
            json!({"sku": format!("P-{i}"), "name": format!("Product {i}"),
            "quantity": quantity, "unit_price": price, "tax_rate_bps": bps})
        })
        .collect();
    let cart = json!({
        "customer": {"id": "c"}, "currency": "EUR", "prices_include_tax": included,
        "lines": priced_lines,
        "shipping_methods": [{"id": "post", "name": "Post", "price": ship.0, "tax_rate_bps": ship.1}],
        "payment_methods": [{"id": "invoice", "name": "Invoice"}],
    });
    (catalog, cart)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// One pricing function for both: every amount of every line, the shipping and the
    /// totals agree between a catalog checkout and the same lines from a priced cart.
    #[test]
    fn a_catalog_and_a_priced_cart_price_the_same_lines_identically(
        lines in proptest::collection::vec((0i64..=200_000, 1u32..=999, 0u32..=2_700), 1..12),
        ship in (0i64..=5_000, 0u32..=2_700),
        included in any::<bool>(),
    ) {
        let (catalog, cart) = both(&lines, ship, included);
        let offer = CatalogDocument::parse(&catalog).unwrap().offer();
        let held: Vec<(String, u32)> = lines
            .iter()
            .enumerate()
            .map(|(i, (_, q, _))| (format!("P-{i}"), *q))
            .collect();
        let mut from_catalog = offer.pricing_input(&held).unwrap();
        from_catalog.choose_shipping(offer.shipping("post").unwrap()).unwrap();
        let mut from_cart = PricedCart::parse(&cart).unwrap().pricing_input();
        let own = Offer::own(&from_cart).unwrap();
        from_cart.choose_shipping(own.shipping("post").unwrap()).unwrap();
        let a = Snapshot::capture(&from_catalog).unwrap();
        let b = Snapshot::capture(&from_cart).unwrap();
        prop_assert_eq!(a.totals, b.totals);
        for (x, y) in a.lines.iter().zip(&b.lines) {
            prop_assert_eq!(
                (x.subtotal, x.discount, x.tax_rate_bps, x.net, x.tax, x.gross),
                (y.subtotal, y.discount, y.tax_rate_bps, y.net, y.tax, y.gross)
            );
        }
        let (x, y) = (a.shipping_method.unwrap(), b.shipping_method.unwrap());
        prop_assert_eq!((x.price, x.tax_rate_bps, x.net, x.tax, x.gross), (y.price, y.tax_rate_bps, y.net, y.tax, y.gross));
    }
}
