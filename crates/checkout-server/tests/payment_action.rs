//! Payments that leave the page (CONTRACT §20): 3-D Secure with the simulated
//! provider's challenge page, over real HTTP, on SQLite and PostgreSQL. The shopper
//! approves, fails or abandons the challenge; comes back once, twice, in another tab,
//! after signing out, or not at all; the webhook comes first or late; the provider is
//! down at the return or at the deadline — one order and one charge (counted at the
//! provider), or none and a release.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{test_cards, Backend, Provider, Resp, Server, Shopper};
use reqwest::Method;
use serde_json::json;

/// Pays with the challenge card `card` under `key`; asserts the `202` with the
/// checkout waiting for the shopper; returns the answer.
async fn pay_with_challenge(
    shopper: &Shopper,
    id: &str,
    digest: &str,
    card: &str,
    key: &str,
) -> Resp {
    let r = shopper.pay(id, digest, card, key).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["status"], "PAYMENT_PENDING", "{}", r.body);
    assert_eq!(r.body["next_action"]["type"], "redirect", "{}", r.body);
    r
}

/// Everything a shopper can do while the challenge is open, then approve in the same
/// tab and come back: the return settles it at once (before the late webhook), a second
/// return and the webhook change nothing, another shopper sees nothing.
async fn approve_and_return(backend: Backend) {
    let server = Server::start_with_provider(backend, &["--late-ms", "2500"], |_| {}).await;
    let alice = server.shopper("alice").await;
    let (id, digest) = alice.ready_to_pay().await;
    let card = test_cards::CHALLENGE_WEBHOOK_LATE;
    let first = pay_with_challenge(&alice, &id, &digest, card, "k1").await;
    let url = first.body["next_action"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        url.starts_with(&format!("{}/challenge/pi_sim_", server.provider.base)),
        "{url}"
    );
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(first.body["next_action"]["expires_at"].clone()).unwrap();
    let now: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(first.body["server_time"].clone()).unwrap();
    let timeout = (expires - now).num_seconds();
    assert!(
        (899..=900).contains(&timeout),
        "the default action timeout: {timeout}"
    );

    // The answer lost and retried, or the checkout read in another tab: the same step.
    let retry = alice.pay(&id, &digest, card, "k1").await;
    assert_eq!(retry.status, 202, "{}", retry.body);
    assert_eq!(retry.body["next_action"]["url"], url.as_str());
    assert_eq!(alice.session(&id).await["next_action"]["url"], url.as_str());
    // A second Pay (a new key, another tab) and a new checkout are refused meanwhile.
    alice
        .pay(&id, &digest, test_cards::APPROVE, "k2")
        .await
        .assert_problem("PAYMENT_IN_PROGRESS", 409);
    alice.add("BRW-FUDGE", 1).await;
    alice
        .initiate()
        .await
        .assert_problem("PAYMENT_IN_PROGRESS", 409);
    // Waiting for the shopper is not an outage: reconciliation leaves it alone.
    server.advance(120).await;
    let r = server
        .admin(Method::POST, "/admin/payments/reconcile", Some(json!({})))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(alice.session(&id).await["status"], "PAYMENT_PENDING");

    let back = server.provider.challenge(&url, "approve").await;
    assert!(
        back.starts_with(&format!("{}/checkout/?id={id}&", server.base)),
        "{back}"
    );
    assert!(back.contains("redirect_status=succeeded"), "{back}");
    let returned = alice.refresh_payment(&id).await;
    assert_eq!(returned.status, 200, "{}", returned.body);
    assert_eq!(returned.body["status"], "COMPLETED", "{}", returned.body);
    assert!(returned.body.get("next_action").is_none());
    // The same return again, another shopper's, and the webhook when it comes.
    assert_eq!(alice.refresh_payment(&id).await.body["status"], "COMPLETED");
    let bob = server.shopper("bob").await;
    bob.refresh_payment(&id)
        .await
        .assert_problem("CHECKOUT_NOT_FOUND", 404);
    bob.cancel_payment(&id)
        .await
        .assert_problem("CHECKOUT_NOT_FOUND", 404);
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let replay = alice.pay(&id, &digest, card, "k1").await;
    assert_eq!(replay.status, 201, "{}", replay.body);
    assert_eq!(server.orders_of(&id).await, 1);
    assert_eq!(server.provider.charges(&id).await, (1, 0));
    server.stop().await;
}
on_both_backends!(
    approved_in_the_same_tab_one_order_one_charge,
    approve_and_return
);

