//! Recovering expired and abandoned checkouts over HTTP (CONTRACT §16), on both
//! databases: recovery links, re-pricing with today's catalog and the `changes` list,
//! the admin's catalog changes, and `SNAPSHOT_MISMATCH` carrying what changed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Backend, Resp, Server, Shopper};
use reqwest::Method;
use serde_json::{json, Value};

const NEVER_ANSWERS: &str = "4000000000000119";

async fn restore(shopper: &Shopper, token: &str) -> Resp {
    shopper
        .send(
            Method::POST,
            "/checkouts/restore",
            Some(json!({"token": token})),
            &[],
        )
        .await
}

async fn catalog(server: &Server, path: &str, body: Value) -> Resp {
    server.change_catalog(path, body).await
}

async fn link_of(shopper: &Shopper) -> Value {
    let r = shopper.get("/checkouts/recoverable").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn kinds(body: &Value) -> Vec<(String, String)> {
    body["changes"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|c| {
                    (
                        c["kind"].as_str().unwrap().to_owned(),
                        c["subject"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn pair(kind: &str, subject: &str) -> (String, String) {
    (kind.to_owned(), subject.to_owned())
}

async fn expired_checkout_comes_back_repriced(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    alice.add("BRW-FUDGE", 3).await;
    alice.add("CAKE-CHOC", 4).await;
    alice.add("CKE-OAT", 2).await;
    let old = alice.initiate().await.body;
    let old_id = old["id"].as_str().unwrap().to_owned();
    alice.choose(&old_id, "express", "invoice").await;
    let r = alice
        .send(
            Method::POST,
            &format!("/checkouts/{old_id}/vouchers"),
            Some(json!({"code": "sweet5"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let old_total = r.body["snapshot"]["totals"]["grand_total"]
        .as_i64()
        .unwrap();

    // Nothing to continue while the checkout is live.
    alice
        .get("/checkouts/recoverable")
        .await
        .assert_problem("CHECKOUT_NOT_FOUND", 404);
    server.advance(11 * 60).await;
    let offered = link_of(&alice).await;
    assert_eq!(offered["id"], old_id.as_str());
    assert_eq!(offered["status"], "EXPIRED");
    assert_eq!(offered["grand_total"], old_total);
    let token = offered["token"].as_str().unwrap().to_owned();
    assert_eq!(offered["link"], format!("/restore/?token={token}"));

    // Today's catalog differs: a dearer brownie, the brownie promotion ended, cookies
    // off sale, at most 2 cakes an order, express dearer.
    assert_eq!(
        catalog(&server, "products/BRW-FUDGE", json!({"price": 385}))
            .await
            .status,
        200
    );
    assert_eq!(
        catalog(&server, "promotions/fudge-friday", json!({"active": false}))
            .await
            .status,
        200
    );
    assert_eq!(
        catalog(&server, "products/CKE-OAT", json!({"active": false}))
            .await
            .status,
        200
    );
    assert_eq!(
        catalog(&server, "products/CAKE-CHOC", json!({"max_quantity": 2}))
            .await
            .status,
        200
    );
    let express = catalog(&server, "shipping-methods/express", json!({"price": 1_499})).await;
    assert_eq!(express.status, 200, "{}", express.body);
    assert_eq!(express.body["shipping_methods"][2]["price"], 1_499);
    // The cart was emptied meanwhile (another device, say).
    for sku in ["BRW-FUDGE", "CAKE-CHOC"] {
        alice
            .send(Method::DELETE, &format!("/cart/items/{sku}"), None, &[])
            .await;
    }

    // On another device, signed in: the link brings a new checkout back.
    let phone = Shopper::sign_in(&server.base, "alice").await;
    let back = restore(&phone, &token).await;
    assert_eq!(back.status, 201, "{}", back.body);
    let s = &back.body;
    assert_eq!(s["status"], "ACTIVE");
    assert_eq!(s["restored_from"], old_id.as_str());
    assert_ne!(s["id"], old_id.as_str());
    assert_ne!(s["number"], old["number"]);
    assert!(s["recovery_token"].as_str().unwrap().starts_with("cgr1."));
    assert_eq!(
        kinds(s),
        vec![
            pair("price_up", "BRW-FUDGE"),
            pair("quantity_capped", "CAKE-CHOC"),
            pair("item_gone", "CKE-OAT"),
            pair("promotion_ended", "fudge-friday"),
            pair("shipping_repriced", "express"),
            pair("total_changed", "total"),
        ]
    );
    let changes = s["changes"].as_array().unwrap();
    assert_eq!(
        changes[0]["message"],
        "Fudge brownie now costs $3.85 (was $3.50)."
    );
    assert_eq!(
        (changes[0]["before"].as_i64(), changes[0]["after"].as_i64()),
        (Some(350), Some(385))
    );
    assert_eq!(
        changes[2]["message"],
        "Oat raisin cookie is no longer sold, so it was left out."
    );
    let total = &changes[5];
    assert_eq!(total["before"], old_total);
    assert_eq!(total["after"], s["snapshot"]["totals"]["grand_total"]);
    let lines: Vec<(String, i64, i64)> = s["snapshot"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["sku"].as_str().unwrap().to_owned(),
                l["quantity"].as_i64().unwrap(),
                l["unit_price"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![("BRW-FUDGE".into(), 3, 385), ("CAKE-CHOC".into(), 2, 2_999)]
    );
    // SWEET5 still applies ($20 minimum met), express and invoice are kept.
    assert_eq!(s["snapshot"]["vouchers"][0]["id"], "SWEET5");
    assert_eq!(s["snapshot"]["shipping_method"]["price"], 1_499);
    assert_eq!(s["snapshot"]["payment_method"]["id"], "invoice");
    // The changes stay with the checkout: a reload shows them again.
    let id = s["id"].as_str().unwrap().to_owned();
    assert_eq!(kinds(&alice.session(&id).await), kinds(s));
    // The cart has the lines back.
    let cart = alice.get("/cart").await.body;
    let in_cart: Vec<(String, i64)> = cart["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["sku"].as_str().unwrap().to_owned(),
                i["quantity"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(
        in_cart.contains(&("BRW-FUDGE".into(), 3)) && in_cart.contains(&("CAKE-CHOC".into(), 2)),
        "{in_cart:?}"
    );

    // The link works once, and the restored checkout orders as any other.
    restore(&phone, &token)
        .await
        .assert_problem("TOKEN_REPLAYED", 409);
    restore(&alice, &token)
        .await
        .assert_problem("TOKEN_REPLAYED", 409);
    let placed = phone
        .place_order(&id, s["digest"].as_str().unwrap(), "restored-1")
        .await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    assert_eq!(placed.body["grand_total"], total["after"]);
    alice
        .get("/checkouts/recoverable")
        .await
        .assert_problem("CHECKOUT_NOT_FOUND", 404);
    server.stop().await;
}
on_both_backends!(
    an_expired_checkout_comes_back_at_todays_prices,
    expired_checkout_comes_back_repriced
);

async fn links_are_bound_and_bounded(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let s = alice.checkout().await;
    server.advance(11 * 60).await;
    let token = link_of(&alice).await["token"].as_str().unwrap().to_owned();

    // Another shopper, a changed byte, a recovery token, garbage: refused, nothing made.
    let mallory = server.shopper("mallory").await;
    mallory.add("CAKE-RED", 1).await;
    restore(&mallory, &token)
        .await
        .assert_problem("TOKEN_INVALID", 401);
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    restore(&alice, &String::from_utf8(tampered).unwrap())
        .await
        .assert_problem("TOKEN_INVALID", 401);
    restore(&alice, s["recovery_token"].as_str().unwrap())
        .await
        .assert_problem("TOKEN_INVALID", 401);
    restore(&alice, &"x".repeat(5_000))
        .await
        .assert_problem("TOKEN_INVALID", 401);
    let anonymous = Shopper {
        client: Server::client(),
        base: server.base.clone(),
        name: "nobody".into(),
    };
    restore(&anonymous, &token)
        .await
        .assert_problem("UNAUTHENTICATED", 401);
    assert_eq!(mallory.get("/checkouts/active").await.status, 404);

    // Past the window (7 days after the checkout ended) it has expired, and no link is
    // offered any more.
    server.advance(7 * 24 * 3600).await;
    let alice = Shopper::sign_in(&server.base, "alice").await;
    let late = restore(&alice, &token).await;
    late.assert_problem("TOKEN_EXPIRED", 401);
    assert_eq!(late.body["redirect"], "/cart");
    alice
        .get("/checkouts/recoverable")
        .await
        .assert_problem("CHECKOUT_NOT_FOUND", 404);

    // Admin inputs have ranges; each refusal says where.
    let bad = [
        ("products/BRW-FUDGE", json!({"price": -1}), 422),
        ("products/BRW-FUDGE", json!({"price": 100_000_001}), 422),
        ("products/BRW-FUDGE", json!({"max_quantity": 0}), 422),
        ("products/NOPE", json!({"active": false}), 404),
        ("products/BRW-FUDGE", json!({"colour": "red"}), 422),
    ];
    for (path, body, status) in bad {
        let r = catalog(&server, path, body.clone()).await;
        assert_eq!(r.status, status, "{path} {body}: {}", r.body);
        assert!(r.code().is_some(), "{}", r.body);
        if status == 422 {
            assert!(
                r.body["errors"][0]["pointer"]
                    .as_str()
                    .unwrap()
                    .starts_with("/products/"),
                "{}",
                r.body
            );
        }
    }
    server.stop().await;
}
on_both_backends!(
    recovery_links_are_bound_to_their_shopper_and_window,
    links_are_bound_and_bounded
);

async fn restoring_is_an_initiation(backend: Backend) {
    let server = Server::start_with(backend, |c| c.gateway_timeout_ms = 300).await;
    // Signed out: the checkout is recoverable after signing in again.
    let alice = server.shopper("alice").await;
    let old = alice.checkout().await;
    assert_eq!(
        alice
            .send(Method::POST, "/auth/logout", None, &[])
            .await
            .status,
        204
    );
    let alice = Shopper::sign_in(&server.base, "alice").await;
    let offered = link_of(&alice).await;
    assert_eq!(
        (offered["status"].as_str(), offered["reason"].as_str()),
        (Some("INACTIVE"), Some("SIGNED_OUT"))
    );
    let token = offered["token"].as_str().unwrap().to_owned();

    // A checkout started since is superseded by the restored one, as by any initiation.
    alice.add("CAKE-RED", 1).await;
    let newer = alice.initiate().await.body;
    let back = restore(&alice, &token).await;
    assert_eq!(back.status, 201, "{}", back.body);
    assert!(
        kinds(&back.body).is_empty(),
        "nothing changed: {}",
        back.body
    );
    assert_eq!(back.body["snapshot"]["digest"], old["snapshot"]["digest"]);
    let newer = alice.session(newer["id"].as_str().unwrap()).await;
    assert_eq!(
        (newer["status"].as_str(), newer["reason"].as_str()),
        (Some("INACTIVE"), Some("SUPERSEDED"))
    );
    assert_eq!(
        alice.get("/checkouts/active").await.body["id"],
        back.body["id"]
    );

    // While another checkout of the shopper is paying, restoring is refused and the
    // payment is left alone.
    let bob = server.shopper("bob").await;
    bob.checkout().await;
    assert_eq!(
        bob.send(Method::POST, "/auth/logout", None, &[])
            .await
            .status,
        204
    );
    let bob = Shopper::sign_in(&server.base, "bob").await;
    let bob_link = link_of(&bob).await["token"].as_str().unwrap().to_owned();
    bob.add("CAKE-RED", 1).await;
    let paying = bob.initiate().await.body;
    let paying_id = paying["id"].as_str().unwrap();
    let chosen = bob.choose(paying_id, "standard", "card").await;
    let pay = bob
        .pay(
            paying_id,
            chosen["digest"].as_str().unwrap(),
            NEVER_ANSWERS,
            "p",
        )
        .await;
    pay.assert_problem("PAYMENT_IN_PROGRESS", 409);
    restore(&bob, &bob_link)
        .await
        .assert_problem("PAYMENT_IN_PROGRESS", 409);
    assert_eq!(bob.session(paying_id).await["status"], "PAYMENT_PENDING");
    // Nothing is offered to continue while a checkout is live.
    bob.get("/checkouts/recoverable")
        .await
        .assert_problem("CHECKOUT_NOT_FOUND", 404);
    server.stop().await;
}
on_both_backends!(
    restoring_supersedes_and_respects_a_payment_in_flight,
    restoring_is_an_initiation
);

async fn mismatch_says_what_changed(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let s = alice.checkout().await;
    let id = s["id"].as_str().unwrap();
    let confirmed = s["digest"].as_str().unwrap().to_owned();
    // Another tab applies a voucher and picks express: prices on the summary change.
    let tab = Shopper::sign_in(&server.base, "alice").await;
    let r = tab
        .send(
            Method::POST,
            &format!("/checkouts/{id}/vouchers"),
            Some(json!({"code": "WELCOME10"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        tab.select(id, "shipping-method", "express").await.status,
        200
    );
    let current = alice.session(id).await;

    let refused = alice.place_order(id, &confirmed, "m-1").await;
    refused.assert_problem("SNAPSHOT_MISMATCH", 409);
    assert_eq!(
        kinds(&refused.body),
        vec![
            pair("voucher_added", "WELCOME10"),
            pair("shipping_changed", "express"),
            pair("total_changed", "total"),
        ]
    );
    let total = &refused.body["changes"][2];
    assert_eq!(total["before"], s["snapshot"]["totals"]["grand_total"]);
    assert_eq!(total["after"], current["snapshot"]["totals"]["grand_total"]);
    // The same on a change that carries the digest.
    let r = alice
        .send(
            Method::PUT,
            &format!("/checkouts/{id}/payment-method"),
            Some(json!({"method_id": "invoice", "snapshot_digest": confirmed})),
            &[],
        )
        .await;
    r.assert_problem("SNAPSHOT_MISMATCH", 409);
    assert_eq!(kinds(&r.body).len(), 3);
    // A digest the checkout never had: refused, with nothing to compare.
    let unknown = format!("sha256:{}", "0".repeat(64));
    let r = alice.place_order(id, &unknown, "m-2").await;
    r.assert_problem("SNAPSHOT_MISMATCH", 409);
    assert!(r.body.get("changes").is_none(), "{}", r.body);
    // The current digest orders.
    let placed = alice
        .place_order(id, current["digest"].as_str().unwrap(), "m-3")
        .await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    server.stop().await;
}
on_both_backends!(
    snapshot_mismatch_carries_what_changed,
    mismatch_says_what_changed
);

async fn catalog_changes_reach_new_checkouts_only(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let live = alice.checkout().await;
    let live_id = live["id"].as_str().unwrap();
    assert_eq!(
        catalog(
            &server,
            "products/BRW-FUDGE",
            json!({"price": 500, "max_quantity": 5})
        )
        .await
        .status,
        200
    );
    assert_eq!(
        catalog(&server, "products/CAKE-RED", json!({"active": false}))
            .await
            .status,
        200
    );
    assert_eq!(
        catalog(&server, "vouchers/SWEET5", json!({"active": false}))
            .await
            .status,
        200
    );
    assert_eq!(
        catalog(&server, "shipping-methods/pickup", json!({"active": false}))
            .await
            .status,
        200
    );

    // The live checkout keeps its prices; a voucher withdrawn and a method no longer
    // offered are refused on it.
    assert_eq!(
        alice.session(live_id).await["snapshot"]["lines"][0]["unit_price"],
        350
    );
    let r = alice
        .send(
            Method::POST,
            &format!("/checkouts/{live_id}/vouchers"),
            Some(json!({"code": "SWEET5"})),
            &[],
        )
        .await;
    r.assert_problem("VALIDATION_FAILED", 422);
    alice
        .select(live_id, "shipping-method", "pickup")
        .await
        .assert_problem("VALIDATION_FAILED", 422);

    // The storefront and the cart see today's catalog.
    let products = alice.get("/products").await.body;
    let skus: Vec<&str> = products["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sku"].as_str().unwrap())
        .collect();
    assert!(!skus.contains(&"CAKE-RED") && skus.contains(&"BRW-FUDGE"));
    let fudge = products["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["sku"] == "BRW-FUDGE")
        .unwrap();
    assert_eq!(
        (fudge["unit_price"].as_i64(), fudge["max_quantity"].as_i64()),
        (Some(500), Some(5))
    );
    let r = alice
        .send(
            Method::POST,
            "/cart/items",
            Some(json!({"sku": "CAKE-RED", "quantity": 1})),
            &[],
        )
        .await;
    r.assert_problem("VALIDATION_FAILED", 422);
    let r = alice
        .send(
            Method::POST,
            "/cart/items",
            Some(json!({"sku": "BRW-FUDGE", "quantity": 4})),
            &[],
        )
        .await;
    r.assert_problem("VALIDATION_FAILED", 422);
    assert_eq!(r.body["detail"], "At most 5 × Fudge brownie per order.");
    let r = alice
        .send(
            Method::PATCH,
            "/cart/items/BRW-FUDGE",
            Some(json!({"quantity": 6})),
            &[],
        )
        .await;
    r.assert_problem("VALIDATION_FAILED", 422);
    // A new checkout is priced today.
    let next = alice.initiate().await;
    assert_eq!(next.status, 201, "{}", next.body);
    assert_eq!(next.body["snapshot"]["lines"][0]["unit_price"], 500);

    // The admin sees every product, including those taken off sale.
    let all = server.admin(Method::GET, "/admin/catalog", None).await;
    assert_eq!(all.status, 200);
    let red = all.body["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["sku"] == "CAKE-RED")
        .unwrap();
    assert_eq!(red["active"], false);
    // And can put it back on sale, keeping the other changes.
    let back = catalog(&server, "products/CAKE-RED", json!({"active": true})).await;
    assert_eq!(back.body["active"], true);
    let fudge = catalog(&server, "products/BRW-FUDGE", json!({"active": true})).await;
    assert_eq!(
        (
            fudge.body["unit_price"].as_i64(),
            fudge.body["max_quantity"].as_i64()
        ),
        (Some(500), Some(5))
    );
    server.stop().await;
}
on_both_backends!(
    catalog_changes_reach_new_checkouts_only,
    catalog_changes_reach_new_checkouts_only
);

async fn after_ordering_and_over_limits(backend: Backend) {
    let server = Server::start(backend).await;
    // A link dies once the shopper ordered from a newer checkout: it would bring back
    // what they may just have bought.
    let alice = server.shopper("alice").await;
    alice.checkout().await;
    assert_eq!(
        alice
            .send(Method::POST, "/auth/logout", None, &[])
            .await
            .status,
        204
    );
    let alice = Shopper::sign_in(&server.base, "alice").await;
    let token = link_of(&alice).await["token"].as_str().unwrap().to_owned();
    let newer = alice.checkout().await;
    let placed = alice
        .place_order(
            newer["id"].as_str().unwrap(),
            newer["digest"].as_str().unwrap(),
            "n-1",
        )
        .await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    let late = restore(&alice, &token).await;
    late.assert_problem("CHECKOUT_SUPERSEDED", 409);
    assert_eq!(late.body["redirect"], "/cart");
    assert_eq!(
        alice.get("/checkouts/active").await.status,
        404,
        "nothing was started"
    );

    // A tab still showing the ended checkout, on the restored one: what changed since.
    let bob = server.shopper("bob").await;
    let ended = bob.checkout().await;
    server.advance(11 * 60).await;
    assert_eq!(
        catalog(&server, "products/BRW-FUDGE", json!({"price": 400}))
            .await
            .status,
        200
    );
    let bob_token = link_of(&bob).await["token"].as_str().unwrap().to_owned();
    let back = restore(&bob, &bob_token).await;
    assert_eq!(back.status, 201, "{}", back.body);
    let id = back.body["id"].as_str().unwrap();
    let stale = bob
        .place_order(id, ended["digest"].as_str().unwrap(), "b-1")
        .await;
    stale.assert_problem("SNAPSHOT_MISMATCH", 409);
    assert_eq!(
        kinds(&stale.body),
        vec![
            pair("price_up", "BRW-FUDGE"),
            pair("total_changed", "total")
        ]
    );
    assert_eq!(
        catalog(&server, "products/BRW-FUDGE", json!({"price": 350}))
            .await
            .status,
        200
    );

    // A cart line above today's limit reads, checks out and orders at the limit, and
    // the order leaves none of it behind.
    let carol = server.shopper("carol").await;
    carol.add("CKE-CHOC", 10).await;
    assert_eq!(
        catalog(&server, "products/CKE-CHOC", json!({"max_quantity": 3}))
            .await
            .status,
        200
    );
    let cart = carol.get("/cart").await.body;
    let line = &cart["items"][0];
    assert_eq!(
        (
            line["quantity"].as_i64(),
            line["max_quantity"].as_i64(),
            line["subtotal"].as_i64()
        ),
        (Some(3), Some(3), Some(597))
    );
    assert_eq!(cart["preview"]["subtotal"], 597);
    let s = carol.ready(carol.initiate().await.body).await;
    assert_eq!(s["snapshot"]["lines"][0]["quantity"], 3);
    let placed = carol
        .place_order(
            s["id"].as_str().unwrap(),
            s["digest"].as_str().unwrap(),
            "c-1",
        )
        .await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    assert_eq!(carol.get("/cart").await.body["items"], json!([]));
    server.stop().await;
}
on_both_backends!(
    links_end_with_a_newer_order_and_carts_follow_limits,
    after_ordering_and_over_limits
);
