//! Payments as real providers behave (CONTRACT §13), against the simulated provider as
//! its own process and its signed webhooks over real HTTP: every order of {in-request
//! answer, webhook, reconciliation}, each once and twice; webhook signatures and
//! replays; `processing` answers, out-of-order and lasting; late charges refunded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{test_cards, Backend, Server, Shopper, TEST_WEBHOOK_SECRET};
use reqwest::Method;
use serde_json::{json, Value};

async fn events_of(server: &Server, id: &str, kind: &str) -> i64 {
    common::count(
        server.db(),
        "SELECT COUNT(*) AS n FROM outbox_events WHERE checkout_id = $1 AND type = $2",
        &[id, kind],
    )
    .await
}

/// Webhooks from the provider go nowhere (a shop unreachable from it).
async fn drop_webhooks(server: &Server) {
    let url = json!({"url": "http://127.0.0.1:9/x"});
    let r = server
        .provider
        .call(Method::PUT, "/v1/webhook_endpoint", Some(url))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn reconcile_now(server: &Server) {
    let r = server
        .admin(Method::POST, "/admin/payments/reconcile", Some(json!({})))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The value of a metric line starting with `prefix`, or 0.
async fn metric(server: &Server, prefix: &str) -> f64 {
    let text = server.metrics_page().await;
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Answer,
    Webhook,
    Reconcile,
}

fn orders() -> Vec<[Step; 3]> {
    use Step::{Answer as A, Reconcile as R, Webhook as W};
    vec![
        [A, W, R],
        [A, R, W],
        [W, A, R],
        [W, R, A],
        [R, A, W],
        [R, W, A],
    ]
}

async fn every_order(backend: Backend) {
    let server = Server::start(backend).await;
    for (n, order) in orders().into_iter().enumerate() {
        for times in [1u32, 2] {
            let alice = server.shopper(&format!("shopper-{n}-{times}")).await;
            let (id, digest) = alice.ready_to_pay().await;
            // Charged at once; its answer is held and its webhooks wait for the test.
            let token = alice.tokenize(test_cards::APPROVE, true).await;
            let paying = {
                let (alice, id, digest, token) =
                    (alice.clone(), id.clone(), digest.clone(), token.clone());
                tokio::spawn(async move { alice.pay_with_token(&id, &digest, &token, "key").await })
            };
            let payment = server.provider.wait_for_payment(&id).await;
            let pid = payment["id"].as_str().unwrap().to_owned();
            let mut answer: Option<common::Resp> = None;
            let mut paying = Some(paying);
            for step in order {
                for round in 0..times {
                    match step {
                        Step::Answer if round == 0 => {
                            server.provider.release(&pid).await;
                            let first = paying.take().unwrap().await.unwrap();
                            assert_eq!(first.status, 201, "{order:?} x{times}: {}", first.body);
                            answer = Some(first);
                        }
                        Step::Answer => {
                            let again = alice.pay_with_token(&id, &digest, &token, "key").await;
                            assert_eq!(again.status, 201, "{}", again.body);
                            assert!(again.replayed());
                        }
                        Step::Webhook => {
                            let statuses = server.provider.resend(&pid, 1).await;
                            assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
                        }
                        Step::Reconcile => reconcile_now(&server).await,
                    }
                }
            }
            let s = alice.session(&id).await;
            assert_eq!(
                (s["status"].as_str(), s["reason"].as_str()),
                (Some("COMPLETED"), Some("PAID"))
            );
            let answer = answer.unwrap();
            assert_eq!(
                answer.str("id"),
                s["order_id"].as_str().unwrap(),
                "{order:?}"
            );
            assert_eq!(answer.str("payment_reference"), pid);
            assert_eq!(server.orders_of(&id).await, 1, "{order:?} x{times}");
            assert_eq!(
                server.provider.charges(&id).await,
                (1, 0),
                "{order:?} x{times}"
            );
            assert_eq!(events_of(&server, &id, "order.paid").await, 1);
            assert_eq!(events_of(&server, &id, "payment.refunded").await, 0);
        }
    }
    server.stop().await;
}
on_both_backends!(
    answer_webhook_and_reconciliation_in_every_order_and_twice_make_one_order_and_one_charge,
    every_order
);

fn signed(body: &str, secret: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    checkout_core::signature::sign(secret.as_bytes(), body.as_bytes(), at)
}

async fn post_webhook(server: &Server, body: &str, signature: Option<String>) -> common::Resp {
    let mut request = Server::client()
        .post(format!("{}/api/v1/payments/webhook", server.base))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("Checkout-Signature", signature);
    }
    common::read(request.send().await.unwrap()).await
}

async fn webhook_signatures(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let (id, digest) = alice.ready_to_pay().await;
    // Processing: only a webhook can complete it.
    let r = alice.pay(&id, &digest, test_cards::LASTING, "p").await;
    r.assert_problem("PAYMENT_IN_PROGRESS", 409);
    let payment = server.provider.wait_for_payment(&id).await;
    let mut forged = payment.clone();
    forged["status"] = json!("succeeded");
    let body = json!({"id": "evt_forged", "type": "payment.succeeded", "created": 0,
        "data": {"payment": forged}})
    .to_string();
    let now = chrono::Utc::now();
    let bad = [
        None,
        Some(signed(&body, "whsec_someone_elses_secret", now)),
        Some(signed(
            &body,
            TEST_WEBHOOK_SECRET,
            now - chrono::Duration::seconds(301),
        )),
        Some(signed(
            &body.replace("evt_forged", "evt_forgex"),
            TEST_WEBHOOK_SECRET,
            now,
        )),
        Some("t=1,v1=zz".to_owned()),
    ];
    let before = metric(
        &server,
        "checkout_payment_webhooks_total{name=\"bad_signature\"}",
    )
    .await;
    for signature in bad {
        post_webhook(&server, &body, signature)
            .await
            .assert_problem("FORBIDDEN", 403);
    }
    let after = metric(
        &server,
        "checkout_payment_webhooks_total{name=\"bad_signature\"}",
    )
    .await;
    // At least: the metrics are the process's, and the other backend's run counts too.
    assert!(
        after - before >= 5.0,
        "each refusal is counted: {}",
        after - before
    );
    assert_eq!(alice.session(&id).await["status"], "PAYMENT_PENDING");
    // Signed but not an event.
    post_webhook(
        &server,
        "[1]",
        Some(signed("[1]", TEST_WEBHOOK_SECRET, now)),
    )
    .await
    .assert_problem("VALIDATION_FAILED", 422);

    // Signed properly but untrue (the provider still processes): taken as a hint, looked
    // up, and nothing changes; the same delivery again is acknowledged only.
    let good = post_webhook(
        &server,
        &body,
        Some(signed(&body, TEST_WEBHOOK_SECRET, now)),
    )
    .await;
    assert_eq!(good.status, 200, "{}", good.body);
    assert_eq!(good.body["duplicate"], false);
    assert_eq!(alice.session(&id).await["status"], "PAYMENT_PENDING");
    let replay = post_webhook(
        &server,
        &body,
        Some(signed(&body, TEST_WEBHOOK_SECRET, now)),
    )
    .await;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.body["duplicate"], true);
    assert!(
        metric(
            &server,
            "checkout_payment_webhooks_total{name=\"duplicate\"}"
        )
        .await
            >= 1.0
    );
    forged_but_signed(&server, &payment).await;
    assert_eq!(alice.session(&id).await["status"], "PAYMENT_PENDING");
    // The provider's own webhook, when it succeeds, makes the one order with its id.
    let s = alice.wait_for_status(&id, "COMPLETED").await;
    let order = alice
        .get(&format!("/orders/{}", s["order_id"].as_str().unwrap()))
        .await;
    assert_eq!(order.body["payment_reference"], payment["id"]);
    assert_eq!(server.orders_of(&id).await, 1);
    assert_eq!(server.provider.charges(&id).await, (1, 0));
    let refunds = server
        .admin(Method::GET, "/admin/payments/refunds", None)
        .await;
    assert_eq!(refunds.body, json!([]), "nothing refunded");
    server.stop().await;
}