/// The webhook settles it before the shopper returns; the return (twice, with a query
/// claiming anything) only reads what is.
async fn webhook_first(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let (id, digest) = alice.ready_to_pay().await;
    let r = pay_with_challenge(&alice, &id, &digest, test_cards::CHALLENGE, "k").await;
    let url = r.body["next_action"]["url"].as_str().unwrap().to_owned();
    server.provider.challenge(&url, "approve").await;
    let done = alice.wait_for_status(&id, "COMPLETED").await;
    assert_eq!(done["reason"], "PAID");
    let tampered = alice
        .send(
            Method::POST,
            &format!("/checkouts/{id}/payment/refresh?redirect_status=failed&payment_intent=pi_x"),
            None,
            &[],
        )
        .await;
    assert_eq!(tampered.status, 200, "{}", tampered.body);
    assert_eq!(tampered.body["status"], "COMPLETED");
    assert_eq!(server.orders_of(&id).await, 1);
    assert_eq!(server.provider.charges(&id).await, (1, 0));
    server.stop().await;
}
on_both_backends!(the_webhook_before_the_return_one_order, webhook_first);

/// The challenge failed, and a query on the return claiming success changes nothing:
/// the checkout is `ACTIVE` again, told why, and paid with a new key.
async fn fail_then_pay_again(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let (id, digest) = alice.ready_to_pay().await;
    let r = pay_with_challenge(&alice, &id, &digest, test_cards::CHALLENGE, "k1").await;
    let url = r.body["next_action"]["url"].as_str().unwrap().to_owned();
    let back = server.provider.challenge(&url, "fail").await;
    assert!(back.contains("redirect_status=failed"), "{back}");
    let tampered = alice
        .send(
            Method::POST,
            &format!("/checkouts/{id}/payment/refresh?redirect_status=succeeded"),
            None,
            &[],
        )
        .await;
    assert_eq!(tampered.body["status"], "ACTIVE", "{}", tampered.body);
    let told = alice.pay(&id, &digest, test_cards::CHALLENGE, "k1").await;
    told.assert_problem("PAYMENT_DECLINED", 402);
    assert!(
        told.str("detail").contains("your bank did not confirm"),
        "{}",
        told.body
    );
    let paid = alice.pay(&id, &digest, test_cards::APPROVE, "k2").await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    assert_eq!(server.orders_of(&id).await, 1);
    assert_eq!(server.provider.charges(&id).await, (1, 0));
    server.stop().await;
}
on_both_backends!(
    a_failed_challenge_releases_and_the_shopper_pays_again,
    fail_then_pay_again
);

/// Abandoned: the shopper left the bank's page and came back. They cancel the payment
/// and pay again with a new key; the old challenge page can no longer charge.
async fn abandon_cancel_pay_again(backend: Backend) {
    let server = Server::start_with(backend, |c| c.gateway_timeout_ms = 500).await;
    let alice = server.shopper("alice").await;
    let (id, digest) = alice.ready_to_pay().await;
    let r = pay_with_challenge(&alice, &id, &digest, test_cards::CHALLENGE, "k1").await;
    let url = r.body["next_action"]["url"].as_str().unwrap().to_owned();
    // Back without a click: still waiting, the link to the bank still there.
    let back = alice.refresh_payment(&id).await;
    assert_eq!(back.body["status"], "PAYMENT_PENDING");
    assert_eq!(back.body["next_action"]["url"], url.as_str());
    let cancelled = alice.cancel_payment(&id).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "ACTIVE", "{}", cancelled.body);
    // Twice is the same.
    assert_eq!(alice.cancel_payment(&id).await.body["status"], "ACTIVE");
    let told = alice.pay(&id, &digest, test_cards::CHALLENGE, "k1").await;
    told.assert_problem("PAYMENT_DECLINED", 402);
    assert!(
        told.str("detail").contains("nothing was charged"),
        "{}",
        told.body
    );
    // The old page, pressed late, charges nothing.
    let late = Provider::press(&url, "approve").await;
    assert!(late.contains("redirect_status=canceled"), "{late}");
    let again = pay_with_challenge(&alice, &id, &digest, test_cards::CHALLENGE, "k2").await;
    let url2 = again.body["next_action"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(url, url2);
    server.provider.challenge(&url2, "approve").await;
    // At most one lookup a second per checkout: the return right after the last one
    // reads what is; the page's next poll settles it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(alice.refresh_payment(&id).await.body["status"], "COMPLETED");
    assert_eq!(server.orders_of(&id).await, 1);
    assert_eq!(server.provider.charges(&id).await, (1, 0));
    // A payment not waiting for the shopper cannot be cancelled from the page.
    let bob = server.shopper("bob").await;
    let (id2, digest2) = bob.ready_to_pay().await;
    bob.pay(&id2, &digest2, test_cards::TIMEOUT, "s")
        .await
        .assert_problem("PAYMENT_IN_PROGRESS", 409);
    bob.cancel_payment(&id2)
        .await
        .assert_problem("PAYMENT_IN_PROGRESS", 409);
    server.stop().await;
}
on_both_backends!(
    an_abandoned_challenge_is_cancelled_and_paid_again,
    abandon_cancel_pay_again
);

