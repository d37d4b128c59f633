//! The shop's own customers (CONTRACT §19) over HTTP, on both databases. Every token is
//! made by PyJWT and `cryptography` (tests/identity/tokens.py), never by this server's
//! code: RS256, ES256 and EdDSA from a key set, HS256, and every hostile token of the
//! issue. The key set is served over HTTP by the test, which counts its fetches.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use common::{count, customer, texts, Backend, Idp, Resp, Server, Shopper};
use reqwest::{header, Method};
use serde_json::{json, Value};

const ISSUER: &str = "https://id.shop.example";
const AUDIENCE: &str = "checkout-guard";
const HS_SECRET: &str = "a-shared-secret-of-at-least-32-characters";
const NEVER_ANSWERS: &str = "4000000000000119";
const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Seconds since the epoch on the server's clock (`advanced` seconds ahead of real time).
fn now(advanced: i64) -> i64 {
    chrono::Utc::now().timestamp() + advanced
}

/// Good claims for `sub`, valid for `life` seconds from `at`.
fn claims(sub: &str, at: i64, life: i64) -> Value {
    json!({"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "iat": at, "exp": at + life,
           "email": format!("{sub}@example.com")})
}

fn signed(key: &str, claims: Value) -> Value {
    let (alg, kid) = match key {
        "rsa" => ("RS256", "rsa-1"),
        "ec" => ("ES256", "ec-1"),
        "ed" => ("EdDSA", "ed-1"),
        _ => unreachable!(),
    };
    json!({"key": key, "alg": alg, "kid": kid, "claims": claims})
}

async fn me(server: &Server, token: &str) -> Resp {
    customer(server, "x", token).get("/auth/me").await
}

async fn with_keys(
    backend: Backend,
    idp: &Idp,
    adjust: impl FnOnce(&mut checkout_server::config::Config),
) -> Server {
    let file = idp.jwks_file();
    Server::start_with(backend, |c| {
        c.jwt_jwks_file = Some(file);
        c.jwt_issuer = Some(ISSUER.into());
        c.jwt_audience = Some(AUDIENCE.into());
        adjust(c);
    })
    .await
}

