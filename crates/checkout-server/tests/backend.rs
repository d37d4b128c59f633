//! Checkouts from the shop's own priced cart (CONTRACT §24) over HTTP, on both
//! databases: a shop's backend creates a checkout with its key, the customer — signed in
//! with a token PyJWT made (tests/identity/tokens.py) — orders it at the shop's prices,
//! and every hostile case of the issue is refused with nothing kept.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{count, customer, texts, Backend, Idp, Resp, Server, Shopper, ADMIN};
use reqwest::Method;
use serde_json::{json, Value};

const KEY: &str = "bk_new_0123456789abcdef0123456789abcdef";
const OLD_KEY: &str = "bk_old_0123456789abcdef0123456789abcdef";
const HS_SECRET: &str = "a-shared-secret-of-at-least-32-characters";
const AUDIENCE: &str = "checkout-guard";
const NEVER_ANSWERS: &str = "4000000000000119";

/// A server with the shop's sign-in (HS256) and two backend keys (a rotation).
async fn server(backend: Backend) -> Server {
    Server::start_with(backend, |c| {
        c.jwt_hs256_secret = Some(HS_SECRET.into());
        c.jwt_audience = Some(AUDIENCE.into());
        c.backend_api_keys = vec![KEY.into(), OLD_KEY.into()];
        c.public_url = Some("https://shop.example/".into());
    })
    .await
}

/// The customer `sub`, signed in by a token of the shop's provider valid for an hour
/// from `advanced` seconds ahead of now.
fn signed_in(server: &Server, idp: &Idp, sub: &str, advanced: i64) -> Shopper {
    let at = chrono::Utc::now().timestamp() + advanced;
    let claims = json!({"sub": sub, "aud": AUDIENCE, "iat": at, "exp": at + 3600,
                        "email": format!("{sub}@example.com")});
    let token = idp.one(json!({"key": format!("hs:{HS_SECRET}"), "kid": null, "claims": claims}));
    customer(server, sub, &token)
}

/// The contract's example cart for `customer`.
fn cart(customer: &str) -> Value {
    json!({
        "customer": {"id": customer, "email": "reader@example.org"},
        "currency": "EUR", "prices_include_tax": true,
        "lines": [{"sku": "BK-1", "name": "Der Zauberberg", "quantity": 2, "unit_price": 1999, "tax_rate_bps": 700}],
        "shipping_methods": [{"id": "dhl", "name": "DHL Paket", "price": 499, "tax_rate_bps": 1900}],
        "payment_methods": [{"id": "card", "name": "Card"}, {"id": "invoice", "name": "Invoice"}],
        "metadata": {"cart_id": "c-981"}
    })
}