/// Nobody comes back: past `--payment-action-timeout-secs` the payment is cancelled with
/// the provider and the checkout released — `ACTIVE`, or `EXPIRED` when its own time
/// ran out meanwhile (it could not expire while the action was open).
async fn action_timeout(backend: Backend) {
    let server = Server::start_with(backend, |c| c.payment_action_timeout_secs = 60).await;
    for (name, past_expiry) in [("alice", false), ("bob", true)] {
        let shopper = server.shopper(name).await;
        let (id, digest) = shopper.ready_to_pay().await;
        let r = pay_with_challenge(&shopper, &id, &digest, test_cards::CHALLENGE, "k").await;
        let url = r.body["next_action"]["url"].as_str().unwrap().to_owned();
        let expires: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(r.body["expires_at"].clone()).unwrap();
        let now: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(r.body["server_time"].clone()).unwrap();
        let ahead = if past_expiry {
            (expires - now).num_seconds() + 30
        } else {
            30
        };
        server.advance(ahead).await;
        // Still waiting (past the checkout's expiry too: it cannot expire meanwhile).
        tokio::time::sleep(Duration::from_millis(600)).await;
        if ahead < 60 {
            assert_eq!(shopper.session(&id).await["status"], "PAYMENT_PENDING");
            server.advance(31).await;
        }
        let want = if past_expiry { "EXPIRED" } else { "ACTIVE" };
        shopper.wait_for_status(&id, want).await;
        let told = shopper.pay(&id, &digest, test_cards::CHALLENGE, "k").await;
        told.assert_problem("PAYMENT_DECLINED", 402);
        assert!(
            told.str("detail").contains("not finished in time"),
            "{}",
            told.body
        );
        let at_provider = server.provider.payments(&id).await;
        assert_eq!(at_provider[0]["status"], "canceled");
        // The page pressed afterwards charges nothing.
        let late = Provider::press(&url, "approve").await;
        assert!(late.contains("redirect_status=canceled"), "{late}");
        assert_eq!(server.provider.charges(&id).await, (0, 0));
        assert_eq!(server.orders_of(&id).await, 0);
    }
    server.stop().await;
}
on_both_backends!(
    past_the_action_timeout_the_payment_is_cancelled_and_released,
    action_timeout
);

/// The provider is down at the deadline (the cancel cannot reach it): the checkout is
/// released anyway and the payment watched; the shopper approves afterwards — the
/// charge is refunded, recorded, and the shopper was told it would be.
async fn approved_after_timeout(backend: Backend) {
    let server = Server::start_with(backend, |c| {
        c.payment_action_timeout_secs = 60;
        c.gateway_timeout_ms = 500;
    })
    .await;
    let alice = server.shopper("alice").await;
    let (id, digest) = alice.ready_to_pay().await;
    let r = pay_with_challenge(&alice, &id, &digest, test_cards::CHALLENGE, "k").await;
    let url = r.body["next_action"]["url"].as_str().unwrap().to_owned();
    server.provider.outage(true).await;
    server.advance(61).await;
    alice.wait_for_status(&id, "ACTIVE").await;
    server.provider.outage(false).await;
    let told = alice.pay(&id, &digest, test_cards::CHALLENGE, "k").await;
    told.assert_problem("PAYMENT_DECLINED", 402);
    assert!(
        told.str("detail").contains("refunded by itself"),
        "{}",
        told.body
    );
    server.provider.challenge(&url, "approve").await;
    let refunds = server.refunds_once_refunded(&id).await;
    assert_eq!(refunds[0]["state"], "refunded", "{refunds}");
    assert_eq!(refunds[0]["reason"], "no_longer_paying");
    assert_eq!(server.provider.charges(&id).await, (1, 1));
    assert_eq!(server.orders_of(&id).await, 0);
    let refunded_events = common::count(
        server.db(),
        "SELECT COUNT(*) AS n FROM outbox_events WHERE checkout_id = $1 AND type = 'payment.refunded'",
        &[&id],
    )
    .await;
    assert_eq!(refunded_events, 1);
    server.stop().await;
}
on_both_backends!(
    approved_after_the_timeout_is_refunded_and_recorded,
    approved_after_timeout
);