async fn logout(server: &Server, token: &str) -> Resp {
    common::read(
        Server::client()
            .post(format!("{}/api/v1/auth/backchannel-logout", server.base))
            .form(&[("logout_token", token)])
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn logout_claims(sub: Option<&str>, sid: Option<&str>, jti: &str) -> Value {
    let mut c = json!({"iss": ISSUER, "aud": AUDIENCE, "iat": now(0), "exp": now(0) + 120,
                       "jti": jti, "events": {LOGOUT_EVENT: {}}});
    if let Some(sub) = sub {
        c["sub"] = sub.into();
    }
    if let Some(sid) = sid {
        c["sid"] = sid.into();
    }
    c
}

async fn each_algorithm_identifies_a_customer_who_can_order(backend: Backend) {
    let idp = Idp::new();
    let server = with_keys(backend, &idp, |_| {}).await;
    let tokens = idp.mint(&[
        signed("rsa", claims("cust-rsa", now(0), 600)),
        signed("ec", claims("cust-ec", now(0), 600)),
        signed("ed", claims("cust-ed", now(0), 600)),
    ]);
    for (token, sub) in tokens.iter().zip(["cust-rsa", "cust-ec", "cust-ed"]) {
        let r = me(&server, token).await;
        assert_eq!(r.status, 200, "{sub}: {}", r.body);
        assert_eq!(r.str("username"), format!("{sub}@example.com"));
        let shopper = customer(&server, sub, token);
        let order = shopper.order(&format!("order-{sub}")).await;
        assert_eq!(order["status"], "PLACED", "{order}");
        // The order names the shop's own customer (CONTRACT §18), as read with the token.
        assert_eq!(order["customer"]["external_id"], sub, "{order}");
        assert_eq!(order["customer"]["email"], format!("{sub}@example.com"));
        let id = order["id"].as_str().unwrap();
        let stored = shopper.get(&format!("/orders/{id}")).await;
        assert_eq!(
            stored.body["customer"], order["customer"],
            "{}",
            stored.body
        );
    }
    // One customer row each, created on first sight with the token's e-mail.
    let rows = texts(
        server.db(),
        "SELECT email AS s FROM users WHERE external_id IS NOT NULL ORDER BY email",
        &[],
    )
    .await;
    assert_eq!(
        rows,
        [
            "cust-ec@example.com",
            "cust-ed@example.com",
            "cust-rsa@example.com"
        ]
    );
    server.stop().await;
}
on_both_backends!(
    each_algorithm,
    each_algorithm_identifies_a_customer_who_can_order
);

async fn hostile_tokens_are_unauthenticated(backend: Backend) {
    let idp = Idp::new();
    let server = with_keys(backend, &idp, |_| {}).await;
    let good = claims("cust-1", now(0), 600);
    let with = |field: &str, value: Value| {
        let mut c = good.clone();
        c[field] = value;
        c
    };
    let cases: Vec<(&str, Value)> = vec![
        (
            "alg none",
            json!({"key": "none", "kid": "rsa-1", "claims": good}),
        ),
        (
            "HS256 keyed with the RSA public key",
            json!({"key": "rsa-public-as-hmac", "kid": "rsa-1", "claims": good}),
        ),
        (
            "another key under a known kid",
            json!({"key": "other", "alg": "RS256", "kid": "rsa-1", "claims": good}),
        ),
        (
            "an RSA token naming the EC key",
            json!({"key": "rsa", "alg": "RS256", "kid": "ec-1", "claims": good}),
        ),
        (
            "HS256 when the keys are asymmetric",
            json!({"key": format!("hs:{HS_SECRET}"), "kid": "rsa-1", "claims": good}),
        ),
        (
            "expired by 61 s",
            signed("rsa", with("exp", json!(now(0) - 61))),
        ),
        (
            "no exp",
            signed("ec", {
                let mut c = good.clone();
                c.as_object_mut().unwrap().remove("exp");
                c
            }),
        ),
        (
            "nbf in the future",
            signed("ed", with("nbf", json!(now(0) + 120))),
        ),
        (
            "wrong aud",
            signed("rsa", with("aud", json!("another-app"))),
        ),
        (
            "wrong iss",
            signed("rsa", with("iss", json!("https://evil.example"))),
        ),
        (
            "unknown kid",
            json!({"key": "rsa", "alg": "RS256", "kid": "rsa-9", "claims": good}),
        ),
        (
            "no kid",
            json!({"key": "rsa", "alg": "RS256", "kid": null, "claims": good}),
        ),
        (
            "a sub of 10,000 characters",
            signed("rsa", with("sub", json!("c".repeat(10_000)))),
        ),
        (
            "a sub with control characters",
            signed("rsa", with("sub", json!("cust\u{0}\n1"))),
        ),
        ("an empty sub", signed("rsa", with("sub", json!("")))),
        (
            "issued in the future",
            signed("rsa", with("iat", json!(now(0) + 120))),
        ),
        (
            "a critical extension",
            json!({"key": "rsa", "alg": "RS256", "kid": "rsa-1", "claims": good, "header": {"crit": ["exp"], "exp": 1}}),
        ),
        (
            "a logout token as a sign-in",
            signed("rsa", with("events", json!({LOGOUT_EVENT: {}}))),
        ),
        (
            "a logout token's type",
            json!({"key": "rsa", "alg": "RS256", "kid": "rsa-1", "claims": good, "header": {"typ": "logout+jwt"}}),
        ),
        (
            "a lifetime of millennia",
            signed("rsa", with("exp", json!(8_210_266_876_799_i64))),
        ),
    ];
    let requests: Vec<Value> = cases.iter().map(|(_, r)| r.clone()).collect();
    let tokens = idp.mint(&requests);
    for ((name, _), token) in cases.iter().zip(&tokens) {
        let r = me(&server, token).await;
        r.assert_problem("UNAUTHENTICATED", 401);
        assert!(
            !r.body.to_string().contains(&token[..20.min(token.len())]),
            "{name}: the token is not echoed"
        );
    }
    // Leeway: expired by 59 s still passes.
    let late = idp.one(signed("rsa", with("exp", json!(now(0) - 59))));
    assert_eq!(me(&server, &late).await.status, 200);
    // A 64 KB token is refused with the request's head, before anything reads it; one
    // of 9 KB (a head the server takes) is refused before it is parsed.
    let huge = format!("{}.{}.{}", "e".repeat(100), "x".repeat(64 * 1024), "s");
    me(&server, &huge)
        .await
        .assert_problem("HEADERS_TOO_LARGE", 431);
    let mut padded = good.clone();
    padded["pad"] = "p".repeat(9 * 1024).into();
    let long = idp.one(signed("rsa", padded));
    assert!(long.len() > 9 * 1024 && long.len() < 16 * 1024);
    let r = me(&server, &long).await;
    r.assert_problem("UNAUTHENTICATED", 401);
    assert!(
        r.body["detail"].as_str().unwrap().contains("longer than"),
        "{}",
        r.body
    );
    me(&server, "not a token")
        .await
        .assert_problem("UNAUTHENTICATED", 401);
    // Nothing of a refused token was stored.
    assert_eq!(
        count(
            server.db(),
            "SELECT COUNT(*) AS n FROM users WHERE external_id IS NOT NULL",
            &[]
        )
        .await,
        1
    );
    server.stop().await;
}
on_both_backends!(hostile_tokens, hostile_tokens_are_unauthenticated);

async fn hs256_secret_accepts_only_hs256(backend: Backend) {
    let idp = Idp::new();
    let server = Server::start_with(backend, |c| {
        c.jwt_hs256_secret = Some(HS_SECRET.into());
        c.jwt_audience = Some(AUDIENCE.into());
    })
    .await;
    let good = claims("cust-hs", now(0), 600);
    let tokens = idp.mint(&[
        json!({"key": format!("hs:{HS_SECRET}"), "kid": null, "claims": good}),
        json!({"key": "hs:another-secret-of-at-least-32-chars!!", "kid": null, "claims": good}),
        signed("rsa", good.clone()),
        json!({"key": "none", "kid": null, "claims": good}),
    ]);
    assert_eq!(me(&server, &tokens[0]).await.status, 200);
    for token in &tokens[1..] {
        me(&server, token)
            .await
            .assert_problem("UNAUTHENTICATED", 401);
    }
    server.stop().await;
}
on_both_backends!(hs256_secret, hs256_secret_accepts_only_hs256);

/// A key set served over HTTP on `listener`, counting its fetches.
/// A key set served over HTTP, counting its fetches; the test may change what it
/// answers and how long it takes.
#[derive(Clone)]
struct KeySetServer {
    hits: Arc<AtomicUsize>,
    body: Arc<std::sync::Mutex<String>>,
    delay_ms: Arc<std::sync::atomic::AtomicU64>,
}

fn serve_jwks(
    listener: tokio::net::TcpListener,
    body: String,
) -> (KeySetServer, tokio::task::JoinHandle<()>) {
    let served = KeySetServer {
        hits: Arc::new(AtomicUsize::new(0)),
        body: Arc::new(std::sync::Mutex::new(body)),
        delay_ms: Arc::default(),
    };
    let state = served.clone();
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let state = state.clone();
            async move {
                state.hits.fetch_add(1, Ordering::SeqCst);
                let delay = state.delay_ms.load(Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(delay)).await;
                let body = state.body.lock().unwrap().clone();
                ([(header::CONTENT_TYPE, "application/json")], body)
            }
        }),
    );
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (served, task)
}

