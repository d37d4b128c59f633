//! Pay-and-submit with the simulated provider (its own process): every outcome of the
//! first round's cards, never two charges for one session, never a charge without an
//! order once reconciled.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{test_cards, Backend, Server, Shopper};
use reqwest::Method;
use serde_json::json;

/// The provider's payments for the session: their statuses, oldest first.
async fn charges(server: &Server, session_id: &str) -> Vec<String> {
    let mut payments = server.provider.payments(session_id).await;
    payments.sort_by_key(|p| p["id"].as_str().unwrap_or_default().to_owned());
    payments
        .iter()
        .map(|p| p["status"].as_str().unwrap().to_owned())
        .collect()
}

async fn approved(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let (id, digest) = alice.ready_to_pay().await;
    let paid = alice.pay(&id, &digest, test_cards::APPROVE, "pay-1").await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    assert_eq!(paid.body["status"], "PAID");
    assert!(paid.str("payment_reference").starts_with("pi_sim_"));
    let s = alice.session(&id).await;
    assert_eq!(
        (s["status"].as_str(), s["reason"].as_str()),
        (Some("COMPLETED"), Some("PAID"))
    );
    assert_eq!(charges(&server, &id).await, ["succeeded"]);
    let again = alice.pay(&id, &digest, test_cards::APPROVE, "pay-1").await;
    assert!(again.replayed() && again.status == 201);
    alice
        .pay(&id, &digest, test_cards::APPROVE, "pay-2")
        .await
        .assert_problem("CHECKOUT_COMPLETED", 409);
    assert_eq!(
        charges(&server, &id).await,
        ["succeeded"],
        "still one charge"
    );
    let names = server.transitions(&id).await;
    assert!(
        names.ends_with(&["BeginPayment".to_owned(), "CompletePayment".to_owned()]),
        "{names:?}"
    );
    server.stop().await;
}
on_both_backends!(an_approved_payment_makes_one_paid_order, approved);

async fn declined(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let s = alice.checkout().await;
    let id = s["id"].as_str().unwrap();
    // A payment method must be chosen, and a card given.
    alice
        .pay(id, s["digest"].as_str().unwrap(), test_cards::APPROVE, "x")
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    let digest = alice
        .select(id, "payment-method", "card")
        .await
        .str("digest");
    alice
        .send(
            Method::POST,
            &format!("/checkouts/{id}/pay"),
            Some(json!({"snapshot_digest": digest})),
            &[("Idempotency-Key", "nocard")],
        )
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    let no = alice.pay(id, &digest, test_cards::DECLINE, "d").await;
    no.assert_problem("PAYMENT_DECLINED", 402);
    assert_eq!(
        alice.session(id).await["status"],
        "ACTIVE",
        "a decline returns the session to ACTIVE"
    );
    let yes = alice.pay(id, &digest, test_cards::APPROVE, "a").await;
    assert_eq!(yes.status, 201, "{}", yes.body);
    assert_eq!(charges(&server, id).await, ["failed", "succeeded"]);
    server.stop().await;
}
on_both_backends!(a_declined_payment_returns_the_session_to_active, declined);