/// A backend request with `key` (none: no Authorization) and an `Idempotency-Key`.
async fn call(
    base: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    key: Option<&str>,
    idem: Option<&str>,
) -> Resp {
    let mut request = Server::client().request(method, format!("{base}/api/v1{path}"));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(idem) = idem {
        request = request.header("idempotency-key", idem);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    common::read(request.send().await.unwrap()).await
}

async fn create(server: &Server, body: Value, idem: &str) -> Resp {
    create_at(&server.base, body, idem).await
}

async fn create_at(base: &str, body: Value, idem: &str) -> Resp {
    call(
        base,
        Method::POST,
        "/backend/checkouts",
        Some(body),
        Some(KEY),
        Some(idem),
    )
    .await
}

async fn sessions(server: &Server) -> i64 {
    count(
        server.db(),
        "SELECT COUNT(*) AS n FROM checkout_sessions",
        &[],
    )
    .await
}

async fn a_backend_checkout_is_ordered_at_the_shops_prices(backend: Backend) {
    let idp = Idp::new();
    let server = server(backend).await;
    let made = create(&server, cart("cust-42"), "cart-c-981").await;
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.str("id");
    assert_eq!(made.str("status"), "ACTIVE");
    assert_eq!(
        made.body["url"],
        format!("https://shop.example/checkout/?id={id}")
    );
    assert_eq!(made.body["metadata"], json!({"cart_id": "c-981"}));
    assert_eq!(
        made.body["customer"],
        json!({"id": "cust-42", "email": "reader@example.org"})
    );
    assert_eq!(
        made.headers["location"].to_str().unwrap(),
        format!("/api/v1/backend/checkouts/{id}")
    );
    assert_eq!(made.body["offer"]["shipping_methods"][0]["id"], "dhl");
    assert!(made.body["recovery_token"].is_string());
    // 2 × 19.99 with 7 % inside: round(3998 × 7/107) = round(261.55) = 262.
    let totals = &made.body["snapshot"]["totals"];
    assert_eq!(
        (totals["grand_total"].as_i64(), totals["tax"].as_i64()),
        (Some(3998), Some(262))
    );

    // The customer opens it signed in with the shop's token and orders it.
    let reader = signed_in(&server, &idp, "cust-42", 0);
    let seen = reader.get(&format!("/checkouts/{id}")).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(seen.body["metadata"]["cart_id"], "c-981");
    // The catalog's voucher is not the shop's: such a checkout takes none.
    let voucher = reader
        .send(
            Method::POST,
            &format!("/checkouts/{id}/vouchers"),
            Some(json!({"code": "SWEET5"})),
            &[],
        )
        .await;
    voucher.assert_problem("VALIDATION_FAILED", 422);
    // A catalog method is not offered here; the shop's is.
    reader.ship_to(&id, "DE").await;
    reader
        .select(&id, "shipping-method", "standard")
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    assert_eq!(
        reader.select(&id, "shipping-method", "dhl").await.status,
        200
    );
    let chosen = reader.select(&id, "payment-method", "invoice").await;
    assert_eq!(chosen.status, 200, "{}", chosen.body);
    let placed = reader
        .place_order(&id, chosen.body["digest"].as_str().unwrap(), "order-1")
        .await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    // DHL 4.99 with 19 % inside: round(79.67) = 80.
    assert_eq!(placed.body["grand_total"], 3998 + 499);
    assert_eq!(placed.body["snapshot"]["totals"]["tax"], 262 + 80);
    assert_eq!(placed.body["metadata"], json!({"cart_id": "c-981"}));
    assert_eq!(placed.body["customer"]["external_id"], "cust-42");

    // The shop's backend reads it back, with the order, with either key of the rotation.
    let read = call(
        &server.base,
        Method::GET,
        &format!("/backend/checkouts/{id}"),
        None,
        Some(OLD_KEY),
        None,
    )
    .await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.str("status"), "COMPLETED");
    assert_eq!(read.body["order"]["id"], placed.body["id"]);
    assert_eq!(read.body["order"]["metadata"]["cart_id"], "c-981");
    // The order event carries the metadata.
    let payloads = texts(
        server.db(),
        "SELECT payload AS s FROM outbox_events WHERE checkout_id = $1",
        &[&id],
    )
    .await;
    let event: Value = serde_json::from_str(&payloads[0]).unwrap();
    assert_eq!(event["data"]["order"]["metadata"]["cart_id"], "c-981");
    // A checkout of our own cart is not the backend's to read.
    let shopper = server.shopper("own-cart").await;
    let own = shopper.checkout().await;
    let path = format!("/backend/checkouts/{}", own["id"].as_str().unwrap());
    let not_ours = call(&server.base, Method::GET, &path, None, Some(KEY), None).await;
    not_ours.assert_problem("CHECKOUT_NOT_FOUND", 404);
    assert!(
        !not_ours.str("detail").contains("cart"),
        "{}",
        not_ours.body
    );
    server.stop().await;
}
on_both_backends!(
    ordered_at_the_shops_prices,
    a_backend_checkout_is_ordered_at_the_shops_prices
);

