//! Recovery tokens over HTTP (CONTRACT §8), impersonation, and restarts keeping every
//! session, order, idempotency record and token secret.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Backend, Resp, Server, Shopper};
use reqwest::Method;
use serde_json::{json, Value};

async fn recover(shopper: &Shopper, token: &str) -> Resp {
    shopper
        .send(
            Method::POST,
            "/checkouts/recover",
            Some(json!({"token": token})),
            &[],
        )
        .await
}

async fn tokens(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let s = alice.checkout().await;
    let t0 = s["recovery_token"].as_str().unwrap().to_owned();

    // Every changed byte is TOKEN_INVALID.
    for i in 0..t0.len() {
        let mut bytes = t0.clone().into_bytes();
        bytes[i] = if bytes[i] == b'x' { b'y' } else { b'x' };
        let tampered = String::from_utf8(bytes).unwrap();
        recover(&alice, &tampered)
            .await
            .assert_problem("TOKEN_INVALID", 401);
    }
    recover(&alice, "")
        .await
        .assert_problem("TOKEN_INVALID", 401);

    // Another shopper cannot use it.
    let mallory = server.shopper("mallory").await;
    recover(&mallory, &t0)
        .await
        .assert_problem("TOKEN_INVALID", 401);

    // Single use, rotated on use.
    let r1 = recover(&alice, &t0).await;
    assert_eq!(r1.status, 200, "{}", r1.body);
    assert_eq!(r1.body["id"], s["id"]);
    assert_eq!(r1.body["generation"], 1);
    let t1 = r1.str("recovery_token");
    assert_ne!(t1, t0);
    recover(&alice, &t0)
        .await
        .assert_problem("TOKEN_REPLAYED", 409);
    let r2 = recover(&alice, &t1).await;
    assert_eq!(r2.body["generation"], 2);
    recover(&alice, &t1)
        .await
        .assert_problem("TOKEN_REPLAYED", 409);
    let t2 = r2.str("recovery_token");

    // A token never resumes a session that is not ACTIVE.
    let newer = alice.ready(alice.initiate().await.body).await;
    recover(&alice, &t2)
        .await
        .assert_problem("CHECKOUT_SUPERSEDED", 409);
    let placed = alice
        .place_order(
            newer["id"].as_str().unwrap(),
            newer["digest"].as_str().unwrap(),
            "k",
        )
        .await;
    assert_eq!(placed.status, 201);
    recover(&alice, newer["recovery_token"].as_str().unwrap())
        .await
        .assert_problem("CHECKOUT_COMPLETED", 409);

    // Expiry: never later than the session's.
    let late = alice.checkout().await;
    let expires =
        chrono::DateTime::parse_from_rfc3339(late["expires_at"].as_str().unwrap()).unwrap();
    let claims = checkout_core::token::peek(late["recovery_token"].as_str().unwrap()).unwrap();
    assert!(claims.exp <= expires.timestamp());
    server.advance(10 * 60).await;
    recover(&alice, late["recovery_token"].as_str().unwrap())
        .await
        .assert_problem("TOKEN_EXPIRED", 401);
    server.stop().await;
}
on_both_backends!(
    recovery_tokens_are_single_use_bound_and_tamper_proof,
    tokens
);