async fn keys_from_a_url_are_cached_and_refetched_sparingly(backend: Backend) {
    let idp = Idp::new();
    // The key set's address is known before anything listens there: the provider is
    // down when the server starts.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let url = format!("http://{addr}/jwks.json");
    let server = Server::start_with(backend, |c| {
        c.jwt_jwks_url = Some(url);
        c.jwt_audience = Some(AUDIENCE.into());
    })
    .await;
    let token = idp.one(signed("ed", claims("cust-url", now(0), 600)));
    // No key yet: 503, never 500, and never a pass.
    me(&server, &token)
        .await
        .assert_problem("SERVICE_UNAVAILABLE", 503);
    let (served, task) = serve_jwks(
        tokio::net::TcpListener::bind(addr).await.unwrap(),
        idp.jwks(),
    );
    let hits = served.hits;
    let mut status = 0;
    for _ in 0..50 {
        status = me(&server, &token).await.status;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "the keys arrived and are used");
    let fetched = hits.load(Ordering::SeqCst);
    assert_eq!(fetched, 1);
    // A flood of unknown kids costs the provider at most one fetch a minute.
    let flood: Vec<Value> = (0..40)
        .map(|i| json!({"key": "rsa", "alg": "RS256", "kid": format!("made-up-{i}"), "claims": claims("x", now(0), 600)}))
        .collect();
    let flood = idp.mint(&flood);
    let answers = futures::future::join_all(flood.iter().map(|t| me(&server, t))).await;
    for r in answers {
        r.assert_problem("UNAUTHENTICATED", 401);
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        fetched,
        "no refetch within the minute"
    );
    // The provider goes down: the cached keys keep working.
    task.abort();
    let _ = task.await;
    assert_eq!(me(&server, &token).await.status, 200);
    let other = idp.one(signed("rsa", claims("cust-url-2", now(0), 600)));
    assert_eq!(me(&server, &other).await.status, 200);
    server.stop().await;
}
on_both_backends!(jwks_url, keys_from_a_url_are_cached_and_refetched_sparingly);