async fn keys_are_checked_everywhere(backend: Backend) {
    let server = server(backend).await;
    let body = || Some(cart("cust-1"));
    let post = |key: Option<&'static str>| {
        call(
            &server.base,
            Method::POST,
            "/backend/checkouts",
            body(),
            key,
            Some("k-1"),
        )
    };
    for key in [
        None,
        Some("bk_wrong_0123456789abcdef0123456789abcdef"),
        Some(ADMIN),
        Some(""),
    ] {
        post(key).await.assert_problem("UNAUTHENTICATED", 401);
    }
    // The backend key is nobody on shopper and admin routes.
    let as_shopper = call(&server.base, Method::GET, "/cart", None, Some(KEY), None).await;
    as_shopper.assert_problem("UNAUTHENTICATED", 401);
    let as_admin = call(
        &server.base,
        Method::GET,
        "/admin/catalog",
        None,
        Some(KEY),
        None,
    )
    .await;
    assert!(matches!(as_admin.status, 401 | 403), "{}", as_admin.body);
    assert_eq!(sessions(&server).await, 0);
    // The old key retired: refused from the restart on.
    let server = server
        .restart(|c| c.backend_api_keys = vec![KEY.into()])
        .await;
    call(
        &server.base,
        Method::POST,
        "/backend/checkouts",
        body(),
        Some(OLD_KEY),
        Some("k-2"),
    )
    .await
    .assert_problem("UNAUTHENTICATED", 401);
    assert_eq!(
        call(
            &server.base,
            Method::POST,
            "/backend/checkouts",
            body(),
            Some(KEY),
            Some("k-3")
        )
        .await
        .status,
        201
    );
    server.stop().await;
    // No key configured: every backend request is refused.
    let bare = Server::start(backend).await;
    call(
        &bare.base,
        Method::POST,
        "/backend/checkouts",
        Some(cart("x")),
        Some(KEY),
        Some("k"),
    )
    .await
    .assert_problem("UNAUTHENTICATED", 401);
    bare.stop().await;
}
on_both_backends!(keys, keys_are_checked_everywhere);

async fn hostile_bodies_are_refused_and_keep_nothing(backend: Backend) {
    let server = server(backend).await;
    let line = |i: usize| json!({"sku": format!("S-{i}"), "name": "n", "quantity": 1, "unit_price": 1, "tax_rate_bps": 0});
    let mut many = cart("cust-1");
    many["lines"] = Value::Array((0..10_000).map(line).collect());
    let refused = create(&server, many, "many").await;
    refused.assert_problem("VALIDATION_FAILED", 422);
    assert_eq!(refused.body["errors"][0]["pointer"], "/lines");

    // 5 MB announced: refused before it is read (the answer comes while the client
    // would still be sending, so the test sends the head alone).
    let headers = [
        &*format!("Authorization: Bearer {KEY}"),
        "Idempotency-Key: huge",
    ];
    server
        .assert_refused_unread("POST", "/backend/checkouts", &headers, 5 * 1024 * 1024)
        .await;

    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "/lines/0/unit_price",
            json!("/lines/0/unit_price"),
            json!(-1),
        ),
        (
            "/lines/0/unit_price",
            json!("/lines/0/unit_price"),
            json!(9_007_199_254_740_992_i64),
        ),
        ("/lines/0/quantity", json!("/lines/0/quantity"), json!(0)),
        ("/currency", json!("/currency"), json!("EUX")),
        (
            "/metadata/note",
            json!("/metadata"),
            json!({"note": "ring\u{7}bell"}),
        ),
        (
            "/metadata",
            json!("/metadata"),
            Value::Object((0..100).map(|i| (format!("k{i}"), json!("v"))).collect()),
        ),
    ];
    for (expected, at, value) in cases {
        let mut body = cart("cust-1");
        *body.pointer_mut(at.as_str().unwrap()).unwrap() = value;
        let r = create(&server, body, "bad").await;
        r.assert_problem("VALIDATION_FAILED", 422);
        let pointers = r.pointers();
        assert!(pointers.contains(&expected), "{expected} in {pointers:?}");
    }
    // No key, a malformed body, an unknown field.
    call(
        &server.base,
        Method::POST,
        "/backend/checkouts",
        Some(cart("cust-1")),
        Some(KEY),
        None,
    )
    .await
    .assert_problem("IDEMPOTENCY_KEY_REQUIRED", 400);
    let raw = Server::client()
        .post(format!("{}/api/v1/backend/checkouts", server.base))
        .bearer_auth(KEY)
        .header("idempotency-key", "raw")
        .header("content-type", "application/json")
        .body("{\"customer\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    // A key named twice is refused, not read as its last value.
    let twice = Server::client()
        .post(format!("{}/api/v1/backend/checkouts", server.base))
        .bearer_auth(KEY)
        .header("idempotency-key", "twice")
        .header("content-type", "application/json")
        .body(cart("cust-1").to_string().replace(
            "\"unit_price\":1999",
            "\"unit_price\":1999,\"unit_price\":1",
        ))
        .send()
        .await
        .unwrap();
    let twice = common::read(twice).await;
    twice.assert_problem("MALFORMED_REQUEST", 400);
    assert!(twice.str("detail").contains("twice"), "{}", twice.body);
    let mut extra = cart("cust-1");
    extra["lines"][0]["discount"] = json!(5);
    create(&server, extra, "extra")
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    // Nothing of a refused request is kept: no checkout, no key (the same key works).
    assert_eq!(sessions(&server).await, 0);
    assert_eq!(create(&server, cart("cust-1"), "bad").await.status, 201);
    server.stop().await;
}
on_both_backends!(hostile_bodies, hostile_bodies_are_refused_and_keep_nothing);

