//! The shop's catalog as data over HTTP (CONTRACT §17), on both databases: a bookstore
//! in EUR with VAT included and a tea shop in JPY are loaded with the admin API and
//! ordered from; every change is checked whole, conditional on the version, bounded in
//! size; a product removed while a checkout holds it; several instances see a change.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Backend, Resp, Server, Shopper};
use reqwest::Method;
use serde_json::{json, Value};

fn shipped(name: &str) -> Value {
    let path = format!("{}/../../catalogs/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn etag(r: &Resp) -> String {
    r.headers["etag"].to_str().unwrap().to_owned()
}

async fn put_catalog(server: &Server, doc: Value, if_match: &str) -> Resp {
    server
        .admin_with(
            Method::PUT,
            "/admin/catalog",
            Some(doc),
            &[("if-match", if_match)],
        )
        .await
}

/// Adds `lines`, starts a checkout, applies `voucher`, chooses the methods and places
/// the order; returns (the snapshot ordered, the order).
async fn order(
    shopper: &Shopper,
    lines: &[(&str, i64)],
    voucher: Option<&str>,
    (country, shipping, payment): (&str, &str, &str),
) -> (Value, Value) {
    for (sku, quantity) in lines {
        shopper.add(sku, *quantity).await;
    }
    let started = shopper.initiate().await;
    assert_eq!(started.status, 201, "{}", started.body);
    let id = started.body["id"].as_str().unwrap().to_owned();
    if let Some(code) = voucher {
        let r = shopper
            .send(
                Method::POST,
                &format!("/checkouts/{id}/vouchers"),
                Some(json!({"code": code})),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = shopper.ship_to(&id, country).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = shopper.select(&id, "shipping-method", shipping).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let chosen = shopper.select(&id, "payment-method", payment).await.body;
    let digest = chosen["digest"].as_str().unwrap();
    let placed = shopper.place_order(&id, digest, "order-1").await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    (chosen["snapshot"].clone(), placed.body)
}

fn totals(snapshot: &Value) -> [i64; 6] {
    let t = &snapshot["totals"];
    [
        "subtotal",
        "discount",
        "shipping",
        "tax",
        "grand_total",
        "net",
    ]
    .map(|f| t[f].as_i64().unwrap())
}

async fn bookstore_and_tea_shop(backend: Backend) {
    let server = Server::start(backend).await;
    // The first start stored the demo bakery as version 1.
    let first = server.admin(Method::GET, "/admin/catalog", None).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        (etag(&first).as_str(), first.body["version"].as_i64()),
        ("\"1\"", Some(1))
    );
    assert_eq!(first.body["currency"], "USD");

    // The bookstore replaces it: EUR, VAT included, taxes by destination.
    let stored = put_catalog(&server, shipped("bookstore-eur.json"), "\"1\"").await;
    assert_eq!(stored.status, 200, "{}", stored.body);
    assert_eq!(etag(&stored), "\"2\"");
    let products = server.shopper("lister").await.get("/products").await.body;
    assert_eq!(products["currency"], "EUR");
    assert_eq!(products["prices_include_tax"], true);
    assert_eq!(products["products"].as_array().unwrap().len(), 4);

    let reader = server.shopper("reader").await;
    let (snapshot, placed) = order(
        &reader,
        &[("BK-1", 2), ("TOTE", 1)],
        Some("read5"),
        ("DE", "dhl", "invoice"),
    )
    .await;
    // By the rules of docs/catalog.md: Zauberberg 3998 − 10 % (400) = 3598, tote 1290;
    // merchandise 4888 (under €50: no order promotion); READ5 takes 500, spread
    // 368 : 132; books 3230 with 7 % inside = 211, tote 1158 with 19 % inside = 185;
    // DHL free from €40 (4388 ≥ 4000).
    assert_eq!(totals(&snapshot), [5_288, 900, 0, 396, 4_388, 3_992]);
    let lines = snapshot["lines"].as_array().unwrap();
    let parts = |l: &Value| ["net", "tax", "gross"].map(|f| l[f].as_i64().unwrap());
    assert_eq!(parts(&lines[0]), [3_019, 211, 3_230]);
    assert_eq!(parts(&lines[1]), [973, 185, 1_158]);
    assert_eq!(
        (
            lines[0]["tax_rate_bps"].as_i64(),
            lines[1]["tax_rate_bps"].as_i64()
        ),
        (Some(700), Some(1_900))
    );
    assert_eq!(snapshot["prices_include_tax"], true);
    assert_eq!(snapshot["currency"], "EUR");
    let order_id = placed["id"].as_str().unwrap();
    let stored_order = reader.get(&format!("/orders/{order_id}")).await;
    assert_eq!(stored_order.status, 200, "{}", stored_order.body);
    assert_eq!(totals(&stored_order.body["snapshot"]), totals(&snapshot));

    // A stale version is refused and changes nothing; the tea shop (JPY) follows.
    let stale = put_catalog(&server, shipped("shop-jpy.json"), "\"1\"").await;
    stale.assert_problem("PRECONDITION_FAILED", 412);
    let tea = put_catalog(&server, shipped("shop-jpy.json"), "\"2\"").await;
    assert_eq!(tea.status, 200, "{}", tea.body);
    assert_eq!(tea.body["version"], 3);
    let drinker = server.shopper("drinker").await;
    let (snapshot, _) = order(
        &drinker,
        &[("TEA-SENCHA", 3), ("TEA-POT", 1)],
        None,
        ("JP", "yamato", "konbini"),
    )
    .await;
    // Whole yen: 3240 with 8 % inside = 240, 5500 with 10 % inside = 500; free shipping.
    assert_eq!(totals(&snapshot), [8_740, 0, 0, 740, 8_740, 8_000]);
    assert_eq!(snapshot["currency"], "JPY");
    // The reader's cart holds books the tea shop does not sell: nothing to check out,
    // and no book can be added.
    reader
        .send(
            Method::POST,
            "/cart/items",
            Some(json!({"sku": "BK-1", "quantity": 1})),
            &[],
        )
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    server.stop().await;
}
on_both_backends!(
    a_bookstore_in_eur_and_a_tea_shop_in_jpy_are_loaded_and_ordered_from,
    bookstore_and_tea_shop
);

async fn edits_checked_whole(backend: Backend) {
    let server = Server::start(backend).await;
    let mut bad = shipped("bookstore-eur.json");
    bad["products"][0]["unit_price"] = json!(9_007_199_254_740_992_i64); // 2^53
    bad["tax_rates"][1]["rate_bps"] = json!(-1_900);
    bad["products"][2]["colour"] = json!("red");
    bad["shipping_methods"][0]["countries"] = json!(["DE", "IT"]);
    let refused = put_catalog(&server, bad, "\"1\"").await;
    refused.assert_problem("VALIDATION_FAILED", 422);
    let pointers = refused.pointers();
    for expected in [
        "/products/0/unit_price",
        "/tax_rates/1/rate_bps",
        "/products/2/colour",
        "/tax_rates",
    ] {
        assert!(pointers.contains(&expected), "{expected} in {pointers:?}");
    }
    // If-Match is compared strongly: weak, unquoted, padded or listed tags never match,
    // and a body version must agree with it.
    for tag in [
        "W/\"1\"",
        "1",
        "\"01\"",
        "\"+1\"",
        "\"0\", \"1\"",
        "garbage",
    ] {
        put_catalog(&server, shipped("bookstore-eur.json"), tag)
            .await
            .assert_problem("PRECONDITION_FAILED", 412);
    }
    let mut versioned = shipped("bookstore-eur.json");
    versioned["version"] = json!(7);
    put_catalog(&server, versioned, "\"1\"")
        .await
        .assert_problem("PRECONDITION_FAILED", 412);
    let unchanged = server.admin(Method::GET, "/admin/catalog", None).await;
    assert_eq!(
        (
            unchanged.body["version"].as_i64(),
            unchanged.body["currency"].as_str()
        ),
        (Some(1), Some("USD"))
    );

    // 10 MB is refused before it is read; 50,000 products are one catalog.
    let auth = format!("Authorization: Bearer {}", common::ADMIN);
    server
        .assert_refused_unread("PUT", "/admin/catalog", &[&auth], 10 * 1024 * 1024)
        .await;
    let mut big = shipped("bakery.json");
    big["products"] = Value::Array(
        (0..50_000)
            .map(|i| json!({"sku": format!("SKU-{i:05}"), "name": format!("Product {i}"), "unit_price": 100 + i, "tax_class": "standard"}))
            .collect(),
    );
    big["promotions"] = json!([]);
    let started = Instant::now();
    let stored = put_catalog(&server, big, "\"1\"").await;
    assert_eq!(stored.status, 200, "{}", stored.code().unwrap_or(""));
    println!("catalog: 50,000 products stored in {:?}", started.elapsed());
    let shopper = server.shopper("many").await;
    shopper.add("SKU-49999", 2).await;
    let r = shopper.initiate().await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["snapshot"]["lines"][0]["unit_price"], 100 + 49_999);

    // Several admins with the same If-Match at once: one wins, the others are told.
    let version = etag(&server.admin(Method::GET, "/admin/catalog", None).await);
    let mut tasks = Vec::new();
    for i in 0..6 {
        let (base, version) = (server.base.clone(), version.clone());
        let mut doc = shipped("bakery.json");
        doc["products"][0]["unit_price"] = json!(400 + i);
        tasks.push(tokio::spawn(async move {
            let r = Server::client()
                .put(format!("{base}/api/v1/admin/catalog"))
                .bearer_auth(common::ADMIN)
                .header("if-match", version)
                .json(&doc)
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412, 412, 412, 412, 412]);
    server.stop().await;
}
on_both_backends!(
    catalog_changes_are_checked_whole_bounded_and_conditional,
    edits_checked_whole
);

async fn one_product(backend: Backend) {
    let server = Server::start(backend).await;
    // Alice's live checkout holds walnut brownies.
    let alice = server.shopper("alice").await;
    alice.add("BRW-WALNUT", 2).await;
    let live = alice.initiate().await;
    assert_eq!(live.status, 201, "{}", live.body);
    let id = live.body["id"].as_str().unwrap().to_owned();

    let product = json!({"name": "Rocky road", "unit_price": 450, "tax_class": "food", "category": "brownies"});
    let added = server
        .admin(
            Method::PUT,
            "/admin/catalog/products/BRW-ROCKY",
            Some(product.clone()),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(
        (
            added.body["sku"].as_str(),
            added.body["max_quantity"].as_i64()
        ),
        (Some("BRW-ROCKY"), Some(999))
    );
    let mut dearer = product.clone();
    dearer["unit_price"] = json!(475);
    let replaced = server
        .admin_with(
            Method::PUT,
            "/admin/catalog/products/BRW-ROCKY",
            Some(dearer),
            &[("if-match", &etag(&added))],
        )
        .await;
    assert_eq!(
        (replaced.status, replaced.body["unit_price"].as_i64()),
        (200, Some(475))
    );
    // Stale, mismatched and badly classed products are refused.
    server
        .admin_with(
            Method::PUT,
            "/admin/catalog/products/BRW-ROCKY",
            Some(product.clone()),
            &[("if-match", &etag(&added))],
        )
        .await
        .assert_problem("PRECONDITION_FAILED", 412);
    let mut other = product.clone();
    other["sku"] = json!("BRW-OTHER");
    server
        .admin(
            Method::PUT,
            "/admin/catalog/products/BRW-ROCKY",
            Some(other),
        )
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    let mut classless = product.clone();
    classless["tax_class"] = json!("luxury");
    let r = server
        .admin(
            Method::PUT,
            "/admin/catalog/products/BRW-ROCKY",
            Some(classless),
        )
        .await;
    r.assert_problem("VALIDATION_FAILED", 422);
    assert_eq!(r.body["errors"][0]["pointer"], "/products/8/tax_class");

    // The walnut brownie is deleted while Alice's checkout holds it: hers keeps it and
    // is ordered; Bob cannot buy it any more.
    let deleted = server
        .admin(Method::DELETE, "/admin/catalog/products/BRW-WALNUT", None)
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    server
        .admin(Method::DELETE, "/admin/catalog/products/BRW-WALNUT", None)
        .await
        .assert_problem("NOT_FOUND", 404);
    let chosen = alice.choose(&id, "standard", "invoice").await;
    let placed = alice
        .place_order(&id, chosen["digest"].as_str().unwrap(), "k")
        .await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    assert_eq!(placed.body["snapshot"]["lines"][0]["sku"], "BRW-WALNUT");
    let bob = server.shopper("bob").await;
    bob.send(
        Method::POST,
        "/cart/items",
        Some(json!({"sku": "BRW-WALNUT", "quantity": 1})),
        &[],
    )
    .await
    .assert_problem("VALIDATION_FAILED", 422);
    // A product a promotion names cannot go before the promotion.
    let r = server
        .admin(Method::DELETE, "/admin/catalog/products/BRW-FUDGE", None)
        .await;
    r.assert_problem("VALIDATION_FAILED", 422);
    assert_eq!(r.body["errors"][0]["pointer"], "/promotions/0/rule/sku");
    server.stop().await;
}
on_both_backends!(
    one_product_is_put_or_deleted_and_live_checkouts_keep_theirs,
    one_product
);

/// Two instances on one PostgreSQL database: a change stored through one is priced by
/// the other at its next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_instance_sees_a_change_within_a_second() {
    let seed = format!(
        "{}/../../catalogs/bookstore-eur.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let Some(cluster) = common::Cluster::start(2, &["--catalog", seed.as_str()]).await else {
        return;
    };
    let (a, b) = (&cluster.processes[0], &cluster.processes[1]);
    let client = Server::client();
    let products = |base: String| {
        let client = client.clone();
        async move {
            let r = client
                .get(format!("{base}/api/v1/products"))
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()
        }
    };
    // Both started from the same seed: one version 1 between them.
    assert_eq!(products(b.base.clone()).await["currency"], "EUR");
    let mut dearer = shipped("bookstore-eur.json");
    dearer["products"][0]["unit_price"] = json!(2_499);
    let r = client
        .put(format!("{}/api/v1/admin/catalog", a.base))
        .bearer_auth(common::ADMIN)
        .header("if-match", "\"1\"")
        .json(&dearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let changed = Instant::now();
    loop {
        let seen = products(b.base.clone()).await;
        if seen["products"][0]["unit_price"] == 2_499 {
            break;
        }
        assert!(changed.elapsed() < Duration::from_secs(1), "{seen}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "catalog: the other instance priced the change after {:?}",
        changed.elapsed()
    );
    cluster.stop().await;
}

async fn addresses(backend: Backend) {
    let server = Server::start(backend).await;
    let put = put_catalog(&server, shipped("bookstore-eur.json"), "\"1\"").await;
    assert_eq!(put.status, 200, "{}", put.body);
    let reader = server.shopper("reader").await;
    reader.add("BK-1", 1).await;
    let started = reader.initiate().await;
    let id = started.body["id"].as_str().unwrap().to_owned();
    // Before an address: taxed at home (DE, 7 %); no order action yet.
    assert_eq!(started.body["snapshot"]["lines"][0]["tax_rate_bps"], 700);
    let r = reader.select(&id, "shipping-method", "dhl").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = reader.select(&id, "payment-method", "invoice").await;
    let refused = reader
        .place_order(&id, r.body["digest"].as_str().unwrap(), "k1")
        .await;
    refused.assert_problem("VALIDATION_FAILED", 422);
    assert_eq!(refused.body["missing"], json!(["shipping_address"]));

    // Hostile addresses are refused field by field, and change nothing.
    let mut bad = json!({"name": "Max\u{0}", "line1": "x".repeat(10_000), "city": "Köln",
        "postal_code": "50667", "country": "D\u{0}E", "phone": "+49 (221) 555"});
    let r = reader
        .send(
            Method::PUT,
            &format!("/checkouts/{id}/shipping-address"),
            Some(bad.clone()),
            &[],
        )
        .await;
    r.assert_problem("VALIDATION_FAILED", 422);
    let pointers = r.pointers();
    assert_eq!(pointers, ["/name", "/line1", "/country"]);
    bad["colour"] = json!("red");
    reader
        .send(
            Method::PUT,
            &format!("/checkouts/{id}/shipping-address"),
            Some(bad),
            &[],
        )
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    // Missing, unknown and mistyped fields are each listed where they are.
    let r = reader
        .send(
            Method::PUT,
            &format!("/checkouts/{id}/shipping-address"),
            Some(json!({"line1": "Ring 1", "city": "Wien", "postal_code": 1010, "country": "AT", "email": "x@y"})),
            &[],
        )
        .await;
    r.assert_problem("VALIDATION_FAILED", 422);
    let pointers = r.pointers();
    assert_eq!(pointers, ["/email", "/name", "/postal_code"]);
    assert!(reader.session(&id).await["snapshot"]["shipping_address"].is_null());

    // To France: French VAT (5.5 %) inside the same shelf price, and DHL Paket does not
    // go there, so it is dropped and the answer says so.
    let to_france = reader.ship_to(&id, "FR").await;
    assert_eq!(to_france.status, 200, "{}", to_france.body);
    let s = &to_france.body["snapshot"];
    assert_eq!(s["shipping_address"]["country"], "FR");
    assert_eq!(s["lines"][0]["tax_rate_bps"], 550);
    assert_eq!(s["lines"][0]["gross"], 1_799);
    assert!(s["shipping_method"].is_null(), "{s}");
    let kinds: Vec<&str> = to_france.body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"shipping_gone"), "{kinds:?}");
    assert_ne!(to_france.body["digest"], r.body["digest"]);
    reader
        .select(&id, "shipping-method", "dhl")
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    let r = reader.select(&id, "shipping-method", "dhl-eu").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let billing = json!({"name": "Verlag GmbH", "line1": "Ring 1", "city": "Wien", "postal_code": "1010", "country": "AT"});
    let r = reader
        .send(
            Method::PUT,
            &format!("/checkouts/{id}/billing-address"),
            Some(billing),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["snapshot"]["billing_address"]["country"], "AT");
    assert_eq!(
        r.body["snapshot"]["lines"][0]["tax_rate_bps"], 550,
        "tax follows the shipping address"
    );
    let placed = reader
        .place_order(&id, r.body["digest"].as_str().unwrap(), "k2")
        .await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    assert_eq!(
        placed.body["snapshot"]["shipping_address"]["city"],
        "Springfield"
    );
    assert_eq!(
        placed.body["snapshot"]["billing_address"]["name"],
        "Verlag GmbH"
    );
    server.stop().await;
}
on_both_backends!(
    an_address_reprices_by_destination_and_is_needed_to_order,
    addresses
);

async fn currency_change(backend: Backend) {
    let server = Server::start(backend).await;
    // Alice's checkout (USD) expires with brownies in it.
    let alice = server.shopper("alice").await;
    let old = alice.checkout().await;
    let old_total = old["snapshot"]["totals"]["grand_total"].as_i64().unwrap();
    server.advance(11 * 60).await;
    // The shop moves to euros, prices with VAT: the same SKUs, new numbers.
    let mut euros = shipped("bakery.json");
    euros["currency"] = json!("EUR");
    euros["prices_include_tax"] = json!(true);
    euros["origin_country"] = json!("DE");
    euros["tax_rates"] = json!([
        {"class": "food", "country": "DE", "rate_bps": 700},
        {"class": "standard", "country": "DE", "rate_bps": 1_900}
    ]);
    euros["products"][0]["unit_price"] = json!(390);
    let r = put_catalog(&server, euros, "\"1\"").await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Her cart still holds the brownies: a new checkout is priced in euros.
    let offered = alice.get("/checkouts/recoverable").await;
    assert_eq!(offered.status, 200, "{}", offered.body);
    let token = offered.body["token"].as_str().unwrap();
    let back = alice
        .send(
            Method::POST,
            "/checkouts/restore",
            Some(json!({"token": token})),
            &[],
        )
        .await;
    assert_eq!(back.status, 201, "{}", back.body);
    let s = &back.body["snapshot"];
    assert_eq!(
        (s["currency"].as_str(), s["prices_include_tax"].as_bool()),
        (Some("EUR"), Some(true))
    );
    assert_eq!(s["lines"][0]["unit_price"], 390);
    let changes = back.body["changes"].as_array().unwrap();
    let price = changes
        .iter()
        .find(|c| c["kind"] == "price_up")
        .expect("the price change is listed");
    assert_eq!(
        price["message"],
        "Fudge brownie now costs €3.90 (was $3.50)."
    );
    let total = changes
        .iter()
        .find(|c| c["kind"] == "total_changed")
        .unwrap();
    assert_eq!(total["before"], old_total);
    assert!(
        total["message"].as_str().unwrap().contains("(was $"),
        "{total}"
    );
    server.stop().await;
}
on_both_backends!(
    a_currency_change_reprices_what_comes_back_and_says_so,
    currency_change
);

async fn live_checkout_keeps_its_catalog(backend: Backend) {
    let server = Server::start(backend).await;
    let put = put_catalog(&server, shipped("bookstore-eur.json"), "\"1\"").await;
    assert_eq!(put.status, 200, "{}", put.body);
    let reader = server.shopper("reader").await;
    reader.add("BK-1", 2).await;
    let started = reader.initiate().await;
    let id = started.body["id"].as_str().unwrap().to_owned();
    assert_eq!(reader.ship_to(&id, "DE").await.status, 200);
    // Meanwhile the shop moves to yen with a voucher and a shipping price of its own.
    let mut yen = shipped("shop-jpy.json");
    yen["products"] = shipped("bookstore-eur.json")["products"].clone();
    yen["products"][0]["tax_class"] = json!("food");
    for p in yen["products"].as_array_mut().unwrap() {
        p["tax_class"] = json!("food");
    }
    yen["tax_rates"] = json!([{"class": "food", "country": "JP", "rate_bps": 800},
        {"class": "standard", "country": "JP", "rate_bps": 1000}]);
    yen["vouchers"] = json!([{"code": "YEN50000", "description": "¥50,000 off",
        "discount": {"kind": "amount_off", "amount": 50000}, "min_subtotal": 0},
        {"code": "READ5", "description": "¥99,999 off",
        "discount": {"kind": "amount_off", "amount": 99999}, "min_subtotal": 0}]);
    yen["shipping_methods"] = json!([{"id": "dhl", "name": "DHL (yen)", "price": 2000}]);
    yen["payment_methods"] =
        json!([{"id": "konbini", "name": "Konbini"}, {"id": "invoice", "name": "Seikyūsho"}]);
    let r = put_catalog(&server, yen, "\"2\"").await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Her checkout is changed from the catalog it was started from, with what today's
    // still offers: euros, DHL Paket as it was, READ5 as it was (€5, not ¥99,999); the
    // yen voucher and konbini unknown to it.
    let voucher = |code: &str| {
        let reader = &reader;
        let path = format!("/checkouts/{id}/vouchers");
        let body = json!({"code": code});
        async move { reader.send(Method::POST, &path, Some(body), &[]).await }
    };
    voucher("YEN50000")
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    reader
        .select(&id, "payment-method", "konbini")
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    let r = reader.select(&id, "shipping-method", "dhl").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["snapshot"]["shipping_method"]["name"], "DHL Paket");
    let r = voucher("READ5").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["snapshot"]["vouchers"][0]["amount"], 500,
        "{}",
        r.body
    );
    let r = reader.select(&id, "payment-method", "invoice").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["snapshot"]["currency"], "EUR");
    let placed = reader
        .place_order(&id, r.body["digest"].as_str().unwrap(), "k")
        .await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    assert_eq!(placed.body["currency"], "EUR");
    // A new checkout is in yen.
    let drinker = server.shopper("drinker").await;
    drinker.add("BK-1", 1).await;
    let fresh = drinker.initiate().await;
    assert_eq!(fresh.body["snapshot"]["currency"], "JPY");
    server.stop().await;
}
on_both_backends!(
    a_live_checkout_is_changed_from_the_catalog_it_was_started_from,
    live_checkout_keeps_its_catalog
);