async fn login_end_ends_the_checkout_unless_a_newer_login_acts(backend: Backend) {
    let idp = Idp::new();
    let server = with_keys(backend, &idp, |_| {}).await;
    // Alice's token lasts two minutes; Bob refreshes his before it ends.
    let t0 = now(0);
    let [alice_1, bob_1, bob_2]: [String; 3] = idp
        .mint(&[
            signed("rsa", claims("alice", t0, 120)),
            signed("rsa", claims("bob", now(0), 120)),
            signed("rsa", claims("bob", now(0), 900)),
        ])
        .try_into()
        .unwrap();
    let alice = customer(&server, "alice", &alice_1);
    let a = alice.checkout().await;
    let a_id = a["id"].as_str().unwrap();
    let remembered = chrono::DateTime::parse_from_rfc3339(a["login_expires_at"].as_str().unwrap());
    assert_eq!(
        remembered.unwrap().timestamp(),
        t0 + 120,
        "the token's exp: {a}"
    );
    let bob = customer(&server, "bob", &bob_1);
    let b = bob.checkout().await;
    let b_id = b["id"].as_str().unwrap().to_owned();
    // Bob only looks at his checkout with the refreshed token: that extends it.
    let bob = customer(&server, "bob", &bob_2);
    assert_eq!(bob.session(&b_id).await["status"], "ACTIVE");
    server.advance(200).await;
    let [alice_2, bob_3]: [String; 2] = idp
        .mint(&[
            signed("rsa", claims("alice", now(200), 900)),
            signed("rsa", claims("bob", now(200), 900)),
        ])
        .try_into()
        .unwrap();
    // A token past its exp but within the leeway is still accepted, but starts nothing:
    // the checkout would end at once.
    let in_leeway = idp.one(signed("rsa", claims("alice", now(200) - 100, 90)));
    let late = customer(&server, "alice", &in_leeway);
    assert_eq!(late.get("/auth/me").await.status, 200);
    late.initiate().await.assert_problem("UNAUTHENTICATED", 401);
    // Alice signs in again after her login ended: the checkout stays ended.
    let alice = customer(&server, "alice", &alice_2);
    let ended = alice.session(a_id).await;
    assert_eq!(
        (ended["status"].as_str(), ended["reason"].as_str()),
        (Some("INACTIVE"), Some("LOGIN_EXPIRED")),
        "{ended}"
    );
    assert_eq!(ended["verdict"]["code"], "CHECKOUT_INACTIVE");
    let refused = alice
        .place_order(a_id, ended["digest"].as_str().unwrap(), "k-late")
        .await;
    refused.assert_problem("CHECKOUT_INACTIVE", 409);
    let bob = customer(&server, "bob", &bob_3);
    let open = bob.session(&b_id).await;
    assert_eq!(open["status"], "ACTIVE", "{open}");
    let placed = bob
        .place_order(&b_id, open["digest"].as_str().unwrap(), "k-bob")
        .await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    // The ended checkout comes back through its link (CONTRACT §16).
    let link = alice.get("/checkouts/recoverable").await;
    assert_eq!(link.status, 200, "{}", link.body);
    let restored = alice
        .send(
            Method::POST,
            "/checkouts/restore",
            Some(json!({"token": link.str("token")})),
            &[],
        )
        .await;
    assert_eq!(restored.status, 201, "{}", restored.body);
    assert_eq!(restored.str("status"), "ACTIVE");
    // The stored state caught up with what reads said, by the action's refusal or the
    // sweeper, with its own event.
    let transitions = server.transitions(a_id).await;
    assert!(
        transitions.contains(&"EndLogin".to_owned()),
        "{transitions:?}"
    );
    server.stop().await;
}
on_both_backends!(
    login_end,
    login_end_ends_the_checkout_unless_a_newer_login_acts
);

async fn a_built_in_login_ends_its_checkout_too(backend: Backend) {
    let server = Server::start_with(backend, |c| c.login_lifetime_secs = 300).await;
    let carol = server.shopper("carol").await;
    let s = carol.checkout().await;
    let id = s["id"].as_str().unwrap();
    server.advance(301).await;
    carol
        .get("/auth/me")
        .await
        .assert_problem("UNAUTHENTICATED", 401);
    let again = Shopper::sign_in(&server.base, "carol").await;
    let ended = again.session(id).await;
    assert_eq!(
        (ended["status"].as_str(), ended["reason"].as_str()),
        (Some("INACTIVE"), Some("LOGIN_EXPIRED")),
        "{ended}"
    );
    // A new checkout starts normally.
    assert_eq!(again.initiate().await.status, 201);
    server.stop().await;
}
on_both_backends!(built_in_login_end, a_built_in_login_ends_its_checkout_too);