async fn keys_replay_and_refuse_another_body(backend: Backend) {
    let server = server(backend).await;
    let first = create(&server, cart("cust-7"), "same-key").await;
    assert_eq!(first.status, 201, "{}", first.body);
    let again = create(&server, cart("cust-7"), "same-key").await;
    assert_eq!(again.status, 201);
    assert!(again.replayed());
    assert_eq!(again.body["id"], first.body["id"]);
    let mut other = cart("cust-7");
    other["lines"][0]["quantity"] = json!(3);
    create(&server, other, "same-key")
        .await
        .assert_problem("IDEMPOTENCY_KEY_REUSED", 422);
    // The key is the backend's, whichever customer it names.
    create(&server, cart("cust-8"), "same-key")
        .await
        .assert_problem("IDEMPOTENCY_KEY_REUSED", 422);
    assert_eq!(sessions(&server).await, 1);
    server.stop().await;
}
on_both_backends!(idempotency, keys_replay_and_refuse_another_body);

/// A retry is answered from its key even when the customer's throttle is spent.
async fn a_retry_is_answered_past_the_throttle(backend: Backend) {
    let server = Server::start_with(backend, |c| {
        c.backend_api_keys = vec![KEY.into()];
        c.initiations_per_shopper_per_minute = 1;
    })
    .await;
    server.shopper("thr").await;
    let first = create(&server, cart("thr"), "thr-1").await;
    assert_eq!(first.status, 201, "{}", first.body);
    let r = create(&server, cart("thr"), "thr-2").await;
    r.assert_problem("RATE_LIMITED", 429);
    let again = create(&server, cart("thr"), "thr-1").await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert!(again.replayed());
    assert_eq!(again.body["id"], first.body["id"]);
    server.stop().await;
}
on_both_backends!(throttled_retry, a_retry_is_answered_past_the_throttle);

