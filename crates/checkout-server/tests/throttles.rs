//! A shopper's checkout changes and card payments are throttled (CONTRACT §11): past the
//! limit a request is `RATE_LIMITED` with `Retry-After`, changes nothing, sends nothing
//! to the payment provider, and its Idempotency-Key stays free for a later retry.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{test_cards, Backend, Resp, Server};
use futures::future::join_all;

fn retry_after(r: &Resp) -> u64 {
    r.headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn changes_are_throttled(backend: Backend) {
    let server = Server::start_with(backend, |c| c.changes_per_shopper_per_minute = 4).await;
    let alice = server.shopper("alice").await;
    let started = alice.bare_checkout().await;
    let id = started["id"].as_str().unwrap();
    // Twelve changes at once: four go through, the rest are refused.
    let answers = join_all((0..12).map(|i| {
        let method = if i % 2 == 0 { "standard" } else { "express" };
        alice.select(id, "shipping-method", method)
    }))
    .await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        4,
        "{statuses:?}"
    );
    let refused = answers.iter().find(|r| r.status == 429).unwrap();
    refused.assert_problem("RATE_LIMITED", 429);
    assert!(
        (1..=60).contains(&retry_after(refused)),
        "{:?}",
        refused.headers
    );
    let events = "SELECT COUNT(*) AS n FROM checkout_events WHERE session_id = $1 \
                  AND transition = 'SelectShipping'";
    let changed = common::count(server.db(), events, &[id]).await;
    assert!((1..=4).contains(&changed), "{changed} changes stored");
    // Reading is not a change, and other shoppers are not affected.
    assert_eq!(alice.get(&format!("/checkouts/{id}")).await.status, 200);
    let bob = server.shopper("bob").await;
    let theirs = bob.bare_checkout().await;
    let r = bob
        .select(
            theirs["id"].as_str().unwrap(),
            "shipping-method",
            "standard",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A minute later the shopper may change it again.
    server.advance(61).await;
    assert_eq!(
        alice.select(id, "payment-method", "invoice").await.status,
        200
    );
    server.stop().await;
}
on_both_backends!(checkout_changes_are_throttled, changes_are_throttled);

/// Checkouts last long enough to outlive the card throttle's hour.
async fn long_checkouts(server: &Server) {
    let r = server
        .admin(
            reqwest::Method::PUT,
            "/admin/settings",
            Some(serde_json::json!({"timeout_minutes": 120})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn card_attempts_are_throttled(backend: Backend) {
    let server = Server::start_with(backend, |c| c.card_attempts_per_shopper_per_hour = 3).await;
    long_checkouts(&server).await;
    let mallory = server.shopper("mallory").await;
    let started = mallory.bare_checkout().await;
    let id = started["id"].as_str().unwrap().to_owned();
    let digest = mallory.choose(&id, "standard", "card").await["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    // Stolen numbers, one after another: three reach the provider.
    for i in 0..3 {
        let r = mallory
            .pay(&id, &digest, test_cards::DECLINE, &format!("try-{i}"))
            .await;
        r.assert_problem("PAYMENT_DECLINED", 402);
    }
    // A restart forgets nothing.
    let server = server.restart(|_| {}).await;
    let refused = mallory
        .pay(&id, &digest, test_cards::APPROVE, "try-3")
        .await;
    refused.assert_problem("RATE_LIMITED", 429);
    assert!(
        (1..=3600).contains(&retry_after(&refused)),
        "{:?}",
        refused.headers
    );
    assert_eq!(server.provider.payments(&id).await.len(), 3);
    assert_eq!(mallory.session(&id).await["status"], "ACTIVE");
    // After the hour the same key, refused before, pays: it was not used up.
    server.advance(3_601).await;
    let paid = mallory
        .pay(&id, &digest, test_cards::APPROVE, "try-3")
        .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    server.stop().await;
}
on_both_backends!(card_payments_are_throttled, card_attempts_are_throttled);

/// Card testing spread over many accounts from one address: the address's limit holds
/// whatever the shoppers, under twelve payments at once, and across a restart.
async fn card_attempts_per_address(backend: Backend) {
    let server = Server::start_with(backend, |c| c.card_attempts_per_address_per_hour = 4).await;
    long_checkouts(&server).await;
    let mut ready = Vec::new();
    for i in 0..13 {
        let shopper = server.shopper(&format!("mule-{i}")).await;
        let (id, digest) = shopper.ready_to_pay().await;
        // Tokenized before any payment (a token is the provider's, not a payment).
        let token = shopper.token_for(test_cards::DECLINE, "card").await;
        ready.push((shopper, id, digest, token));
    }
    let answers = join_all(
        ready[..12]
            .iter()
            .map(|(shopper, id, digest, token)| shopper.pay_with_token(id, digest, token, "card")),
    )
    .await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 402).count(),
        4,
        "four reach the provider: {statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 429).count(),
        8,
        "{statuses:?}"
    );
    let refused = answers.iter().find(|r| r.status == 429).unwrap();
    assert!(
        refused.str("detail").contains("your network"),
        "{}",
        refused.body
    );
    let mut sent = 0;
    for (_, id, _, _) in &ready {
        sent += server.provider.payments(id).await.len();
    }
    assert_eq!(sent, 4, "payments the provider saw");
    // After a restart, a fresh account from the same address is still refused.
    let server = server.restart(|_| {}).await;
    let (shopper, id, digest, token) = &ready[12];
    let r = shopper.pay_with_token(id, digest, token, "card").await;
    r.assert_problem("RATE_LIMITED", 429);
    assert!((1..=3600).contains(&retry_after(&r)), "{:?}", r.headers);
    // Refused attempts counted nothing: the hour after the first, one pays again.
    server.advance(3_601).await;
    let r = shopper.pay_with_token(id, digest, token, "card").await;
    r.assert_problem("PAYMENT_DECLINED", 402);
    server.stop().await;
}
on_both_backends!(
    card_payments_are_throttled_per_address_across_restarts,
    card_attempts_per_address
);

/// A limit of 0 lets nothing through, not even a first payment.
async fn no_card_attempts(backend: Backend) {
    let server = Server::start_with(backend, |c| c.card_attempts_per_address_per_hour = 0).await;
    let mallory = server.shopper("mallory").await;
    let (id, digest) = mallory.ready_to_pay().await;
    let r = mallory
        .pay(&id, &digest, test_cards::APPROVE, "first")
        .await;
    r.assert_problem("RATE_LIMITED", 429);
    assert!(server.provider.payments(&id).await.is_empty());
    server.stop().await;
}
on_both_backends!(
    a_card_limit_of_zero_lets_no_payment_through,
    no_card_attempts
);