/// Events signed with the right secret but naming what the provider does not say: no
/// checkout id, another shopper's, another payment id, another amount, a key this shop
/// never made. Each is looked up by its key and changes nothing.
async fn forged_but_signed(server: &Server, payment: &Value) {
    let bob = server.shopper("bob").await;
    let (bobs, _) = bob.ready_to_pay().await;
    let mut variants = Vec::new();
    for (field, value) in [
        ("checkout_id", Value::Null),
        ("checkout_id", json!(bobs)),
        ("id", json!("pi_bogus_1")),
        ("amount", json!(1)),
        ("idempotency_key", json!("pay_never_made")),
    ] {
        let mut claimed = payment.clone();
        claimed["status"] = json!("succeeded");
        claimed[field] = value;
        variants.push(claimed);
    }
    let before = metric(
        server,
        "checkout_payment_webhooks_total{name=\"unknown_payment\"}",
    )
    .await;
    for (n, claimed) in variants.into_iter().enumerate() {
        let body = json!({"id": format!("evt_forged_{n}"), "type": "payment.succeeded",
            "created": 0, "data": {"payment": claimed}})
        .to_string();
        let signature = signed(&body, TEST_WEBHOOK_SECRET, chrono::Utc::now());
        let r = post_webhook(server, &body, Some(signature)).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let after = metric(
        server,
        "checkout_payment_webhooks_total{name=\"unknown_payment\"}",
    )
    .await;
    assert!(after - before >= 1.0, "the unknown key is counted");
    assert_eq!(bob.session(&bobs).await["status"], "ACTIVE");
    assert_eq!(server.orders_of(&bobs).await, 0);
}
on_both_backends!(
    webhooks_unsigned_wrongly_signed_stale_or_altered_are_refused_and_replays_ignored,
    webhook_signatures
);

async fn processing(backend: Backend) {
    let server = Server::start(backend).await;
    for card in [
        test_cards::WEBHOOK_ONLY,
        test_cards::OUT_OF_ORDER,
        test_cards::WEBHOOK_TWICE,
    ] {
        let alice = server.shopper(&format!("s{}", &card[12..])).await;
        let (id, digest) = alice.ready_to_pay().await;
        let first = alice.pay(&id, &digest, card, "k").await;
        if card == test_cards::WEBHOOK_TWICE {
            assert_eq!(first.status, 201, "{}", first.body);
        } else {
            first.assert_problem("PAYMENT_IN_PROGRESS", 409);
            assert_eq!(alice.session(&id).await["status"], "PAYMENT_PENDING");
        }
        let s = alice.wait_for_status(&id, "COMPLETED").await;
        assert_eq!(s["reason"], "PAID");
        // Let the late (reordered or repeated) webhooks arrive, then check nothing moved.
        tokio::time::sleep(Duration::from_millis(600)).await;
        let retry = alice.pay(&id, &digest, card, "k").await;
        assert_eq!(retry.status, 201, "{}", retry.body);
        assert_eq!(retry.str("id"), s["order_id"].as_str().unwrap());
        assert_eq!(alice.session(&id).await["reason"], "PAID");
        assert_eq!(server.orders_of(&id).await, 1);
        assert_eq!(server.provider.charges(&id).await, (1, 0), "{card}");
    }
    server.stop().await;
}
on_both_backends!(
    webhook_only_out_of_order_and_repeated_webhooks_make_one_order,
    processing
);

async fn lasting(backend: Backend) {
    let server = Server::start_with_provider(backend, &["--lasting-ms", "6000"], |c| {
        c.reconcile_after_secs = 1;
        c.sweep_every_ms = 100;
        c.session_retention_secs = 60;
    })
    .await;
    let alice = server.shopper("alice").await;
    let (id, digest) = alice.ready_to_pay().await;
    alice
        .pay(&id, &digest, test_cards::LASTING, "k")
        .await
        .assert_problem("PAYMENT_IN_PROGRESS", 409);
    // Past the purchase window, the retention and the keys' 24 hours: a checkout
    // holding money waits.
    server.advance(2 * 24 * 3600).await;
    reconcile_now(&server).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(alice.session(&id).await["status"], "PAYMENT_PENDING");
    let s = alice.wait_for_status(&id, "COMPLETED").await;
    assert_eq!(s["reason"], "PAID");
    assert_eq!(server.provider.charges(&id).await, (1, 0));
    server.stop().await;
}
on_both_backends!(
    a_lasting_processing_payment_is_never_expired_or_purged,
    lasting
);

/// The late card: the request is held up on the way, so reconciliation finds nothing and
/// frees the checkout; the charge arrives later.
async fn late_charge(backend: Backend) {
    let server = Server::start_with(backend, |c| c.gateway_timeout_ms = 300).await;
    for then in ["superseded", "paid"] {
        let alice = server.shopper(&format!("late-{then}")).await;
        let (id, digest) = alice.ready_to_pay().await;
        alice
            .pay(&id, &digest, test_cards::LATE, "late")
            .await
            .assert_problem("PAYMENT_IN_PROGRESS", 409);
        reconcile_now(&server).await;
        assert_eq!(alice.session(&id).await["status"], "ACTIVE");
        let reason = if then == "superseded" {
            alice.add("CAKE-RED", 1).await;
            assert_eq!(alice.initiate().await.status, 201);
            "checkout_superseded"
        } else {
            let paid = alice.pay(&id, &digest, test_cards::APPROVE, "again").await;
            assert_eq!(paid.status, 201, "{}", paid.body);
            "already_completed"
        };
        // The late charge lands (about 3 s after the request) and is given back.
        let refunds = server.refunds_once_refunded(&id).await;
        assert_eq!(
            refunds.as_array().map(Vec::len),
            Some(1),
            "{then}: {refunds}"
        );
        assert_eq!(refunds[0]["reason"], reason);
        let late = server.provider.payments(&id).await;
        let late_one: Vec<&Value> = late
            .iter()
            .filter(|p| p["refunds"].as_array().is_some_and(|r| !r.is_empty()))
            .collect();
        assert_eq!(late_one.len(), 1, "{late:?}");
        assert_eq!(late_one[0]["id"], refunds[0]["payment_id"]);
        // Its webhook again, twice: still one refund, one event.
        let pid = late_one[0]["id"].as_str().unwrap();
        server.provider.resend(pid, 2).await;
        reconcile_now(&server).await;
        assert_eq!(events_of(&server, &id, "payment.refunded").await, 1);
        let expected_orders = i64::from(then == "paid");
        assert_eq!(server.orders_of(&id).await, expected_orders);
        let (charged, refunded) = server.provider.charges(&id).await;
        assert_eq!(
            (charged - refunded) as i64,
            expected_orders,
            "money kept = orders"
        );
    }
    server.stop().await;
}
on_both_backends!(
    a_late_charge_on_a_superseded_or_paid_checkout_is_refunded_once,
    late_charge
);

async fn no_card_numbers(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let (id, digest) = alice.ready_to_pay().await;
    for body in [
        json!({"snapshot_digest": digest, "payment_token": "4242 4242 4242 4242"}),
        json!({"snapshot_digest": digest, "payment_token": "4242424242424242"}),
        json!({"snapshot_digest": digest, "card_number": "4242424242424242"}),
    ] {
        let r = alice
            .send(
                Method::POST,
                &format!("/checkouts/{id}/pay"),
                Some(body),
                &[("Idempotency-Key", "c")],
            )
            .await;
        r.assert_problem("VALIDATION_FAILED", 422);
        assert!(!r.body.to_string().contains("4242"), "{}", r.body);
    }
    // A token the provider never issued: declined, nothing charged, the checkout free.
    let r = alice.pay_with_token(&id, &digest, "tok_made_up", "m").await;
    r.assert_problem("PAYMENT_DECLINED", 402);
    assert_eq!(alice.session(&id).await["status"], "ACTIVE");
    // A token is single use: another checkout cannot spend it again.
    let token = alice.tokenize(test_cards::APPROVE, false).await;
    let paid = alice.pay_with_token(&id, &digest, &token, "t1").await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    let bob = server.shopper("bob").await;
    let (bid, bdigest) = bob.ready_to_pay().await;
    bob.pay_with_token(&bid, &bdigest, &token, "t2")
        .await
        .assert_problem("PAYMENT_DECLINED", 402);
    // The storefront's policy lets pages reach the provider's tokenization only.
    let page = Server::client()
        .get(format!("{}/checkout/", server.base))
        .send()
        .await
        .unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains(&format!("connect-src 'self' {}", server.provider.base)),
        "{csp}"
    );
    server.stop().await;
}
on_both_backends!(the_server_takes_tokens_never_card_numbers, no_card_numbers);