/// `checkout-server catalog export|import FILE` on the running server's database: the
/// export is the stored document, an edited file comes back as the next version the
/// server serves at once, and a file the core refuses stores nothing and says why.
async fn command_line(backend: Backend) {
    let server = Server::start(backend).await;
    let files = tempfile::tempdir().unwrap();
    let database: Vec<String> = match &server.database_url {
        Some(url) => vec!["--database-url".into(), url.clone()],
        None => vec!["--data-dir".into(), server.dir.path().display().to_string()],
    };
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_checkout-server"))
            .arg("catalog")
            .args(args)
            .args(&database)
            .output()
            .unwrap()
    };
    let exported = files.path().join("catalog.json");
    let out = run(&["export", exported.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("catalog version 1 written"), "{said}");
    let mut document: Value =
        serde_json::from_str(&std::fs::read_to_string(&exported).unwrap()).unwrap();
    assert_eq!(
        document,
        shipped("bakery.json"),
        "the stored bakery, as shipped"
    );
    // To stdout with `-`, the same document.
    let out = run(&["export", "-"]);
    assert!(out.status.success());
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, document);

    document["products"][1]["unit_price"] = json!(555);
    let mut extra = document["products"][0].clone();
    extra["sku"] = json!("BRW-CLI");
    extra["name"] = json!("Imported brownie");
    document["products"].as_array_mut().unwrap().push(extra);
    let edited = files.path().join("edited.json");
    std::fs::write(&edited, serde_json::to_vec_pretty(&document).unwrap()).unwrap();
    let out = run(&["import", edited.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("catalog version 2 stored"), "{said}");
    let served = server.admin(Method::GET, "/admin/catalog", None).await;
    assert_eq!(etag(&served), "\"2\"");
    let sku = document["products"][1]["sku"].as_str().unwrap();
    let shopper = server.shopper("reader").await;
    shopper.add(sku, 1).await;
    shopper.add("BRW-CLI", 1).await;
    let started = shopper.initiate().await;
    assert_eq!(started.status, 201, "{}", started.body);
    let lines = started.body["snapshot"]["lines"].as_array().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l["sku"] == sku && l["unit_price"] == 555),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l["sku"] == "BRW-CLI"), "{lines:?}");

    // A document the core refuses: nothing stored, every problem named.
    document["currency"] = json!("XXY");
    document["products"][0]["unit_price"] = json!(-1);
    std::fs::write(&edited, serde_json::to_vec(&document).unwrap()).unwrap();
    let out = run(&["import", edited.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("/currency") && said.contains("/products/0/unit_price"),
        "{said}"
    );
    let out = run(&[
        "import",
        files.path().join("missing.json").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let served = server.admin(Method::GET, "/admin/catalog", None).await;
    assert_eq!(etag(&served), "\"2\"", "nothing stored on refusal");
    server.stop().await;
}
on_both_backends!(
    the_catalog_is_exported_and_imported_from_the_command_line,
    command_line
);

/// The previous release's catalog changes (`catalog_overrides`: prices, maxima,
/// products off sale, vouchers, promotions and shipping methods withdrawn, shipping
/// prices) are folded into the first stored catalog when this release first starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_previous_releases_catalog_changes_become_the_first_stored_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let migrated = std::process::Command::new(env!("CARGO_BIN_EXE_checkout-server"))
        .args(["migrate", "--data-dir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(migrated.status.success());
    let db = rusqlite::Connection::open(dir.path().join("checkout.db")).unwrap();
    for (kind, id, price, max, active) in [
        ("product", "BRW-FUDGE", Some(999), Some(3), 1),
        ("product", "BOX-GIFT", None, None, 0),
        ("voucher", "SWEET5", None, None, 0),
        ("promotion", "big-order", None, None, 0),
        ("shipping", "express", None, None, 0),
        ("shipping", "standard", Some(777), None, 1),
    ] {
        db.execute(
            "INSERT INTO catalog_overrides (kind, id, price, max_quantity, active, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 0)",
            rusqlite::params![kind, id, price, max, active],
        )
        .unwrap();
    }
    drop(db);
    let server = common::Process::spawn(dir.path(), &[]);
    let catalog = Server::client()
        .get(format!("{}/api/v1/admin/catalog", server.base))
        .bearer_auth(common::ADMIN)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let product = |sku: &str| {
        catalog["products"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["sku"] == sku)
            .unwrap()
            .clone()
    };
    assert_eq!(
        (
            product("BRW-FUDGE")["unit_price"].clone(),
            product("BRW-FUDGE")["max_quantity"].clone()
        ),
        (json!(999), json!(3))
    );
    assert_eq!(product("BOX-GIFT")["active"], false);
    assert_eq!(product("BRW-WALNUT")["active"], true, "untouched");
    let ids = |list: &str, key: &str| -> Vec<String> {
        catalog[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x[key].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids("vouchers", "code"), ["WELCOME10"]);
    assert_eq!(ids("promotions", "id"), ["fudge-friday"]);
    assert_eq!(ids("shipping_methods", "id"), ["pickup", "standard"]);
    let standard = catalog["shipping_methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "standard")
        .unwrap();
    assert_eq!(standard["price"], 777);
    server.kill();
}