/// Many backend calls at once, several for each customer: each customer keeps one live
/// checkout (the others superseded) and the numbers run without a gap.
async fn calls_at_once_leave_one_live_checkout_per_customer(backend: Backend) {
    let server = server(backend).await;
    let calls = (0..24).map(|i| {
        let customer = format!("cust-{}", i % 4);
        let server = &server;
        async move { create(server, cart(&customer), &format!("at-once-{i}")).await }
    });
    let answers = futures::future::join_all(calls).await;
    for r in &answers {
        assert_eq!(r.status, 201, "{}", r.body);
    }
    for customer in 0..4 {
        let live = count(
            server.db(),
            "SELECT COUNT(*) AS n FROM checkout_sessions s JOIN users u ON u.id = s.user_id \
             WHERE u.external_id = $1 AND s.status = 'ACTIVE'",
            &[&format!("cust-{customer}")],
        )
        .await;
        assert_eq!(live, 1, "cust-{customer}");
    }
    let mut numbers: Vec<i64> = answers
        .iter()
        .map(|r| common::number_part(r.body["number"].as_str().unwrap()))
        .collect();
    numbers.sort_unstable();
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{numbers:?}");
    server.stop().await;
}
on_both_backends!(at_once, calls_at_once_leave_one_live_checkout_per_customer);

async fn another_customer_and_a_payment_in_flight(backend: Backend) {
    let idp = Idp::new();
    let server = server(backend).await;
    let made = create(&server, cart("cust-a"), "a-1").await;
    let id = made.str("id");
    // Another customer opening the url finds nothing.
    let other = signed_in(&server, &idp, "cust-b", 0);
    other
        .get(&format!("/checkouts/{id}"))
        .await
        .assert_problem("CHECKOUT_NOT_FOUND", 404);
    // The customer pays; the provider never answers: a new cart from the shop waits.
    let owner = signed_in(&server, &idp, "cust-a", 0);
    owner.ship_to(&id, "DE").await;
    owner.select(&id, "shipping-method", "dhl").await;
    let chosen = owner.select(&id, "payment-method", "card").await;
    owner
        .pay(
            &id,
            chosen.body["digest"].as_str().unwrap(),
            NEVER_ANSWERS,
            "pay-1",
        )
        .await
        .assert_problem("PAYMENT_IN_PROGRESS", 409);
    create(&server, cart("cust-a"), "a-2")
        .await
        .assert_problem("PAYMENT_IN_PROGRESS", 409);
    assert_eq!(sessions(&server).await, 1);
    // Another customer is not held up by it.
    assert_eq!(create(&server, cart("cust-b"), "b-1").await.status, 201);
    server.stop().await;
}
on_both_backends!(
    others_and_payments,
    another_customer_and_a_payment_in_flight
);

/// A backend checkout that expired comes back by its recovery link as the shop priced
/// it (it has no catalog to re-price from), with its metadata and methods, and leaves
/// our cart alone.
async fn an_expired_backend_checkout_comes_back_as_it_was(backend: Backend) {
    let idp = Idp::new();
    let server = server(backend).await;
    let made = create(&server, cart("cust-r"), "r-1").await;
    let id = made.str("id");
    let reader = signed_in(&server, &idp, "cust-r", 0);
    reader.ship_to(&id, "DE").await;
    let before = reader.select(&id, "shipping-method", "dhl").await.body;
    server.advance(3 * 3600).await;
    let reader = signed_in(&server, &idp, "cust-r", 3 * 3600);
    let offer = reader.get("/checkouts/recoverable").await;
    assert_eq!(offer.status, 200, "{}", offer.body);
    let restored = reader
        .send(
            Method::POST,
            "/checkouts/restore",
            Some(json!({"token": offer.str("token")})),
            &[],
        )
        .await;
    assert_eq!(restored.status, 201, "{}", restored.body);
    assert_eq!(
        restored.body["snapshot"]["totals"],
        before["snapshot"]["totals"]
    );
    assert_eq!(
        restored.body["snapshot"]["lines"],
        before["snapshot"]["lines"]
    );
    assert!(restored.body.get("changes").is_none(), "{}", restored.body);
    assert_eq!(restored.body["metadata"]["cart_id"], "c-981");
    assert_eq!(restored.body["offer"], made.body["offer"]);
    assert_eq!(reader.get("/cart").await.body["items"], json!([]));
    // The shop's backend finds where its checkout went.
    let old = call(
        &server.base,
        Method::GET,
        &format!("/backend/checkouts/{id}"),
        None,
        Some(KEY),
        None,
    )
    .await;
    assert_eq!(old.body["restored_to"], restored.body["id"]);
    server.stop().await;
}
on_both_backends!(restore, an_expired_backend_checkout_comes_back_as_it_was);