/// The provider is down when the shopper returns: the page keeps waiting (no error),
/// and the next return after it is back settles it. Signed out meanwhile, the return
/// needs the shopper signed in again.
async fn down_at_return_and_signed_out(backend: Backend) {
    let server = Server::start_with_provider(backend, &["--late-ms", "30000"], |c| {
        c.gateway_timeout_ms = 500;
    })
    .await;
    let alice = server.shopper("alice").await;
    let (id, digest) = alice.ready_to_pay().await;
    let card = test_cards::CHALLENGE_WEBHOOK_LATE;
    let r = pay_with_challenge(&alice, &id, &digest, card, "k").await;
    let url = r.body["next_action"]["url"].as_str().unwrap().to_owned();
    server.provider.challenge(&url, "approve").await;
    server.provider.outage(true).await;
    let back = alice.refresh_payment(&id).await;
    assert_eq!(back.status, 200, "{}", back.body);
    assert_eq!(back.body["status"], "PAYMENT_PENDING");
    server.provider.outage(false).await;
    // Signed out meanwhile (the checkout stays: a payment is in flight).
    let out = alice.send(Method::POST, "/auth/logout", None, &[]).await;
    assert!(out.status < 300, "{}", out.body);
    let anonymous = alice.refresh_payment(&id).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    let alice = Shopper::sign_in(&server.base, "alice").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let back = alice.refresh_payment(&id).await;
    assert_eq!(back.body["status"], "COMPLETED", "{}", back.body);
    assert_eq!(server.orders_of(&id).await, 1);
    assert_eq!(server.provider.charges(&id).await, (1, 0));
    server.stop().await;
}
on_both_backends!(
    the_provider_down_at_the_return_then_back,
    down_at_return_and_signed_out
);

/// A thousand returns of one shopper cost the provider about one lookup a second, and
/// none is an error.
async fn many_returns(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let (id, digest) = alice.ready_to_pay().await;
    pay_with_challenge(&alice, &id, &digest, test_cards::CHALLENGE, "k").await;
    let started = std::time::Instant::now();
    let returns: Vec<_> = (0..1000)
        .map(|_| {
            let (alice, id) = (alice.clone(), id.clone());
            tokio::spawn(async move { alice.refresh_payment(&id).await.status })
        })
        .collect();
    for r in returns {
        assert_eq!(r.await.unwrap(), 200);
    }
    let seconds = started.elapsed().as_secs() + 1;
    let lookups = server.provider.lookups().await;
    assert!(lookups <= seconds + 1, "{lookups} lookups in {seconds} s");
    server.stop().await;
}
on_both_backends!(a_thousand_returns_are_a_lookup_a_second, many_returns);

/// Many shoppers at once, the provider's webhooks immediate: every pay answers the step
/// at the bank (never "being confirmed" without it), and every return right after the
/// approval finds the order. A transaction that decided from another's writes still in
/// the same group commit (SQLite) must not answer before they are committed.
async fn many_at_once(backend: Backend) {
    let server = Server::start_with_provider(backend, &["--webhook-delay-ms", "0"], |_| {}).await;
    let names: Vec<String> = (0..24).map(|n| format!("crowd-{n}")).collect();
    let shoppers: Vec<Shopper> =
        futures::future::join_all(names.iter().map(|n| server.shopper(n))).await;
    for round in 0..3 {
        let flows = shoppers.iter().cloned().map(|shopper| {
            let provider = server.provider.base.clone();
            tokio::spawn(async move {
                let (id, digest) = shopper.ready_to_pay().await;
                let key = format!("r{round}");
                let r = shopper.pay(&id, &digest, test_cards::CHALLENGE, &key).await;
                assert_eq!(r.status, 202, "round {round}: {}", r.body);
                let url = r.body["next_action"]["url"].as_str().unwrap().to_owned();
                assert!(url.starts_with(&provider), "{url}");
                Provider::press(&url, "approve").await;
                let back = shopper.refresh_payment(&id).await;
                assert_eq!(
                    back.body["status"], "COMPLETED",
                    "round {round}: {}",
                    back.body
                );
                id
            })
        });
        for flow in futures::future::join_all(flows).await {
            let id = flow.unwrap();
            assert_eq!(server.orders_of(&id).await, 1);
            assert_eq!(server.provider.charges(&id).await, (1, 0));
        }
    }
    server.stop().await;
}
on_both_backends!(
    many_shoppers_at_once_each_pay_and_return_is_answered,
    many_at_once
);