async fn the_act_claim_is_the_actor_of_every_event(backend: Backend) {
    let idp = Idp::new();
    let server = with_keys(backend, &idp, |_| {}).await;
    let mut acting = claims("dave", now(0), 600);
    acting["act"] = json!({"sub": "agent-7"});
    let [token, own]: [String; 2] = idp
        .mint(&[
            signed("ec", acting),
            signed("ec", claims("dave", now(0), 600)),
        ])
        .try_into()
        .unwrap();
    let r = me(&server, &token).await;
    assert_eq!(r.str("impersonator"), "agent-7");
    let agent = customer(&server, "dave", &token);
    let s = agent.checkout().await;
    let id = s["id"].as_str().unwrap();
    let events = server.events(id).await;
    assert!(events.len() >= 3);
    for e in &events {
        assert_eq!(e["actor_admin"], "agent-7", "{e}");
    }
    // The agent signing out does not end the customer's checkout.
    let out = agent.send(Method::POST, "/auth/logout", None, &[]).await;
    assert_eq!(out.status, 204);
    let seen = customer(&server, "dave", &own).session(id).await;
    assert_eq!(seen["status"], "ACTIVE");
    server.stop().await;
}
on_both_backends!(act_claim, the_act_claim_is_the_actor_of_every_event);