/// A server process logging at `debug`, paid with a card three ways: the card number as
/// the token, the card number in a field of its own, and properly tokenized. No line of
/// its log, and no answer, carries the number.
#[test]
fn no_card_number_reaches_the_server_log() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = common::Process::spawn_logging(dir.path(), &[], "debug,sqlx=debug");
    let client = Server::client();
    runtime.block_on(async {
        let alice = Shopper::sign_up(&client, &server.base, "alice").await;
        let (id, digest) = alice.ready_to_pay().await;
        for (key, body) in [
            (
                "a",
                json!({"snapshot_digest": digest, "payment_token": test_cards::APPROVE}),
            ),
            (
                "b",
                json!({"snapshot_digest": digest, "card_number": test_cards::APPROVE}),
            ),
        ] {
            let r = alice
                .send(
                    Method::POST,
                    &format!("/checkouts/{id}/pay"),
                    Some(body),
                    &[("Idempotency-Key", key)],
                )
                .await;
            r.assert_problem("VALIDATION_FAILED", 422);
        }
        // A card number as a JSON number, as a method id, as a request id, in the
        // address: refused or answered without it, and never logged.
        let number: Value = serde_json::from_str("4000056655665556").unwrap();
        let r = alice
            .send(
                Method::POST,
                &format!("/checkouts/{id}/pay"),
                Some(json!({"snapshot_digest": digest, "payment_token": number})),
                &[
                    ("Idempotency-Key", "n"),
                    ("x-request-id", "4000056655665556"),
                ],
            )
            .await;
        r.assert_problem("VALIDATION_FAILED", 422);
        assert!(
            !r.body.to_string().contains("4000056655665556"),
            "{}",
            r.body
        );
        assert_ne!(r.headers["x-request-id"], "4000056655665556");
        let r = alice
            .select(&id, "shipping-method", "4000 0566 5566 5556")
            .await;
        assert!(!r.body.to_string().contains("5566 5556"), "{}", r.body);
        let r = alice
            .get("/checkouts/4000056655665556?card=4000-0566-5566-5556")
            .await;
        assert!(!r.body.to_string().contains("5566"), "{}", r.body);
        // Negative, glued, grouped by dots or underscores, percent-encoded.
        for method in [
            "-4242424242424242",
            "x4242424242424242",
            "4242.4242.4242.4242",
            "4242_4242_4242_4242",
        ] {
            let r = alice.select(&id, "shipping-method", method).await;
            let body = r.body.to_string();
            for card in ["4242424", "4242.4242", "4242_4242"] {
                assert!(!body.contains(card), "{body}");
            }
        }
        let negative: Value = serde_json::from_str("-4242424242424242").unwrap();
        let r = alice
            .send(
                Method::POST,
                &format!("/checkouts/{id}/pay"),
                Some(json!({"snapshot_digest": digest, "payment_token": negative})),
                &[
                    ("Idempotency-Key", "m"),
                    ("x-request-id", "req-4242-4242-4242-4242"),
                ],
            )
            .await;
        r.assert_problem("VALIDATION_FAILED", 422);
        assert!(!r.body.to_string().contains("4242424"), "{}", r.body);
        assert_ne!(r.headers["x-request-id"], "req-4242-4242-4242-4242");
        alice
            .pay_with_token(&id, &digest, "4242_4242_4242_4242", "u")
            .await
            .assert_problem("VALIDATION_FAILED", 422);
        alice
            .get("/checkouts/%34%32%34%32%34%32%34%32%34%32%34%32%34%32%34%32")
            .await;
        // A query's values (a recovery token, an email) are never logged.
        alice
            .get("/products?token=cgl1.SECRET-TOKEN-VALUE&email=alice.secret%40example.org")
            .await;
        let paid = alice.pay(&id, &digest, test_cards::APPROVE, "c").await;
        assert_eq!(paid.status, 201, "{}", paid.body);
        assert!(!paid.body.to_string().contains(test_cards::APPROVE));
    });
    std::thread::sleep(Duration::from_millis(300));
    let log = server.log.lock().unwrap().clone();
    assert!(
        log.len() > 10,
        "the debug log was read: {} lines",
        log.len()
    );
    let leaked: Vec<&String> = log
        .iter()
        .filter(|l| {
            [
                "424242424242",
                "4000056655665556",
                "0566 5566",
                "0566-5566",
                "4242-4242",
                "4242.4242",
                "4242_4242",
                "%34%32%34%32",
                "SECRET-TOKEN-VALUE",
                "alice.secret",
            ]
            .iter()
            .any(|card| l.contains(card))
        })
        .collect();
    assert!(leaked.is_empty(), "card number in the log: {leaked:?}");
}