async fn rotation(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let s = alice.checkout().await;
    let token = s["recovery_token"].as_str().unwrap().to_owned();
    let generated = std::fs::read_to_string(server.dir.path().join("token-secret")).unwrap();

    // A restart keeps the generated secret: the token still works… (checked below after
    // rotation, since a token is single use).
    let server = server
        .restart(|c| {
            c.token_secret = Some("a brand new secret of at least thirty-two bytes".into());
            c.previous_token_secret = Some(generated.trim().to_owned());
        })
        .await;
    // …and during a rotation the previous secret still verifies.
    let r = recover(&alice, &token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Once the previous secret is dropped, its tokens stop working; new ones keep working.
    let server = server.restart(|c| c.previous_token_secret = None).await;
    let s2 = alice.initiate().await.body;
    let signed_by_new = s2["recovery_token"].as_str().unwrap();
    assert_eq!(recover(&alice, signed_by_new).await.status, 200);
    // A token signed with the dropped secret, for the session's current generation: were
    // the old key still accepted this would reach the binding check (409 SUPERSEDED).
    let old_signed = {
        let claims = checkout_core::token::peek(&token).unwrap();
        let key =
            checkout_core::token::SigningKey::new(generated.trim().as_bytes().to_vec()).unwrap();
        checkout_core::token::sign(
            &checkout_core::token::RecoveryClaims { gen: 1, ..claims },
            &key,
        )
    };
    recover(&alice, &old_signed)
        .await
        .assert_problem("TOKEN_INVALID", 401);
    server.stop().await;
}
on_both_backends!(a_previous_secret_verifies_during_rotation, rotation);

async fn impersonation(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    alice.add("BRW-WALNUT", 1).await;
    let support = Shopper {
        client: Server::client(),
        base: server.base.clone(),
        name: "support".into(),
    };
    let start = support
        .client
        .post(format!("{}/api/v1/admin/impersonations", server.base))
        .bearer_auth(common::ADMIN)
        .json(&json!({"username": "alice", "admin": "support-jo"}))
        .send()
        .await
        .unwrap();
    let start = common::read(start).await;
    assert_eq!(start.status, 201, "{}", start.body);
    assert_eq!(
        support.get("/auth/me").await.body["impersonator"],
        "support-jo"
    );

    // The admin starts a checkout for alice: recorded as such.
    let by_admin = support.initiate().await;
    assert_eq!(by_admin.status, 201, "{}", by_admin.body);
    assert_eq!(by_admin.body["started_by_admin"], "support-jo");
    let events = server.events(&by_admin.str("id")).await;
    let first: &Value = &events[0];
    assert_eq!(first["actor_admin"], "support-jo");
    assert_eq!(first["actor_user"], alice.get("/auth/me").await.body["id"]);

    // One live checkout per customer whoever acts: alice's own supersedes it…
    let by_alice = alice.initiate().await;
    assert_eq!(
        alice.session(&by_admin.str("id")).await["reason"],
        "SUPERSEDED"
    );
    // …and the admin's supersedes alice's.
    let again = support.initiate().await;
    let again_id = again.str("id");
    let again = support.ready(serde_json::json!({"id": again_id})).await;
    assert_eq!(
        alice.session(&by_alice.str("id")).await["reason"],
        "SUPERSEDED"
    );
    let supersede = server.events(&by_alice.str("id")).await.pop().unwrap();
    assert_eq!(supersede["transition"], "Supersede");
    assert_eq!(supersede["actor_admin"], "support-jo");
    // The admin can place the order for alice; the order records it.
    let order = support
        .place_order(
            again["id"].as_str().unwrap(),
            again["digest"].as_str().unwrap(),
            "for-alice",
        )
        .await;
    assert_eq!(order.status, 201, "{}", order.body);
    assert_eq!(order.body["acting_admin"], "support-jo");
    // Ending the impersonation leaves the customer's checkout alone.
    alice.add("CKE-OAT", 1).await;
    let current = support.initiate().await;
    assert_eq!(
        support
            .send(Method::POST, "/auth/logout", None, &[])
            .await
            .status,
        204
    );
    support
        .get("/auth/me")
        .await
        .assert_problem("UNAUTHENTICATED", 401);
    assert_eq!(alice.session(&current.str("id")).await["status"], "ACTIVE");
    assert_eq!(
        alice.get("/auth/me").await.status,
        200,
        "the customer is still signed in"
    );
    // Unknown shoppers cannot be impersonated.
    let unknown = server
        .admin(
            Method::POST,
            "/admin/impersonations",
            Some(json!({"username": "nobody"})),
        )
        .await;
    unknown.assert_problem("VALIDATION_FAILED", 422);
    server.stop().await;
}
on_both_backends!(
    impersonation_is_recorded_and_shares_the_one_live_checkout,
    impersonation
);

async fn restart(backend: Backend) {
    let server = Server::start(backend).await;
    let alice = server.shopper("alice").await;
    let open = alice.checkout().await;
    let done = alice.ready(alice.initiate().await.body).await;
    let order = alice
        .place_order(
            done["id"].as_str().unwrap(),
            done["digest"].as_str().unwrap(),
            "before-restart",
        )
        .await;
    assert_eq!(order.status, 201);
    let server = server.restart(|_| {}).await;
    // Sessions, orders, idempotency records and logins survive.
    assert_eq!(
        alice.session(open["id"].as_str().unwrap()).await["status"],
        "INACTIVE"
    );
    let replay = alice
        .place_order(
            done["id"].as_str().unwrap(),
            done["digest"].as_str().unwrap(),
            "before-restart",
        )
        .await;
    assert_eq!(replay.status, 201);
    assert!(replay.replayed());
    assert_eq!(replay.body["id"], order.body["id"]);
    assert_eq!(
        alice
            .get(&format!("/orders/{}", order.str("id")))
            .await
            .status,
        200
    );
    // The token secret was kept: a token issued before the restart still verifies.
    alice.add("CKE-OAT", 1).await;
    let fresh = alice.initiate().await.body;
    let server = server.restart(|_| {}).await;
    assert_eq!(
        recover(&alice, fresh["recovery_token"].as_str().unwrap())
            .await
            .status,
        200
    );
    // Numbering continues without gaps.
    let next = alice.initiate().await.body;
    assert_eq!(common::number_part(next["number"].as_str().unwrap()), 4);
    server.stop().await;
}
on_both_backends!(a_restart_keeps_sessions_orders_keys_and_secrets, restart);