async fn two_devices_of_one_customer_keep_one_live_checkout(backend: Backend) {
    let idp = Idp::new();
    let server = with_keys(backend, &idp, |_| {}).await;
    let [phone, laptop]: [String; 2] = idp
        .mint(&[
            signed("ed", claims("erin", now(0), 600)),
            signed("rsa", claims("erin", now(0), 900)),
        ])
        .try_into()
        .unwrap();
    // Twenty first requests at once store one customer.
    let firsts = (0..20).map(|i| {
        let token = if i % 2 == 0 { &phone } else { &laptop };
        me(&server, token)
    });
    for r in futures::future::join_all(firsts).await {
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert_eq!(
        count(
            server.db(),
            "SELECT COUNT(*) AS n FROM users WHERE external_id = $1",
            &["erin"]
        )
        .await,
        1
    );
    let first = customer(&server, "erin", &phone).checkout().await;
    let second = customer(&server, "erin", &laptop).checkout().await;
    let old = customer(&server, "erin", &laptop)
        .session(first["id"].as_str().unwrap())
        .await;
    assert_eq!(old["reason"], "SUPERSEDED", "{old}");
    assert_eq!(second["status"], "ACTIVE");
    server.stop().await;
}
on_both_backends!(
    two_devices,
    two_devices_of_one_customer_keep_one_live_checkout
);

async fn a_cookie_borne_token_keeps_the_cross_site_rules(backend: Backend) {
    let idp = Idp::new();
    let server = with_keys(backend, &idp, |c| c.jwt_cookie = Some("shop_id".into())).await;
    let token = idp.one(signed("rsa", claims("frank", now(0), 600)));
    let client = Server::client();
    let send = |origin: Option<&'static str>| {
        let mut req = client
            .post(format!("{}/api/v1/cart/items", server.base))
            .header(header::COOKIE, format!("shop_id={token}"))
            .json(&json!({"sku": "BRW-FUDGE", "quantity": 1}));
        if let Some(origin) = origin {
            req = req.header(header::ORIGIN, origin);
        }
        req.send()
    };
    let attacked = common::read(send(Some("https://evil.example")).await.unwrap()).await;
    attacked.assert_problem("FORBIDDEN", 403);
    let own = common::read(
        send(Some(Box::leak(server.base.clone().into_boxed_str())))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(own.status, 201, "{}", own.body);
    // Two cookies of that name are refused rather than guessed between.
    let two = common::read(
        client
            .get(format!("{}/api/v1/auth/me", server.base))
            .header(header::COOKIE, format!("shop_id={token}; shop_id={token}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    two.assert_problem("UNAUTHENTICATED", 401);
    server.stop().await;
}
on_both_backends!(
    cookie_token,
    a_cookie_borne_token_keeps_the_cross_site_rules
);

async fn backchannel_logout_ends_the_live_checkout_once(backend: Backend) {
    let idp = Idp::new();
    let server = with_keys(backend, &idp, |c| c.gateway_timeout_ms = 300).await;
    let mut with_sid = claims("gina", now(0), 600);
    with_sid["sid"] = "idp-session-1".into();
    let [gina_token, hank_token, ivy_token]: [String; 3] = idp
        .mint(&[
            signed("rsa", with_sid),
            signed("rsa", claims("hank", now(0), 600)),
            signed("rsa", claims("ivy", now(0), 600)),
        ])
        .try_into()
        .unwrap();
    let gina = customer(&server, "gina", &gina_token);
    let g = gina.checkout().await;
    let g_id = g["id"].as_str().unwrap();
    let hank = customer(&server, "hank", &hank_token);
    let h = hank.checkout().await;
    let h_id = h["id"].as_str().unwrap();
    // Ivy's payment is in flight (the provider never answers it).
    let ivy = customer(&server, "ivy", &ivy_token);
    let (ivy_id, digest) = ivy.ready_to_pay().await;
    ivy.pay(&ivy_id, &digest, NEVER_ANSWERS, "pay-1")
        .await
        .assert_problem("PAYMENT_IN_PROGRESS", 409);
    let [by_sub, by_sid, for_ivy, no_event, with_nonce]: [String; 5] = idp
        .mint(&[
            signed("rsa", logout_claims(Some("hank"), None, "jti-1")),
            signed("rsa", logout_claims(None, Some("idp-session-1"), "jti-2")),
            signed("rsa", logout_claims(Some("ivy"), None, "jti-3")),
            signed("rsa", {
                let mut c = logout_claims(Some("hank"), None, "jti-4");
                c["events"] = json!({});
                c
            }),
            signed("rsa", {
                let mut c = logout_claims(Some("hank"), None, "jti-5");
                c["nonce"] = "n".into();
                c
            }),
        ])
        .try_into()
        .unwrap();
    for bad in [&no_event, &with_nonce, &hank_token] {
        logout(&server, bad)
            .await
            .assert_problem("MALFORMED_REQUEST", 400);
    }
    assert_eq!(logout(&server, &by_sub).await.status, 200);
    // Used once: a replay is refused.
    logout(&server, &by_sub)
        .await
        .assert_problem("MALFORMED_REQUEST", 400);
    assert_eq!(logout(&server, &by_sid).await.status, 200);
    assert_eq!(logout(&server, &for_ivy).await.status, 200);
    // Hank's tokens from before the logout are refused; a new sign-in works and sees
    // the ended checkout.
    me(&server, &hank_token)
        .await
        .assert_problem("UNAUTHENTICATED", 401);
    let fresh = idp.one(signed("rsa", claims("hank", now(0) + 2, 600)));
    let hank = customer(&server, "hank", &fresh);
    let ended = hank.session(h_id).await;
    assert_eq!(
        (ended["status"].as_str(), ended["reason"].as_str()),
        (Some("INACTIVE"), Some("SIGNED_OUT")),
        "{ended}"
    );
    // Gina's token of that provider session is refused now; a new sign-in sees the end.
    gina.get("/auth/me")
        .await
        .assert_problem("UNAUTHENTICATED", 401);
    let gina_again = idp.one(signed("rsa", claims("gina", now(0) + 2, 600)));
    let gina = customer(&server, "gina", &gina_again);
    let by_provider_session = gina.session(g_id).await;
    assert_eq!(
        by_provider_session["reason"], "SIGNED_OUT",
        "{by_provider_session}"
    );
    // Never while a payment is in flight.
    let ivy = customer(
        &server,
        "ivy",
        &idp.one(signed("rsa", claims("ivy", now(0) + 2, 600))),
    );
    assert_eq!(ivy.session(&ivy_id).await["status"], "PAYMENT_PENDING");
    // A form is taken only on this route, and only a form.
    let json_body = common::read(
        Server::client()
            .post(format!("{}/api/v1/auth/backchannel-logout", server.base))
            .json(&json!({"logout_token": by_sub}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    json_body.assert_problem("UNSUPPORTED_MEDIA_TYPE", 415);
    server.stop().await;
}
on_both_backends!(
    backchannel_logout,
    backchannel_logout_ends_the_live_checkout_once
);

async fn the_key_set_stays_fresh_and_never_holds_a_request_long(backend: Backend) {
    let idp = Idp::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let (served, _task) = serve_jwks(listener, idp.jwks());
    let server = Server::start_with(backend, |c| {
        c.jwt_jwks_url = Some(url);
        c.jwt_audience = Some(AUDIENCE.into());
        c.jwt_jwks_refresh_secs = 1;
    })
    .await;
    let [rsa, ec]: [String; 2] = idp
        .mint(&[
            signed("rsa", claims("kim", now(0), 600)),
            signed("ec", claims("lee", now(0), 600)),
        ])
        .try_into()
        .unwrap();
    let mut ok = 0;
    for _ in 0..50 {
        ok = me(&server, &rsa).await.status;
        if ok == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ok, 200);
    // A set with no usable key (a provider's bad deploy) keeps the keys known.
    *served.body.lock().unwrap() = r#"{"keys": []}"#.into();
    let before = served.hits.load(Ordering::SeqCst);
    while served.hits.load(Ordering::SeqCst) < before + 2 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(me(&server, &rsa).await.status, 200);
    // The provider withdraws the RSA key: a token it signed stops working at the next
    // refresh, although no token named an unknown key.
    let mut set: Value = serde_json::from_str(&idp.jwks()).unwrap();
    set["keys"]
        .as_array_mut()
        .unwrap()
        .retain(|k| k["kid"] != "rsa-1");
    *served.body.lock().unwrap() = set.to_string();
    let mut status = 200;
    for _ in 0..50 {
        status = me(&server, &rsa).await.status;
        if status == 401 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 401, "a withdrawn key stops working");
    assert_eq!(me(&server, &ec).await.status, 200);
    // A slow provider holds no request long: every answer within the fetch wait.
    served.delay_ms.store(20_000, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let flood: Vec<Value> = (0..6)
        .map(|i| json!({"key": "rsa", "alg": "RS256", "kid": format!("slow-{i}"), "claims": claims("x", now(0), 600)}))
        .collect();
    let started = std::time::Instant::now();
    for token in idp.mint(&flood) {
        let t = std::time::Instant::now();
        me(&server, &token)
            .await
            .assert_problem("UNAUTHENTICATED", 401);
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(started.elapsed() < Duration::from_secs(15));
    served.delay_ms.store(0, Ordering::SeqCst);
    server.stop().await;
}
on_both_backends!(
    jwks_fresh,
    the_key_set_stays_fresh_and_never_holds_a_request_long
);

async fn signing_out_ends_the_token_and_logouts_cannot_be_replayed(backend: Backend) {
    let idp = Idp::new();
    let server = with_keys(backend, &idp, |_| {}).await;
    let t0 = now(0);
    let mut with_sid = claims("mia", t0, 600);
    with_sid["sid"] = "idp-session-9".into();
    let mut agent = claims("mia", t0, 600);
    agent["act"] = json!({"sub": "agent-3"});
    let mut no_iat_short = claims("nia", t0, 600);
    no_iat_short.as_object_mut().unwrap().remove("iat");
    let mut no_iat_later = claims("nia", t0, 3 * 86_400);
    no_iat_later.as_object_mut().unwrap().remove("iat");
    let mut no_exp = logout_claims(Some("mia"), None, "jti-x");
    no_exp.as_object_mut().unwrap().remove("exp");
    let [by_sid_token, mia_other, agent_token, mia_2, nia_short, nia_later, unseen_old, unseen_new, sid_logout, unseen_logout, nia_logout, no_exp_logout]: [String; 12] = idp
        .mint(&[
            signed("rsa", with_sid),
            signed("ec", claims("mia", t0, 600)),
            signed("ed", agent),
            signed("rsa", claims("mia", t0, 900)),
            signed("rsa", no_iat_short),
            signed("rsa", no_iat_later),
            signed("rsa", claims("olu", t0 - 10, 600)),
            signed("rsa", claims("olu", t0 + 2, 600)),
            signed("rsa", logout_claims(None, Some("idp-session-9"), "jti-sid")),
            signed("rsa", logout_claims(Some("olu"), None, "jti-olu")),
            signed("rsa", logout_claims(Some("nia"), None, "jti-nia")),
            signed("rsa", no_exp),
        ])
        .try_into()
        .unwrap();
    for token in [
        &by_sid_token,
        &mia_other,
        &agent_token,
        &mia_2,
        &nia_short,
        &nia_later,
    ] {
        assert_eq!(me(&server, token).await.status, 200);
    }
    // A logout token must expire (so its jti is kept as long as it could be replayed).
    logout(&server, &no_exp_logout)
        .await
        .assert_problem("MALFORMED_REQUEST", 400);
    // Back-channel logout of a provider session: its tokens are refused, the
    // customer's others are not.
    assert_eq!(logout(&server, &sid_logout).await.status, 200);
    me(&server, &by_sid_token)
        .await
        .assert_problem("UNAUTHENTICATED", 401);
    assert_eq!(me(&server, &mia_other).await.status, 200);
    // The agent signs out: that token ends, the customer's do not.
    let agent_session = customer(&server, "mia", &agent_token);
    assert_eq!(
        agent_session
            .send(Method::POST, "/auth/logout", None, &[])
            .await
            .status,
        204
    );
    me(&server, &agent_token)
        .await
        .assert_problem("UNAUTHENTICATED", 401);
    assert_eq!(me(&server, &mia_other).await.status, 200);
    // The customer signs out on one device: that token ends, a newer one works.
    let device = customer(&server, "mia", &mia_other);
    assert_eq!(
        device
            .send(Method::POST, "/auth/logout", None, &[])
            .await
            .status,
        204
    );
    me(&server, &mia_other)
        .await
        .assert_problem("UNAUTHENTICATED", 401);
    customer(&server, "mia", &mia_other)
        .initiate()
        .await
        .assert_problem("UNAUTHENTICATED", 401);
    assert_eq!(me(&server, &mia_2).await.status, 200);
    // A logout for a customer never seen here refuses their earlier tokens when they come.
    assert_eq!(logout(&server, &unseen_logout).await.status, 200);
    me(&server, &unseen_old)
        .await
        .assert_problem("UNAUTHENTICATED", 401);
    assert_eq!(me(&server, &unseen_new).await.status, 200);
    // Tokens without iat: one that may have been issued before the logout (it lives less
    // than a day past it) is refused; one that cannot have been is not.
    assert_eq!(logout(&server, &nia_logout).await.status, 200);
    me(&server, &nia_short)
        .await
        .assert_problem("UNAUTHENTICATED", 401);
    assert_eq!(me(&server, &nia_later).await.status, 200);
    // Replays stay refused for as long as the logout token could be accepted, sweeps
    // included.
    let used = "SELECT COUNT(*) AS n FROM used_logout_tokens";
    server.advance(100).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let replay = logout(&server, &sid_logout).await;
    replay.assert_problem("MALFORMED_REQUEST", 400);
    assert!(
        replay.body["detail"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{}",
        replay.body
    );
    assert_eq!(count(server.db(), used, &[]).await, 3);
    // Once the logout tokens could no longer be accepted, the sweeper forgets them.
    server.advance(200).await;
    let mut left = 3;
    for _ in 0..50 {
        left = count(server.db(), used, &[]).await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0);
    logout(&server, &sid_logout)
        .await
        .assert_problem("MALFORMED_REQUEST", 400);
    server.stop().await;
}
on_both_backends!(
    signing_out,
    signing_out_ends_the_token_and_logouts_cannot_be_replayed
);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The demo's identity provider (`checkout-demo-identity`, which `cargo xtask run`
/// starts) as a newcomer meets it: its sign-in form sets a token the server accepts by
/// its cookie, as the README wires it; a cross-site form is refused; its sign-out sends
/// a back-channel logout that ends the live checkout and the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_identity_provider_signs_a_customer_in_and_out() {
    let binary = common::workspace_binary("checkout-demo-identity");
    let (id_port, server_port) = (free_port(), free_port());
    let id_base = format!("http://127.0.0.1:{id_port}");
    /// Killed when the test ends, passed or not.
    struct Running(std::process::Child);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _identity = Running(
        std::process::Command::new(binary)
            .args(["--bind", &format!("127.0.0.1:{id_port}")])
            .args(["--checkout-url", &format!("http://127.0.0.1:{server_port}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut up = false;
    for _ in 0..100 {
        if plain
            .get(format!("{id_base}/jwks.json"))
            .send()
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the demo identity provider listens");
    // The flags `cargo xtask run` gives the server.
    let server = Server::start_with(Backend::Sqlite, |c| {
        c.bind = format!("127.0.0.1:{server_port}").parse().unwrap();
        c.jwt_jwks_url = Some(format!("{id_base}/jwks.json"));
        c.jwt_issuer = Some(id_base.clone());
        c.jwt_audience = Some("checkout-guard".into());
        c.jwt_cookie = Some("shop_id_token".into());
    })
    .await;
    let sign_in = |origin: &'static str| {
        plain
            .post(format!("{id_base}/sign-in"))
            .header(
                header::ORIGIN,
                if origin.is_empty() {
                    id_base.as_str()
                } else {
                    origin
                },
            )
            .form(&[
                ("sub", "reader-7"),
                ("email", "reader7@example.com"),
                ("name", "Reader Seven"),
                ("minutes", "5"),
                ("agent", ""),
            ])
            .send()
    };
    assert_eq!(sign_in("https://evil.example").await.unwrap().status(), 403);
    let signed_in = sign_in("").await.unwrap();
    assert_eq!(signed_in.status(), 303);
    let cookie = signed_in.headers()[header::SET_COOKIE].to_str().unwrap();
    let token = cookie
        .strip_prefix("shop_id_token=")
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_owned();
    // The server takes it from the cookie, as the storefront sends it (the first
    // request waits for the key set the server started fetching at start).
    let by_cookie = common::read(
        Server::client()
            .get(format!("{}/api/v1/auth/me", server.base))
            .header(header::COOKIE, format!("shop_id_token={token}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(by_cookie.status, 200, "{}", by_cookie.body);
    // The customer stored on first sight is named by the token's e-mail.
    assert_eq!(by_cookie.body["username"], "reader7@example.com");
    let reader = customer(&server, "reader-7", &token);
    let live = reader.checkout().await;
    let id = live["id"].as_str().unwrap().to_owned();
    // Signing out at the provider ends the checkout here (back-channel logout) and
    // the token with it.
    let out = plain
        .post(format!("{id_base}/sign-out"))
        .header(header::ORIGIN, id_base.as_str())
        .header(header::COOKIE, format!("shop_id_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    reader
        .get("/auth/me")
        .await
        .assert_problem("UNAUTHENTICATED", 401);
    let ended = texts(
        server.db(),
        "SELECT status || '/' || COALESCE(reason, '') AS s FROM checkout_sessions WHERE id = ?1",
        &[&id],
    )
    .await;
    assert_eq!(ended, ["INACTIVE/SIGNED_OUT"]);
    server.stop().await;
}