async fn paying_blocks_other_tabs(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let (id, digest) = alice.ready_to_pay().await;
    // Another device of the same shopper.
    let phone = Shopper::sign_in(&server.base, "alice").await;
    phone.add("CAKE-RED", 1).await;
    let paying = {
        let (alice, id, digest) = (alice.clone(), id.clone(), digest.clone());
        tokio::spawn(async move { alice.pay(&id, &digest, test_cards::SLOW, "tab-1").await })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(phone.session(&id).await["status"], "PAYMENT_PENDING");
    // Starting checkout elsewhere is refused and leaves the paying session alone.
    let blocked = phone.initiate().await;
    blocked.assert_problem("PAYMENT_IN_PROGRESS", 409);
    assert_eq!(phone.session(&id).await["status"], "PAYMENT_PENDING");
    let done = paying.await.unwrap();
    assert_eq!(done.status, 201, "the payment completes: {}", done.body);
    assert_eq!(alice.session(&id).await["reason"], "PAID");
    // Afterwards a new checkout starts normally.
    assert_eq!(phone.initiate().await.status, 201);
    server.stop().await;
}
on_both_backends!(
    a_payment_in_flight_is_never_invalidated_by_another_tab,
    paying_blocks_other_tabs
);

async fn gateway_timeout(backend: Backend) {
    let server = Server::start_with(backend, |c| {
        c.gateway_timeout_ms = 300;
        c.reconcile_after_secs = 1;
    })
    .await;
    let alice = server.shopper("alice").await;
    let (id, digest) = alice.ready_to_pay().await;
    let first = alice.pay(&id, &digest, test_cards::TIMEOUT, "t").await;
    first.assert_problem("PAYMENT_IN_PROGRESS", 409);
    assert_eq!(alice.session(&id).await["status"], "PAYMENT_PENDING");
    alice
        .pay(&id, &digest, test_cards::TIMEOUT, "t")
        .await
        .assert_problem("REQUEST_IN_PROGRESS", 409);
    // Reconciliation finds no payment at the provider and frees the session.
    alice.wait_for_status(&id, "ACTIVE").await;
    let answer = alice.pay(&id, &digest, test_cards::TIMEOUT, "t").await;
    answer.assert_problem("PAYMENT_DECLINED", 402);
    assert!(answer.replayed());
    assert!(charges(&server, &id).await.is_empty());
    server.stop().await;
}
on_both_backends!(
    a_silent_gateway_is_reconciled_without_a_charge,
    gateway_timeout
);

async fn lost_answer(backend: Backend) {
    // No webhook: reconciliation alone finds the charge.
    let server = Server::start_with_provider(backend, &["--webhook-attempts", "1"], |c| {
        c.reconcile_after_secs = 1;
        c.payment_webhook_secrets = vec!["not-the-providers-secret".into()];
    })
    .await;
    let alice = server.shopper("alice").await;
    let (id, digest) = alice.ready_to_pay().await;
    alice
        .pay(&id, &digest, test_cards::LOST_ANSWER, "lost")
        .await
        .assert_problem("PAYMENT_IN_PROGRESS", 409);
    let s = alice.wait_for_status(&id, "COMPLETED").await;
    assert_eq!(s["reason"], "PAID");
    let order_id = s["order_id"].as_str().unwrap().to_owned();
    // The retry with the same key gets the order, not a second charge.
    let retry = alice
        .pay(&id, &digest, test_cards::LOST_ANSWER, "lost")
        .await;
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert!(retry.replayed());
    assert_eq!(retry.str("id"), order_id);
    assert_eq!(charges(&server, &id).await, ["succeeded"]);
    let order = alice.get(&format!("/orders/{order_id}")).await;
    assert_eq!(order.body["status"], "PAID");
    server.stop().await;
}
on_both_backends!(
    a_charge_whose_answer_was_lost_becomes_one_order,
    lost_answer
);

/// `kill -9` between charging and answering, then a restart: exactly one charge and one
/// order after reconciliation.
#[test]
fn a_server_killed_between_charge_and_answer_settles_to_one_order() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let provider = common::Provider::spawn(&[]);
    let args = [
        "--reconcile-after-secs",
        "1",
        "--sweep-every-ms",
        "200",
        "--payment-provider-url",
        &provider.base,
    ];
    let first = common::Process::spawn(dir.path(), &args);
    runtime.block_on(provider.send_webhooks_to(&first.base));
    let client = Server::client();
    let alice = runtime.block_on(Shopper::sign_up(&client, &first.base, "alice"));
    let (id, digest) = runtime.block_on(alice.ready_to_pay());
    let token = runtime.block_on(alice.token_for(test_cards::SLOW, "k9"));
    // The slow card charges at once and answers two seconds later: kill in between.
    let paying = {
        let (alice, id, digest) = (alice.clone(), id.clone(), digest.clone());
        runtime.spawn(async move {
            // The raw request: its connection dies with the server, which is the point.
            alice
                .client
                .post(format!("{}/api/v1/checkouts/{id}/pay", alice.base))
                .header("Idempotency-Key", "k9")
                .json(&json!({"snapshot_digest": digest, "payment_token": token}))
                .send()
                .await
                .map(|r| r.status().as_u16())
        })
    };
    std::thread::sleep(Duration::from_millis(700));
    first.kill();
    let lost = runtime.block_on(paying).unwrap();
    assert!(lost.is_err(), "no answer can have arrived: {lost:?}");

    let second = common::Process::spawn(dir.path(), &args);
    let alice = second.shopper(&client, "alice");
    runtime.block_on(async {
        // The provider's webhook (retried while the server was down) or reconciliation,
        // whichever comes first, settles it.
        provider.send_webhooks_to(&second.base).await;
        let s = alice.wait_for_status(&id, "COMPLETED").await;
        assert_eq!(s["reason"], "PAID");
        let retry = alice.pay(&id, &digest, test_cards::SLOW, "k9").await;
        assert_eq!(retry.status, 201, "{}", retry.body);
        assert!(retry.replayed());
        let db = checkout_server::db::Db::connect(None, dir.path(), 2)
            .await
            .unwrap();
        let (charged, refunded) = provider.charges(&id).await;
        assert_eq!(refunded, 0);
        let orders = common::count(
            &db,
            "SELECT COUNT(*) AS n FROM orders WHERE session_id = $1",
            &[&id],
        )
        .await;
        db.close().await;
        assert_eq!((charged, orders), (1, 1));
    });
    assert!(second.terminate().success(), "clean shutdown on SIGTERM");
}
