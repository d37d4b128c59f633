//! Approval of submitted orders over HTTP (CONTRACT §15), on both databases: who may
//! decide, approval bound to the submitted digest, rejection with a reason, decided once,
//! each decision an event of the checkout, and the outcome on the shopper's order.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Backend, Resp, Server, Shopper};
use reqwest::Method;
use serde_json::{json, Value};

/// Submits a checkout for approval; returns the order.
async fn submitted(shopper: &Shopper, key: &str) -> Value {
    let s = shopper.checkout().await;
    let r = shopper
        .action(
            s["id"].as_str().unwrap(),
            "submit-for-approval",
            s["digest"].as_str().unwrap(),
            key,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "PENDING_APPROVAL");
    r.body
}

async fn decide(who: &Shopper, order: &Value, how: &str, body: Value) -> Resp {
    let id = order["id"].as_str().unwrap();
    who.send(
        Method::POST,
        &format!("/approvals/{id}/{how}"),
        Some(body),
        &[],
    )
    .await
}

async fn admin_decides(server: &Server, order: &Value, how: &str, body: Value) -> Resp {
    let id = order["id"].as_str().unwrap();
    server
        .admin(Method::POST, &format!("/approvals/{id}/{how}"), Some(body))
        .await
}

async fn approvals(backend: Backend) {
    let server = Server::start(backend).await;
    let bob = server.shopper("bob").await;
    let carol = server.shopper("carol").await;
    let order = submitted(&bob, "s-1").await;
    let digest = order["snapshot"]["digest"].as_str().unwrap().to_owned();

    // Only approvers see and decide.
    carol
        .get("/approvals")
        .await
        .assert_problem("FORBIDDEN", 403);
    decide(
        &carol,
        &order,
        "approve",
        json!({"snapshot_digest": digest}),
    )
    .await
    .assert_problem("FORBIDDEN", 403);
    let anonymous = Shopper {
        client: Server::client(),
        base: server.base.clone(),
        name: "x".into(),
    };
    anonymous
        .get("/approvals")
        .await
        .assert_problem("UNAUTHENTICATED", 401);
    let made = server
        .admin(
            Method::PUT,
            "/admin/approvers/carol",
            Some(json!({"approver": true})),
        )
        .await;
    assert_eq!(
        (made.status, made.body["approver"].as_bool()),
        (200, Some(true)),
        "{}",
        made.body
    );
    server
        .admin(
            Method::PUT,
            "/admin/approvers/nobody",
            Some(json!({"approver": true})),
        )
        .await
        .assert_problem("NOT_FOUND", 404);
    let list = carol.get("/approvals").await;
    assert_eq!(list.status, 200, "{}", list.body);
    let listed = list.body.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0]["id"].as_str(), listed[0]["username"].as_str()),
        (order["id"].as_str(), Some("bob"))
    );
    assert_eq!(listed[0]["digest"], digest.as_str());

    // Approval is bound to what was submitted; nobody decides their own order.
    let other = format!("sha256:{}", "1".repeat(64));
    decide(&carol, &order, "approve", json!({"snapshot_digest": other}))
        .await
        .assert_problem("SNAPSHOT_MISMATCH", 409);
    let carols = submitted(&carol, "s-2").await;
    let carols_digest = carols["snapshot"]["digest"].clone();
    let ids: Vec<Value> = carol
        .get("/approvals")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].clone())
        .collect();
    assert_eq!(
        ids,
        vec![order["id"].clone()],
        "an approver is not offered their own orders"
    );
    decide(
        &carol,
        &carols,
        "approve",
        json!({"snapshot_digest": carols_digest}),
    )
    .await
    .assert_problem("FORBIDDEN", 403);

    let approved = decide(
        &carol,
        &order,
        "approve",
        json!({"snapshot_digest": digest}),
    )
    .await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(
        (
            approved.body["status"].as_str(),
            approved.body["decided_by"].as_str()
        ),
        (Some("APPROVED"), Some("carol"))
    );
    // Decided once.
    decide(
        &carol,
        &order,
        "approve",
        json!({"snapshot_digest": digest}),
    )
    .await
    .assert_problem("CHECKOUT_COMPLETED", 409);
    admin_decides(&server, &order, "reject", json!({"reason": "late"}))
        .await
        .assert_problem("CHECKOUT_COMPLETED", 409);
    // The shopper sees it on the order; the checkout's history records it.
    let seen = bob
        .get(&format!("/orders/{}", order["id"].as_str().unwrap()))
        .await;
    assert_eq!(seen.body["status"], "APPROVED");
    let history = server.events(order["checkout_id"].as_str().unwrap()).await;
    let last = history.last().unwrap();
    assert_eq!(last["transition"], "Approve", "{history:?}");

    // The admin rejects the other one, with a reason the shopper reads.
    admin_decides(&server, &carols, "reject", json!({"reason": "   "}))
        .await
        .assert_problem("VALIDATION_FAILED", 422);
    admin_decides(
        &server,
        &carols,
        "reject",
        json!({"reason": "x".repeat(501)}),
    )
    .await
    .assert_problem("VALIDATION_FAILED", 422);
    let rejected = admin_decides(
        &server,
        &carols,
        "reject",
        json!({"reason": " Over the quarterly budget (card 4242,4242,4242,4242) "}),
    )
    .await;
    assert_eq!(rejected.status, 200, "{}", rejected.body);
    assert_eq!(rejected.body["status"], "REJECTED");
    assert_eq!(
        rejected.body["decided_by"], "Admin",
        "no username can be it"
    );
    // Kept and shown, but never a card number, however its groups are set apart.
    assert_eq!(
        rejected.body["decision_reason"],
        "Over the quarterly budget (card [card number removed])"
    );
    assert_eq!(
        carol
            .get(&format!("/orders/{}", carols["id"].as_str().unwrap()))
            .await
            .body["decision_reason"],
        "Over the quarterly budget (card [card number removed])"
    );
    assert_eq!(carol.get("/approvals").await.body, json!([]));
    // An unknown order, a placed (not submitted) order.
    admin_decides(
        &server,
        &json!({"id": "nope"}),
        "reject",
        json!({"reason": "x"}),
    )
    .await
    .assert_problem("CHECKOUT_NOT_FOUND", 404);
    let placed = bob.checkout().await;
    let placed = bob
        .place_order(
            placed["id"].as_str().unwrap(),
            placed["digest"].as_str().unwrap(),
            "p",
        )
        .await;
    admin_decides(&server, &placed.body, "reject", json!({"reason": "x"}))
        .await
        .assert_problem("CHECKOUT_COMPLETED", 409);
    // An admin impersonating an approver is recorded as the admin acting.
    let dave = server.shopper("dave").await;
    let daves = submitted(&dave, "s-3").await;
    let r = server
        .admin(
            Method::POST,
            "/admin/impersonations",
            Some(json!({"username": "carol", "admin": "alice"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let as_carol = Shopper {
        client: Server::client(),
        base: server.base.clone(),
        name: "carol".into(),
    };
    let cookie = r
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let approved = as_carol
        .send(
            Method::POST,
            &format!("/approvals/{}/approve", daves["id"].as_str().unwrap()),
            Some(json!({"snapshot_digest": daves["snapshot"]["digest"]})),
            &[("cookie", cookie.as_str())],
        )
        .await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    let history = server.events(daves["checkout_id"].as_str().unwrap()).await;
    assert_eq!(
        history.last().unwrap()["actor_admin"],
        "alice",
        "{history:?}"
    );
    server.stop().await;
}
on_both_backends!(approvers_decide_submitted_orders_once, approvals);

async fn concurrent_decisions(backend: Backend) {
    let server = Server::start(backend).await;
    let bob = server.shopper("bob").await;
    let order = submitted(&bob, "s").await;
    let digest = order["snapshot"]["digest"].clone();
    let (server_ref, order_ref, digest) = (&server, &order, &digest);
    let answers = futures::future::join_all((0..12).map(|i| async move {
        if i % 2 == 0 {
            admin_decides(
                server_ref,
                order_ref,
                "approve",
                json!({"snapshot_digest": digest}),
            )
            .await
        } else {
            admin_decides(
                server_ref,
                order_ref,
                "reject",
                json!({"reason": format!("no {i}")}),
            )
            .await
        }
    }))
    .await;
    let decided: Vec<&Resp> = answers.iter().filter(|r| r.status == 200).collect();
    assert_eq!(decided.len(), 1, "exactly one decision wins");
    for r in answers.iter().filter(|r| r.status != 200) {
        r.assert_problem("CHECKOUT_COMPLETED", 409);
    }
    let history = server.events(order["checkout_id"].as_str().unwrap()).await;
    let decisions = history
        .iter()
        .filter(|e| matches!(e["transition"].as_str(), Some("Approve" | "Reject")))
        .count();
    assert_eq!(decisions, 1);
    server.stop().await;
}
on_both_backends!(concurrent_decisions_make_one, concurrent_decisions);