/// A late charge someone already refunded at the provider (a merchant's dashboard): the
/// shop's refund is refused, which is final — recorded `failed` with the provider's
/// reason, counted, and not retried.
async fn refused_refund(backend: Backend) {
    // No sweeps: the test reconciles when it chooses (the late-charge watch would find
    // the charge by itself otherwise).
    let server = Server::start_with(backend, |c| {
        c.gateway_timeout_ms = 300;
        c.sweep_every_ms = 3_600_000;
    })
    .await;
    let alice = server.shopper("alice").await;
    let (id, digest) = alice.ready_to_pay().await;
    drop_webhooks(&server).await;
    alice
        .pay(&id, &digest, test_cards::LATE, "late")
        .await
        .assert_problem("PAYMENT_IN_PROGRESS", 409);
    reconcile_now(&server).await;
    assert_eq!(alice.session(&id).await["status"], "ACTIVE");
    let mut charged = Value::Null;
    for _ in 0..100 {
        if let Some(p) = server
            .provider
            .payments(&id)
            .await
            .into_iter()
            .find(|p| p["charged"] == true)
        {
            charged = p;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = charged["id"].as_str().expect("the late charge").to_owned();
    let r = server
        .provider
        .call(
            Method::POST,
            "/v1/refunds",
            Some(json!({"payment": pid, "reason": "dashboard"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    server.provider.send_webhooks_to(&server.base).await;
    let statuses = server.provider.resend(&pid, 1).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let refunds = server
        .admin(
            Method::GET,
            &format!("/admin/payments/refunds?checkout_id={id}"),
            None,
        )
        .await;
    assert_eq!(refunds.body[0]["state"], "failed", "{}", refunds.body);
    assert!(refunds.body[0]["last_error"]
        .as_str()
        .unwrap()
        .contains("charge_not_refundable"));
    assert_eq!(refunds.body[0]["attempts"], 1);
    assert!(metric(&server, "checkout_payments_total{name=\"refund_failed\"}").await >= 1.0);
    reconcile_now(&server).await;
    let again = server
        .admin(
            Method::GET,
            &format!("/admin/payments/refunds?checkout_id={id}"),
            None,
        )
        .await;
    assert_eq!(
        again.body[0]["attempts"], 1,
        "a refused refund is not retried"
    );
    assert_eq!(server.provider.charges(&id).await, (1, 1));
    server.stop().await;
}
on_both_backends!(
    a_refund_the_provider_refuses_is_failed_once_not_retried,
    refused_refund
);

/// The late card with every webhook lost: reconciliation frees the checkout, the charge
/// lands seconds later, and the shop's own watch over payments released as unknown
/// finds it and refunds it — no webhook needed.
async fn late_charge_without_webhook(backend: Backend) {
    let server = Server::start_with(backend, |c| c.gateway_timeout_ms = 300).await;
    let alice = server.shopper("alice").await;
    let (id, digest) = alice.ready_to_pay().await;
    drop_webhooks(&server).await;
    alice
        .pay(&id, &digest, test_cards::LATE, "late")
        .await
        .assert_problem("PAYMENT_IN_PROGRESS", 409);
    reconcile_now(&server).await;
    let freed = alice.pay(&id, &digest, test_cards::LATE, "late").await;
    freed.assert_problem("PAYMENT_DECLINED", 402);
    assert!(freed.str("detail").contains("no record"), "{}", freed.body);
    let refunds = server.refunds_once_refunded(&id).await;
    assert_eq!(refunds[0]["reason"], "no_longer_paying", "{refunds}");
    assert_eq!(
        server.provider.charges(&id).await,
        (1, 1),
        "the late charge was given back"
    );
    assert_eq!(server.orders_of(&id).await, 0);
    assert_eq!(alice.session(&id).await["status"], "ACTIVE");
    server.stop().await;
}
on_both_backends!(
    a_late_charge_whose_webhook_never_comes_is_found_and_refunded,
    late_charge_without_webhook
);

/// The provider goes down while a payment waits for its answer (it refuses every
/// connection from then on): once `--reconcile-after-secs` has passed, the sweeper
/// releases the checkout by itself, and the shopper pays by invoice instead — they
/// are not held up until the provider returns.
async fn provider_down(backend: Backend) {
    let mut server = Server::start_with(backend, |c| {
        c.gateway_timeout_ms = 300;
        c.reconcile_after_secs = 2;
    })
    .await;
    let alice = server.shopper("alice").await;
    let (id, digest) = alice.ready_to_pay().await;
    alice
        .pay(&id, &digest, test_cards::LATE, "card")
        .await
        .assert_problem("PAYMENT_IN_PROGRESS", 409);
    let _ = server.provider.child.kill();
    let _ = server.provider.child.wait();
    let waited = std::time::Instant::now();
    assert_eq!(alice.session(&id).await["status"], "PAYMENT_PENDING");
    alice.wait_for_status(&id, "ACTIVE").await;
    let took = waited.elapsed();
    assert!(
        took < Duration::from_secs(8),
        "released {took:?} after the provider went down (bound 2 s, sweep 0.2 s)"
    );
    let again = alice.pay(&id, &digest, test_cards::LATE, "card").await;
    again.assert_problem("PAYMENT_DECLINED", 402);
    assert!(
        again.str("detail").contains("cannot be reached"),
        "{}",
        again.body
    );
    let r = alice.select(&id, "payment-method", "invoice").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let placed = alice.place_order(&id, &r.str("digest"), "invoice").await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    assert_eq!(server.orders_of(&id).await, 1);
    // The released payment stays watched for a late charge.
    let watched = common::count(
        server.db(),
        "SELECT COUNT(*) AS n FROM payment_attempts WHERE watch_next_at IS NOT NULL",
        &[],
    )
    .await;
    assert_eq!(watched, 1);
    server.stop().await;
}
on_both_backends!(
    a_provider_refusing_connections_releases_the_checkout_after_the_bound,
    provider_down
);

/// The provider stops answering while a payment waits (SIGSTOP: the kernel still takes
/// connections, nothing answers): each call gives up after `--gateway-timeout-ms`, the
/// checkout is released after `--reconcile-after-secs` as when it refuses connections,
/// and the admin's reconcile answers — nothing waits on the silent provider.
async fn provider_silent(backend: Backend) {
    let server = Server::start_with(backend, |c| {
        c.gateway_timeout_ms = 300;
        c.reconcile_after_secs = 2;
    })
    .await;
    let alice = server.shopper("alice").await;
    let (id, digest) = alice.ready_to_pay().await;
    alice
        .pay(&id, &digest, test_cards::LATE, "card")
        .await
        .assert_problem("PAYMENT_IN_PROGRESS", 409);
    let pid = server.provider.child.id().to_string();
    let signal = |which: &str| {
        let status = std::process::Command::new("kill")
            .args([which, &pid])
            .status()
            .unwrap();
        assert!(status.success());
    };
    signal("-STOP");
    let waited = std::time::Instant::now();
    alice.wait_for_status(&id, "ACTIVE").await;
    let took = waited.elapsed();
    let asked = tokio::time::timeout(Duration::from_secs(5), reconcile_now(&server)).await;
    signal("-CONT");
    assert!(
        took < Duration::from_secs(8),
        "released {took:?} after the provider fell silent (bound 2 s, calls 0.3 s)"
    );
    assert!(
        asked.is_ok(),
        "the admin's reconcile waited on the silent provider"
    );
    let again = alice.pay(&id, &digest, test_cards::LATE, "card").await;
    assert!(
        again.str("detail").contains("cannot be reached"),
        "{}",
        again.body
    );
    server.stop().await;
}
on_both_backends!(
    a_provider_that_never_answers_releases_the_checkout_and_holds_nothing_up,
    provider_silent
);
