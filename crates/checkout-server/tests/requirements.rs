//! What each order action needs (CONTRACT §5a), over real HTTP on both databases: a
//! shipping method for every order action, card and a card for Pay Now (the only action
//! that charges), a deferred method for Place Order. A refusal leaves the session
//! `ACTIVE` and charges nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{test_cards, Backend, Server, Shopper};
use serde_json::Value;

/// Payments the provider made for the session (any outcome).
async fn charges(server: &Server, session_id: &str) -> i64 {
    server.provider.payments(session_id).await.len() as i64
}

async fn assert_still_active(shopper: &Shopper, id: &str) {
    let s = shopper.session(id).await;
    assert_eq!(s["status"], "ACTIVE", "{s}");
}

fn missing(body: &Value) -> Vec<&str> {
    body["missing"]
        .as_array()
        .map(|m| m.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

async fn no_shipping_method_no_order(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let s = alice.bare_checkout().await;
    let id = s["id"].as_str().unwrap().to_owned();
    // No address either: both are missing, the address first.
    let chosen = alice.select(&id, "payment-method", "invoice").await;
    let r = alice
        .action(&id, "place-order", &chosen.str("digest"), "no-address")
        .await;
    r.assert_problem("VALIDATION_FAILED", 422);
    assert_eq!(
        missing(&r.body),
        ["shipping_address", "shipping_method"],
        "{}",
        r.body
    );
    assert_eq!(alice.ship_to(&id, "US").await.status, 200);
    // A payment method, but no shipping method.
    let chosen = alice.select(&id, "payment-method", "invoice").await;
    let digest = chosen.str("digest");
    for (n, action) in ["place-order", "submit-for-approval"]
        .into_iter()
        .enumerate()
    {
        let r = alice
            .action(&id, action, &digest, &format!("no-shipping-{n}"))
            .await;
        r.assert_problem("VALIDATION_FAILED", 422);
        assert_eq!(
            missing(&r.body),
            ["shipping_method"],
            "{action}: {}",
            r.body
        );
        assert!(
            r.body["detail"]
                .as_str()
                .unwrap()
                .contains("shipping method"),
            "{}",
            r.body
        );
        assert_still_active(&alice, &id).await;
    }
    // Choosing one makes both possible.
    let chosen = alice.select(&id, "shipping-method", "standard").await;
    let placed = alice
        .place_order(&id, &chosen.str("digest"), "with-shipping")
        .await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    assert_eq!(placed.body["status"], "PLACED");

    let bob = server.shopper("bob").await;
    let s = bob.bare_checkout().await;
    let id = s["id"].as_str().unwrap().to_owned();
    assert_eq!(bob.ship_to(&id, "US").await.status, 200);
    let chosen = bob.select(&id, "shipping-method", "pickup").await;
    // Submit for approval needs no payment method: payment follows approval.
    let submitted = bob
        .action(
            &id,
            "submit-for-approval",
            &chosen.str("digest"),
            "approval",
        )
        .await;
    assert_eq!(submitted.status, 201, "{}", submitted.body);
    server.stop().await;
}
on_both_backends!(
    place_order_and_approval_without_shipping_are_refused,
    no_shipping_method_no_order
);

async fn pay_now_charges_only_a_card(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let s = alice.checkout().await; // standard shipping, invoice
    let id = s["id"].as_str().unwrap().to_owned();
    let digest = s["digest"].as_str().unwrap().to_owned();
    let r = alice
        .pay(&id, &digest, test_cards::APPROVE, "pay-with-invoice")
        .await;
    r.assert_problem("VALIDATION_FAILED", 422);
    assert_eq!(missing(&r.body), ["payment_method"], "{}", r.body);
    assert!(
        r.body["detail"].as_str().unwrap().contains("Choose Card"),
        "{}",
        r.body
    );
    assert_eq!(charges(&server, &id).await, 0, "nothing was charged");
    assert_still_active(&alice, &id).await;

    // Card selected: Place Order is refused and points to Pay Now …
    let card = alice.select(&id, "payment-method", "card").await;
    let digest = card.str("digest");
    let r = alice.place_order(&id, &digest, "place-with-card").await;
    r.assert_problem("VALIDATION_FAILED", 422);
    assert_eq!(missing(&r.body), ["payment_method"], "{}", r.body);
    assert!(
        r.body["detail"].as_str().unwrap().contains("Pay Now"),
        "{}",
        r.body
    );
    assert_still_active(&alice, &id).await;
    // … Pay Now without a card is refused …
    let r = alice
        .pay_with_token(&id, &digest, "  ", "pay-without-card")
        .await;
    r.assert_problem("VALIDATION_FAILED", 422);
    assert_eq!(missing(&r.body), ["payment_token"], "{}", r.body);
    assert_eq!(charges(&server, &id).await, 0);
    // … and Pay Now with one charges once and completes.
    let paid = alice
        .pay(&id, &digest, test_cards::APPROVE, "pay-with-card")
        .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    assert_eq!(paid.body["status"], "PAID");
    assert_eq!(charges(&server, &id).await, 1);
    server.stop().await;
}
on_both_backends!(
    pay_now_with_invoice_is_refused_and_place_order_with_card_points_to_pay_now,
    pay_now_charges_only_a_card
);