/// Without the shop's sign-in, the customer id names a built-in account.
async fn built_in_accounts_by_username(backend: Backend) {
    let server = Server::start_with(backend, |c| c.backend_api_keys = vec![KEY.into()]).await;
    let shopper = server.shopper("reader-1").await;
    let made = create(&server, cart("reader-1"), "u-1").await;
    assert_eq!(made.status, 201, "{}", made.body);
    let seen = shopper.get(&format!("/checkouts/{}", made.str("id"))).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(
        made.body["url"],
        format!("/checkout/?id={}", made.str("id"))
    );
    let unknown = create(&server, cart("nobody"), "u-2").await;
    unknown.assert_problem("VALIDATION_FAILED", 422);
    assert_eq!(unknown.body["errors"][0]["pointer"], "/customer/id");
    server.stop().await;
}
on_both_backends!(built_in_accounts, built_in_accounts_by_username);

/// Three server processes on one PostgreSQL database: the shop's backend calls spread
/// over them, the same key at once on all of them, still one live checkout per customer,
/// one checkout per key and numbers without a gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_instances_agree() {
    let Some(cluster) = common::Cluster::start(3, &["--backend-api-key", KEY]).await else {
        return;
    };
    let bases = cluster.bases();
    let bases: Vec<&str> = bases.iter().map(String::as_str).collect();
    let client = Server::client();
    for name in ["ann", "ben", "cas"] {
        Shopper::sign_up(&client, bases[0], name).await;
    }
    let calls = (0..30).map(|i| {
        let customer = ["ann", "ben", "cas"][i % 3];
        let base = bases[i % 3];
        async move { create_at(base, cart(customer), &format!("spread-{i}")).await }
    });
    let answers = futures::future::join_all(calls).await;
    let same = futures::future::join_all(
        (0..9).map(|i| create_at(bases[i % 3], cart("ann"), "one-key-everywhere")),
    )
    .await;
    // Every call for one key answers the one checkout (replays after the first).
    let mut ids: Vec<String> = same
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.body);
            r.str("id")
        })
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 1, "one checkout for one key: {ids:?}");
    assert_eq!(same.iter().filter(|r| !r.replayed()).count(), 1);
    let made: Vec<&Resp> = answers.iter().chain(same.iter().take(1)).collect();
    let mut numbers: Vec<i64> = made
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.body);
            common::number_part(r.body["number"].as_str().unwrap())
        })
        .collect();
    numbers.sort_unstable();
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{numbers:?}");
    // Read back on another instance: one ACTIVE checkout per customer.
    let read = futures::future::join_all(made.iter().map(|r| {
        let path = format!("/backend/checkouts/{}", r.str("id"));
        let base = bases[2];
        async move { call(base, Method::GET, &path, None, Some(KEY), None).await }
    }))
    .await;
    let mut live = std::collections::BTreeMap::new();
    for r in &read {
        assert_eq!(r.status, 200, "{}", r.body);
        if r.body["status"] == "ACTIVE" {
            *live.entry(r.str("user_id")).or_insert(0) += 1;
        }
    }
    assert_eq!(live.len(), 3, "{live:?}");
    assert!(live.values().all(|n| *n == 1), "{live:?}");
    cluster.stop().await;
}

