//! Behaviour of the HTTP API, over real HTTP against the real server with a real
//! database, on SQLite and (when configured) PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{number_part, Backend, Server, Shopper};
use reqwest::Method;
use serde_json::{json, Value};

async fn session_status(shopper: &Shopper, id: &str) -> (String, Option<String>) {
    let s = shopper.session(id).await;
    (
        s["status"].as_str().unwrap().to_owned(),
        s["reason"].as_str().map(str::to_owned),
    )
}

async fn cart_skus(shopper: &Shopper) -> Vec<(String, u64)> {
    let cart = shopper.get("/cart").await;
    cart.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["sku"].as_str().unwrap().to_owned(),
                i["quantity"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn health_and_static(backend: Backend) {
    let server = Server::start(backend).await;
    let client = Server::client();
    let health = common::read(
        client
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["status"], "ok");
    assert!(health.headers.contains_key("x-request-id"));
    // The storefront is served, and unknown pages fall back to it (client-side routes).
    for page in ["/", "/cart", "/checkout"] {
        let r = client
            .get(format!("{}{page}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{page}");
    }
    let missing = common::read(
        client
            .get(format!("{}/api/v1/no-such-route", server.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.code(), Some("NOT_FOUND"));
    let anonymous = client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401, "/metrics is for operators only");
    let metrics = client
        .get(format!("{}/metrics", server.base))
        .bearer_auth("test-admin-token")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("http_request_duration_seconds"),
        "{metrics}"
    );
    server.stop().await;
}
on_both_backends!(health_static_and_metrics, health_and_static);

#[tokio::test]
async fn openapi_document_is_served_and_matches_the_committed_copy() {
    let server = Server::start(Backend::Sqlite).await;
    let served = common::read(
        Server::client()
            .get(format!("{}/api/v1/openapi.json", server.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(served.status, 200);
    for path in [
        "/checkouts",
        "/checkouts/{id}/place-order",
        "/checkouts/{id}/pay",
        "/checkouts/recover",
        "/admin/settings",
        "/cart/items/{sku}",
    ] {
        assert!(
            served.body["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    let generated = serde_json::to_value(checkout_server::openapi()).unwrap();
    let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(committed_path).unwrap_or_default())
            .unwrap_or(Value::Null);
    assert!(
        generated == committed,
        "docs/openapi.json is stale: run `cargo xtask openapi` and commit it"
    );
    server.stop().await;
}

async fn sign_in_and_out(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    assert_eq!(alice.get("/auth/me").await.body["username"], "alice");

    let anonymous = Shopper {
        client: Server::client(),
        base: server.base.clone(),
        name: "anon".into(),
    };
    anonymous
        .get("/cart")
        .await
        .assert_problem("UNAUTHENTICATED", 401);
    let again = anonymous
        .send(
            Method::POST,
            "/auth/signup",
            Some(json!({"username": "alice", "password": "another pass"})),
            &[],
        )
        .await;
    again.assert_problem("VALIDATION_FAILED", 422);
    let short = anonymous
        .send(
            Method::POST,
            "/auth/signup",
            Some(json!({"username": "bob", "password": "short"})),
            &[],
        )
        .await;
    short.assert_problem("VALIDATION_FAILED", 422);
    let wrong = anonymous
        .send(
            Method::POST,
            "/auth/login",
            Some(json!({"username": "alice", "password": "wrong password"})),
            &[],
        )
        .await;
    wrong.assert_problem("UNAUTHENTICATED", 401);
    let login = anonymous
        .send(
            Method::POST,
            "/auth/login",
            Some(json!({"username": "alice", "password": "correct horse"})),
            &[],
        )
        .await;
    assert_eq!(login.status, 200);
    let cookie = login
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    // Signing out ends the live checkout as INACTIVE/SIGNED_OUT; the cart is kept.
    let session = alice.checkout().await;
    let id = session["id"].as_str().unwrap();
    let out = alice.send(Method::POST, "/auth/logout", None, &[]).await;
    assert_eq!(out.status, 204);
    alice
        .get("/cart")
        .await
        .assert_problem("UNAUTHENTICATED", 401);
    assert_eq!(
        session_status(&anonymous, id).await,
        ("INACTIVE".into(), Some("SIGNED_OUT".into()))
    );
    let blocked = anonymous
        .place_order(id, session["digest"].as_str().unwrap(), "k")
        .await;
    blocked.assert_problem("CHECKOUT_INACTIVE", 409);
    assert_eq!(blocked.body["redirect"], "/cart");
    assert_eq!(
        cart_skus(&anonymous).await,
        vec![("BRW-FUDGE".to_owned(), 2)]
    );
    server.stop().await;
}
on_both_backends!(sign_in_and_out_ends_the_checkout, sign_in_and_out);

async fn initiation_and_cart_isolation(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    alice.initiate().await.assert_problem("CART_EMPTY", 422);

    alice.add("BRW-FUDGE", 3).await;
    alice.add("CAKE-CHOC", 1).await;
    let first = alice.initiate().await;
    assert_eq!(first.status, 201);
    let number = first.str("number");
    let today = chrono::Utc::now().format("%d%m%Y").to_string();
    assert_eq!(number, format!("CO-{today}-000001"));
    assert_eq!(first.str("status"), "ACTIVE");
    assert!(first.body["recovery_token"].is_string());
    let started = chrono::DateTime::parse_from_rfc3339(&first.str("started_at")).unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(&first.str("expires_at")).unwrap();
    assert_eq!(expires - started, chrono::Duration::minutes(10));
    // 3 × 350 − 10 % + 2999, taxed per line (see the core's worked rules).
    let totals = &first.body["snapshot"]["totals"];
    assert_eq!(totals["subtotal"], 1050 + 2999);
    assert_eq!(
        first.str("digest"),
        first.body["snapshot"]["digest"].as_str().unwrap()
    );

    // Cart changes never touch the live snapshot.
    let id = first.str("id");
    alice.add("CKE-OAT", 4).await;
    alice
        .send(
            Method::PATCH,
            "/cart/items/BRW-FUDGE",
            Some(json!({"quantity": 9})),
            &[],
        )
        .await;
    let still = alice.session(&id).await;
    assert_eq!(still["digest"], first.body["digest"]);
    assert_eq!(still["snapshot"]["lines"].as_array().unwrap().len(), 2);
    // …they apply to the next checkout.
    let second = alice.initiate().await;
    assert_eq!(
        second.body["snapshot"]["lines"].as_array().unwrap().len(),
        3
    );
    assert_eq!(number_part(&second.str("number")), 2);
    server.stop().await;
}
on_both_backends!(
    initiation_snapshots_the_cart_and_keeps_it_independent,
    initiation_and_cart_isolation
);

async fn supersession(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let old = alice.bare_checkout().await;
    let new = alice.initiate().await.body;
    let old_id = old["id"].as_str().unwrap();
    assert_eq!(
        session_status(&alice, old_id).await,
        ("INACTIVE".into(), Some("SUPERSEDED".into()))
    );
    let verdict = &alice.session(old_id).await["verdict"];
    assert_eq!(verdict["state"], "INACTIVE");
    assert_eq!(verdict["code"], "CHECKOUT_SUPERSEDED");
    let blocked = alice
        .place_order(old_id, old["digest"].as_str().unwrap(), "old-tab")
        .await;
    blocked.assert_problem("CHECKOUT_SUPERSEDED", 409);
    assert_eq!(blocked.body["redirect"], "/cart");
    for action in ["pay", "submit-for-approval"] {
        alice
            .action(
                old_id,
                action,
                old["digest"].as_str().unwrap(),
                &format!("old-{action}"),
            )
            .await
            .assert_problem("CHECKOUT_SUPERSEDED", 409);
    }
    alice
        .select(old_id, "shipping-method", "pickup")
        .await
        .assert_problem("CHECKOUT_SUPERSEDED", 409);
    assert_eq!(alice.get("/checkouts/active").await.body["id"], new["id"]);
    assert!(!cart_skus(&alice).await.is_empty());
    // Another shopper cannot even see it.
    let mallory = server.shopper("mallory").await;
    mallory
        .get(&format!("/checkouts/{}", new["id"].as_str().unwrap()))
        .await
        .assert_problem("CHECKOUT_NOT_FOUND", 404);
    mallory
        .place_order(
            new["id"].as_str().unwrap(),
            new["digest"].as_str().unwrap(),
            "m",
        )
        .await
        .assert_problem("CHECKOUT_NOT_FOUND", 404);
    mallory
        .get("/checkouts/active")
        .await
        .assert_problem("CHECKOUT_NOT_FOUND", 404);
    // The events record who did what.
    assert_eq!(server.transitions(old_id).await, ["Initiate", "Supersede"]);
    let events = server.events(old_id).await;
    let supersede = &events[1];
    assert_eq!(supersede["from_status"], "ACTIVE");
    assert_eq!(supersede["to_reason"], "SUPERSEDED");
    assert_eq!(
        supersede["actor_user"],
        alice.get("/auth/me").await.body["id"]
    );
    assert!(supersede["request_id"]
        .as_str()
        .is_some_and(|r| r.len() > 8));
    server.stop().await;
}
on_both_backends!(a_newer_checkout_supersedes_the_older, supersession);

async fn expiry(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let s = alice.checkout().await;
    let id = s["id"].as_str().unwrap();
    let digest = s["digest"].as_str().unwrap();
    server.advance(9 * 60 + 59).await;
    assert_eq!(session_status(&alice, id).await.0, "ACTIVE");
    server.advance(1).await;
    // Exactly at expires_at: expired at read time.
    let read = alice.session(id).await;
    assert_eq!(read["status"], "EXPIRED");
    assert_eq!(read["verdict"]["redirect"], "/cart");
    let blocked = alice.place_order(id, digest, "late").await;
    blocked.assert_problem("CHECKOUT_EXPIRED", 410);
    assert_eq!(blocked.body["redirect"], "/cart");
    alice
        .select(id, "shipping-method", "pickup")
        .await
        .assert_problem("CHECKOUT_EXPIRED", 410);
    // The cart is kept, and expiry was persisted with its event.
    assert_eq!(cart_skus(&alice).await, vec![("BRW-FUDGE".to_owned(), 2)]);
    assert!(server.transitions(id).await.iter().any(|t| t == "Expire"));
    alice
        .get("/checkouts/active")
        .await
        .assert_problem("CHECKOUT_NOT_FOUND", 404);
    server.stop().await;
}
on_both_backends!(expiry_blocks_actions_and_keeps_the_cart, expiry);

async fn sweeper_persists(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let s = alice.checkout().await;
    server.advance(11 * 60).await;
    // The sweeper runs every 200 ms in tests; wait for it to store EXPIRED.
    let id = s["id"].as_str().unwrap();
    let mut stored = false;
    for _ in 0..50 {
        let events = server.events(id).await;
        if let Some(e) = events.iter().find(|e| e["transition"] == "Expire") {
            assert_eq!(e["request_id"], "sweeper");
            stored = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(stored, "the sweeper never persisted the expiry");
    server.stop().await;
}
on_both_backends!(the_sweeper_persists_expiry, sweeper_persists);

async fn order_checks(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let s = alice.checkout().await;
    let id = s["id"].as_str().unwrap();
    let digest = s["digest"].as_str().unwrap();

    let no_key = alice
        .send(
            Method::POST,
            &format!("/checkouts/{id}/place-order"),
            Some(json!({"snapshot_digest": digest})),
            &[],
        )
        .await;
    no_key.assert_problem("IDEMPOTENCY_KEY_REQUIRED", 400);
    alice
        .place_order(id, "sha256:not-what-you-saw", "k-mismatch")
        .await
        .assert_problem("SNAPSHOT_MISMATCH", 409);
    let no_digest = alice
        .send(
            Method::POST,
            &format!("/checkouts/{id}/place-order"),
            Some(json!({})),
            &[("Idempotency-Key", "k-none")],
        )
        .await;
    no_digest.assert_problem("VALIDATION_FAILED", 422);

    let placed = alice.place_order(id, digest, "k1").await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    assert!(!placed.replayed());
    let order_id = placed.str("id");
    assert_eq!(placed.body["status"], "PLACED");
    // The same key replays the same answer.
    let again = alice.place_order(id, digest, "k1").await;
    assert_eq!(again.status, 201);
    assert!(again.replayed());
    assert_eq!(again.body["id"], order_id.as_str());
    // A refusal is not stored: the same key is judged again (and now the session has
    // its order).
    let mismatch_again = alice
        .place_order(id, "sha256:not-what-you-saw", "k-mismatch")
        .await;
    mismatch_again.assert_problem("CHECKOUT_COMPLETED", 409);
    assert!(!mismatch_again.replayed());
    // The same key with another body is refused.
    alice
        .place_order(id, "sha256:other", "k1")
        .await
        .assert_problem("IDEMPOTENCY_KEY_REUSED", 422);
    // Another key: still one order.
    alice
        .place_order(id, digest, "k2")
        .await
        .assert_problem("CHECKOUT_COMPLETED", 409);
    let session = alice.session(id).await;
    assert_eq!(
        (session["status"].as_str(), session["reason"].as_str()),
        (Some("COMPLETED"), Some("ORDER_PLACED"))
    );
    assert_eq!(session["order_id"], order_id.as_str());
    assert_eq!(
        alice.get(&format!("/orders/{order_id}")).await.body["checkout_number"],
        session["number"]
    );
    // What was ordered left the cart.
    assert!(cart_skus(&alice).await.is_empty());
    server.stop().await;
}
on_both_backends!(
    order_actions_need_key_and_digest_and_make_one_order,
    order_checks
);

async fn submit_for_approval(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    alice.add("BRW-WALNUT", 1).await;
    let s = alice.checkout().await;
    // Two lines ordered: both leave the cart in one write.
    assert_eq!(s["snapshot"]["lines"].as_array().unwrap().len(), 2, "{s}");
    let line = s["snapshot"]["lines"][0]["sku"]
        .as_str()
        .unwrap()
        .to_owned();
    let ordered = s["snapshot"]["lines"][0]["quantity"].as_i64().unwrap();
    // Added during checkout: stays in the cart afterwards (a new line, and more of a
    // line being ordered, of which only the ordered quantity leaves).
    alice.add("CKE-OAT", 1).await;
    alice.add(&line, 3).await;
    let r = alice
        .action(
            s["id"].as_str().unwrap(),
            "submit-for-approval",
            s["digest"].as_str().unwrap(),
            "a1",
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "PENDING_APPROVAL");
    assert_eq!(r.body["kind"], "SUBMITTED_FOR_APPROVAL");
    let mut expected = vec![("CKE-OAT".to_owned(), 1), (line, 3)];
    expected.sort();
    let mut cart = cart_skus(&alice).await;
    cart.sort();
    assert_eq!(cart, expected, "{ordered} ordered left the cart");
    server.stop().await;
}
on_both_backends!(
    submit_for_approval_makes_a_pending_approval_order,
    submit_for_approval
);

async fn changes_resnapshot(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    alice.add("CAKE-CHOC", 1).await;
    let s = alice.bare_checkout().await;
    let id = s["id"].as_str().unwrap();
    let addressed = alice.ship_to(id, "US").await;
    assert_eq!(addressed.status, 200, "{}", addressed.body);
    let d0 = addressed.str("digest");
    assert_ne!(
        d0,
        s["digest"].as_str().unwrap(),
        "an address is in the digest"
    );

    let shipped = alice.select(id, "shipping-method", "standard").await;
    assert_eq!(shipped.status, 200, "{}", shipped.body);
    let d1 = shipped.str("digest");
    assert_ne!(d1, d0);
    assert_eq!(
        shipped.body["snapshot"]["shipping_method"]["id"],
        "standard"
    );
    let paid = alice.select(id, "payment-method", "card").await;
    let d2 = paid.str("digest");
    assert_ne!(d2, d1);
    let voucher = alice
        .send(
            Method::POST,
            &format!("/checkouts/{id}/vouchers"),
            Some(json!({"code": "sweet5"})),
            &[],
        )
        .await;
    assert_eq!(voucher.status, 200, "{}", voucher.body);
    let d3 = voucher.str("digest");
    assert_ne!(d3, d2);
    assert_eq!(voucher.body["snapshot"]["vouchers"][0]["amount"], 500);
    // Refusals: unknown ids, duplicate voucher, stale digest when one is sent.
    alice
        .select(id, "shipping-method", "teleport")
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    alice
        .send(
            Method::POST,
            &format!("/checkouts/{id}/vouchers"),
            Some(json!({"code": "SWEET5"})),
            &[],
        )
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    alice
        .send(
            Method::PUT,
            &format!("/checkouts/{id}/shipping-method"),
            Some(json!({"method_id": "pickup", "snapshot_digest": d0})),
            &[],
        )
        .await
        .assert_problem("SNAPSHOT_MISMATCH", 409);
    // An order on a digest the shopper saw before a change is refused.
    alice
        .place_order(id, &d1, "stale")
        .await
        .assert_problem("SNAPSHOT_MISMATCH", 409);
    // Card is selected: Place Order is refused, Pay Now takes the order.
    alice
        .place_order(id, &d3, "fresh")
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    let paid = alice.pay(id, &d3, "4242424242424242", "fresh-pay").await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    server.stop().await;
}
on_both_backends!(
    changes_to_the_checkout_resnapshot_with_new_digests,
    changes_resnapshot
);

async fn removing_lines(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    alice.add("CKE-OAT", 2).await;
    let s = alice.checkout().await; // BRW-FUDGE + CKE-OAT
    let id = s["id"].as_str().unwrap();
    let removed = alice
        .send(
            Method::DELETE,
            &format!("/checkouts/{id}/items/CKE-OAT"),
            None,
            &[],
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_ne!(removed.body["digest"], s["digest"]);
    assert_eq!(
        removed.body["snapshot"]["lines"].as_array().unwrap().len(),
        1
    );
    assert_eq!(cart_skus(&alice).await, vec![("BRW-FUDGE".to_owned(), 2)]);
    alice
        .send(
            Method::DELETE,
            &format!("/checkouts/{id}/items/CAKE-RED"),
            None,
            &[],
        )
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    // The last line ends the checkout and the cart shows empty (known limitation 3).
    let last = alice
        .send(
            Method::DELETE,
            &format!("/checkouts/{id}/items/BRW-FUDGE"),
            None,
            &[],
        )
        .await;
    assert_eq!(last.status, 200, "{}", last.body);
    assert_eq!(
        (last.body["status"].as_str(), last.body["reason"].as_str()),
        (Some("INACTIVE"), Some("EMPTIED"))
    );
    assert_eq!(last.body["verdict"]["redirect"], "/cart");
    assert!(cart_skus(&alice).await.is_empty());
    server.stop().await;
}
on_both_backends!(removing_lines_updates_checkout_and_cart, removing_lines);

async fn settings(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let before = alice.checkout().await;

    let anonymous = Server::client();
    let no_token = common::read(
        anonymous
            .get(format!("{}/api/v1/admin/settings", server.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    no_token.assert_problem("UNAUTHENTICATED", 401);
    let wrong = common::read(
        anonymous
            .get(format!("{}/api/v1/admin/settings", server.base))
            .bearer_auth("nope")
            .send()
            .await
            .unwrap(),
    )
    .await;
    wrong.assert_problem("FORBIDDEN", 403);

    let current = server.admin(Method::GET, "/admin/settings", None).await;
    assert_eq!(
        current.body,
        json!({"group": "Checkout Session Settings", "enabled": true, "timeout_minutes": 10})
    );
    for (minutes, ok) in [
        (4, false),
        (5, true),
        (300, true),
        (301, false),
        (-1, false),
    ] {
        let r = server
            .admin(
                Method::PUT,
                "/admin/settings",
                Some(json!({"timeout_minutes": minutes})),
            )
            .await;
        if ok {
            assert_eq!(r.status, 200, "{minutes}");
            assert_eq!(r.body["timeout_minutes"], minutes);
        } else {
            r.assert_problem("VALIDATION_FAILED", 422);
            // Nothing changed.
            let now = server.admin(Method::GET, "/admin/settings", None).await;
            assert_eq!(
                now.body["timeout_minutes"],
                if minutes == 4 { 10 } else { 300 }
            );
        }
    }
    server
        .admin(
            Method::PUT,
            "/admin/settings",
            Some(json!({"timeout_minutes": "ten"})),
        )
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    server
        .admin(Method::PUT, "/admin/settings", Some(json!({"surprise": 1})))
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    // Settings apply to new sessions only: the existing one keeps its 10 minutes.
    let after = alice.session(before["id"].as_str().unwrap()).await;
    assert_eq!(after["expires_at"], before["expires_at"]);
    let bob = server.shopper("bob").await;
    let long = bob.checkout().await;
    let started =
        chrono::DateTime::parse_from_rfc3339(long["started_at"].as_str().unwrap()).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(long["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires - started, chrono::Duration::minutes(300));
    server.stop().await;
}
on_both_backends!(
    settings_are_validated_and_apply_to_new_sessions_only,
    settings
);

async fn plain_checkout(backend: Backend) {
    let server = Server::start(backend).await;
    let r = server
        .admin(
            Method::PUT,
            "/admin/settings",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(r.status, 200);
    let alice = server.shopper("alice").await;
    let first = alice.checkout().await;
    let second = alice.initiate().await.body;
    assert!(first["expires_at"].is_null());
    server.advance(24 * 3600).await;
    // No single-session rule, no expiry: both still ACTIVE.
    for s in [&first, &second] {
        assert_eq!(
            session_status(&alice, s["id"].as_str().unwrap()).await.0,
            "ACTIVE"
        );
    }
    // Order placement stays idempotent.
    let id = first["id"].as_str().unwrap();
    let digest = first["digest"].as_str().unwrap();
    let a = alice.place_order(id, digest, "same").await;
    let b = alice.place_order(id, digest, "same").await;
    assert_eq!((a.status, b.status), (201, 201));
    assert!(b.replayed());
    alice
        .place_order(id, digest, "other")
        .await
        .assert_problem("CHECKOUT_COMPLETED", 409);
    server.stop().await;
}
on_both_backends!(
    disabled_management_is_a_plain_idempotent_checkout,
    plain_checkout
);

async fn order_class(backend: Backend) {
    let server = Server::start(backend).await;
    let class = server
        .admin(Method::GET, "/admin/order-classes/checkout", None)
        .await;
    assert_eq!(class.body["format"], "CO-<DD><MM><YYYY>-<Number>");
    assert_eq!(class.body["digit_length"], 6);
    assert_eq!(class.body["next_number"], 1);
    let widen = server
        .admin(
            Method::PUT,
            "/admin/order-classes/checkout",
            Some(json!({"next_number": 999_999})),
        )
        .await;
    assert_eq!(widen.status, 200, "{}", widen.body);
    server
        .admin(
            Method::PUT,
            "/admin/order-classes/checkout",
            Some(json!({"next_number": 5})),
        )
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    server
        .admin(
            Method::PUT,
            "/admin/order-classes/checkout",
            Some(json!({"format": "CO-<Nope>"})),
        )
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    let alice = server.shopper("alice").await;
    let a = alice.checkout().await;
    let b = alice.initiate().await.body;
    assert!(
        a["number"].as_str().unwrap().ends_with("-999999"),
        "{}",
        a["number"]
    );
    assert!(
        b["number"].as_str().unwrap().ends_with("-1000000"),
        "{}",
        b["number"]
    );
    // A new format and zone apply to later checkouts.
    let edit = server
        .admin(
            Method::PUT,
            "/admin/order-classes/checkout",
            Some(json!({"format": "BB/<YYYY>/<Number>", "digit_length": 9, "time_zone": "Asia/Tokyo"})),
        )
        .await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    let c = alice.initiate().await.body;
    let year = chrono::Utc::now()
        .with_timezone(&chrono_tz_year())
        .format("%Y")
        .to_string();
    assert_eq!(c["number"], format!("BB/{year}/001000001"));
    server.stop().await;
}
on_both_backends!(the_checkout_order_class_is_editable_and_widens, order_class);

fn chrono_tz_year() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(9 * 3600).unwrap()
}

async fn key_retention(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let s = alice.checkout().await;
    let (id, digest) = (s["id"].as_str().unwrap(), s["digest"].as_str().unwrap());
    assert_eq!(alice.place_order(id, digest, "kept").await.status, 201);
    // Still replayed just before 24 hours…
    server.advance(24 * 3600 - 60).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(alice.place_order(id, digest, "kept").await.replayed());
    // …and purged by the sweeper after: the key is unknown again, and the session
    // still yields no second order.
    server.advance(3600).await;
    let mut purged = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let r = alice.place_order(id, digest, "kept").await;
        if !r.replayed() {
            r.assert_problem("CHECKOUT_COMPLETED", 409);
            purged = true;
            break;
        }
    }
    assert!(purged, "the record was never purged");
    server.stop().await;
}
on_both_backends!(
    idempotency_records_are_kept_24_hours_then_purged,
    key_retention
);

#[tokio::test]
async fn metrics_count_initiations_transitions_rejections_and_orders() {
    let server = Server::start(Backend::Sqlite).await;
    let alice = server.shopper("alice").await;
    let old = alice.checkout().await;
    let new = alice.initiate().await.body;
    let new_id = new["id"].as_str().unwrap();
    let new = alice.choose(new_id, "standard", "invoice").await;
    alice
        .place_order(
            old["id"].as_str().unwrap(),
            old["digest"].as_str().unwrap(),
            "m1",
        )
        .await
        .assert_problem("CHECKOUT_SUPERSEDED", 409);
    let placed = alice
        .place_order(
            new["id"].as_str().unwrap(),
            new["digest"].as_str().unwrap(),
            "m2",
        )
        .await;
    assert_eq!(placed.status, 201);
    let text = server.metrics_page().await;
    // Counters are process-wide (other tests add to them): check each is present and
    // counted at least once.
    for series in [
        "checkout_initiations_total ",
        "checkout_transitions_total{name=\"Supersede\"} ",
        "checkout_rejections_total{name=\"CHECKOUT_SUPERSEDED\"} ",
        "checkout_orders_total{name=\"ORDER_PLACED\"} ",
        "http_request_duration_seconds_bucket{",
    ] {
        let line = text
            .lines()
            .find(|l| l.starts_with(series))
            .unwrap_or_else(|| panic!("{series} missing:\n{text}"));
        let value: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(value >= 1.0 || series.ends_with('{'), "{line}");
    }
    server.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_problem() {
    let server = Server::start(Backend::Sqlite).await;
    let alice = server.shopper("alice").await;
    let client = &alice.client;
    let raw = |body: String| {
        client
            .post(format!("{}/api/v1/cart/items", server.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    common::read(raw("{not json".into()).await.unwrap())
        .await
        .assert_problem("MALFORMED_REQUEST", 400);
    let huge = format!(
        "{{\"sku\":\"{}\",\"quantity\":1}}",
        "x".repeat(checkout_server::MAX_BODY_BYTES + 10)
    );
    common::read(raw(huge).await.unwrap())
        .await
        .assert_problem("PAYLOAD_TOO_LARGE", 413);
    alice
        .send(
            Method::POST,
            "/cart/items",
            Some(json!({"sku": "BRW-FUDGE", "quantity": 0})),
            &[],
        )
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    alice
        .send(
            Method::POST,
            "/cart/items",
            Some(json!({"sku": "NOPE", "quantity": 1})),
            &[],
        )
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    alice
        .send(
            Method::POST,
            "/cart/items",
            Some(json!({"sku": "BRW-FUDGE", "quantity": 1.5})),
            &[],
        )
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    // Nothing was lost: the cart is as it was.
    assert!(cart_skus(&alice).await.is_empty());
    let s = alice.checkout().await;
    alice
        .send(
            Method::POST,
            &format!("/checkouts/{}/place-order", s["id"].as_str().unwrap()),
            Some(json!({"snapshot_digest": s["digest"]})),
            &[("Idempotency-Key", "has space")],
        )
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    server.stop().await;
}

#[tokio::test]
async fn the_test_clock_is_off_unless_asked_for() {
    let server = Server::start_with(Backend::Sqlite, |c| c.test_clock = false).await;
    let r = server
        .admin(
            Method::POST,
            "/admin/test-clock",
            Some(json!({"advance_seconds": 60})),
        )
        .await;
    assert_eq!(r.status, 404);
    server.stop().await;
}