/// The shop ends a checkout it made (its cart changed): cancelled at once, no recovery
/// link; an old link of the customer's earlier checkout gives way to the shop's newer
/// one; a checkout being paid cannot be cancelled.
async fn the_shop_cancels_and_newer_carts_win(backend: Backend) {
    let idp = Idp::new();
    let server = server(backend).await;
    let first = create(&server, cart("cust-c"), "c-1").await;
    let first_id = first.str("id");
    let reader = signed_in(&server, &idp, "cust-c", 0);
    reader.ship_to(&first_id, "DE").await;
    // It expires; its link is offered; then the shop makes a newer checkout.
    server.advance(3 * 3600).await;
    let reader = signed_in(&server, &idp, "cust-c", 3 * 3600);
    let link = reader.get("/checkouts/recoverable").await;
    assert_eq!(link.status, 200, "{}", link.body);
    let mut newer = cart("cust-c");
    newer["lines"][0]["unit_price"] = json!(2500);
    let second = create(&server, newer, "c-2").await;
    assert_eq!(second.status, 201, "{}", second.body);
    reader
        .send(
            Method::POST,
            "/checkouts/restore",
            Some(json!({"token": link.str("token")})),
            &[],
        )
        .await
        .assert_problem("CHECKOUT_SUPERSEDED", 409);
    let second_id = second.str("id");
    let still = call(
        &server.base,
        Method::GET,
        &format!("/backend/checkouts/{second_id}"),
        None,
        Some(KEY),
        None,
    )
    .await;
    assert_eq!(still.str("status"), "ACTIVE");

    // The shop cancels the newer one: ended, and nothing to restore.
    let path = format!("/backend/checkouts/{second_id}/cancel");
    let cancelled = call(&server.base, Method::POST, &path, None, Some(KEY), None).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(
        (cancelled.str("status"), cancelled.str("reason")),
        ("INACTIVE".into(), "CANCELLED".into())
    );
    let seen = reader.get(&format!("/checkouts/{second_id}")).await;
    assert_eq!(seen.body["verdict"]["allowed"], false, "{}", seen.body);
    reader
        .get("/checkouts/recoverable")
        .await
        .assert_problem("CHECKOUT_NOT_FOUND", 404);
    // Cancelling again answers how it ended; another key, a catalog checkout, nobody's.
    call(&server.base, Method::POST, &path, None, Some(KEY), None)
        .await
        .assert_problem("CHECKOUT_INACTIVE", 409);
    call(&server.base, Method::POST, &path, None, Some(ADMIN), None)
        .await
        .assert_problem("UNAUTHENTICATED", 401);
    call(
        &server.base,
        Method::POST,
        "/backend/checkouts/nope/cancel",
        None,
        Some(KEY),
        None,
    )
    .await
    .assert_problem("CHECKOUT_NOT_FOUND", 404);
    let own = server.shopper("own-cart-c").await.checkout().await;
    let own_path = format!("/backend/checkouts/{}/cancel", own["id"].as_str().unwrap());
    call(&server.base, Method::POST, &own_path, None, Some(KEY), None)
        .await
        .assert_problem("CHECKOUT_NOT_FOUND", 404);

    // One being paid is not cancelled.
    let third = create(&server, cart("cust-c"), "c-3").await;
    let third_id = third.str("id");
    reader.ship_to(&third_id, "DE").await;
    reader.select(&third_id, "shipping-method", "dhl").await;
    let chosen = reader.select(&third_id, "payment-method", "card").await;
    reader
        .pay(
            &third_id,
            chosen.body["digest"].as_str().unwrap(),
            NEVER_ANSWERS,
            "pay-c",
        )
        .await
        .assert_problem("PAYMENT_IN_PROGRESS", 409);
    let path = format!("/backend/checkouts/{third_id}/cancel");
    call(&server.base, Method::POST, &path, None, Some(KEY), None)
        .await
        .assert_problem("PAYMENT_IN_PROGRESS", 409);
    server.stop().await;
}
on_both_backends!(cancel_and_newer_carts, the_shop_cancels_and_newer_carts_win);
