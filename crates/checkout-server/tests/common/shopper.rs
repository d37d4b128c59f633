//! Shoppers as real HTTP clients with their own cookie jars.

use super::*;

/// A signed-in shopper with a cookie jar.
#[derive(Clone)]
pub struct Shopper {
    pub client: Client,
    pub base: String,
    pub name: String,
}

/// The password every test shopper uses.
pub const PASSWORD: &str = "correct horse";

impl Shopper {
    /// Signs up `name` at `base` with `client`'s cookie jar.
    pub async fn sign_up(client: &Client, base: &str, name: &str) -> Shopper {
        Self::authenticated(client, base, name, "/auth/signup", 201).await
    }

    /// The answer to signing in as `name` with the right password (new cookie jar).
    pub async fn sign_in_answer(base: &str, name: &str) -> Resp {
        Shopper {
            client: Server::client(),
            base: base.to_owned(),
            name: name.to_owned(),
        }
        .send(
            Method::POST,
            "/auth/login",
            Some(json!({"username": name, "password": PASSWORD})),
            &[],
        )
        .await
    }

    /// Signs in as an existing shopper with a new cookie jar (another device).
    pub async fn sign_in(base: &str, name: &str) -> Shopper {
        Self::authenticated(&Server::client(), base, name, "/auth/login", 200).await
    }

    async fn authenticated(
        client: &Client,
        base: &str,
        name: &str,
        path: &str,
        status: u16,
    ) -> Shopper {
        let shopper = Shopper {
            client: client.clone(),
            base: base.to_owned(),
            name: name.to_owned(),
        };
        let r = shopper
            .send(
                Method::POST,
                path,
                Some(json!({"username": name, "password": PASSWORD})),
                &[],
            )
            .await;
        assert_eq!(r.status, status, "{path} {name}: {}", r.body);
        shopper
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self
            .client
            .request(method, format!("{}/api/v1{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        read(req.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None, &[]).await
    }

    pub async fn add(&self, sku: &str, quantity: i64) -> Resp {
        let r = self
            .send(
                Method::POST,
                "/cart/items",
                Some(json!({"sku": sku, "quantity": quantity})),
                &[],
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r
    }

    pub async fn initiate(&self) -> Resp {
        self.send(Method::POST, "/checkouts", None, &[]).await
    }

    /// Adds a brownie and starts a checkout; returns the session body as initiation
    /// answered it (nothing selected yet).
    pub async fn bare_checkout(&self) -> Value {
        self.add("BRW-FUDGE", 2).await;
        let r = self.initiate().await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    }

    /// Starts a checkout as [`Self::bare_checkout`], then chooses standard shipping and
    /// invoice, so that Place Order is possible (CONTRACT §5a); returns the initiation
    /// body (with its recovery token) carrying the digest and snapshot after the choices.
    pub async fn checkout(&self) -> Value {
        let started = self.bare_checkout().await;
        self.ready(started).await
    }

    /// Makes a started session ready for Place Order (standard shipping, invoice):
    /// `started` with the digest and snapshot after the choices.
    pub async fn ready(&self, mut started: Value) -> Value {
        let id = started["id"].as_str().expect("id").to_owned();
        let chosen = self.choose(&id, "standard", "invoice").await;
        for field in ["digest", "snapshot"] {
            started[field] = chosen[field].clone();
        }
        started
    }

    /// Gives the checkout a shipping address in `country`; the answer.
    pub async fn ship_to(&self, id: &str, country: &str) -> Resp {
        self.send(
            Method::PUT,
            &format!("/checkouts/{id}/shipping-address"),
            Some(json!({
                "name": format!("{} Shopper", self.name),
                "line1": "1 Main Street",
                "city": "Springfield",
                "postal_code": "12345",
                "country": country,
            })),
            &[],
        )
        .await
    }

    /// Gives a shipping address in the catalog's own country (the bakery's: US), then
    /// chooses a shipping and a payment method; returns the session body after them.
    pub async fn choose(&self, id: &str, shipping: &str, payment: &str) -> Value {
        let r = self.ship_to(id, "US").await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = self.select(id, "shipping-method", shipping).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = self.select(id, "payment-method", payment).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    pub async fn action(&self, id: &str, action: &str, digest: &str, key: &str) -> Resp {
        self.send(
            Method::POST,
            &format!("/checkouts/{id}/{action}"),
            Some(json!({"snapshot_digest": digest})),
            &[("Idempotency-Key", key)],
        )
        .await
    }

    /// Starts a checkout ready for Place Order and places it with `key`; the order.
    pub async fn order(&self, key: &str) -> Value {
        let s = self.checkout().await;
        let r = self
            .place_order(
                s["id"].as_str().unwrap(),
                s["digest"].as_str().unwrap(),
                key,
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    }

    pub async fn place_order(&self, id: &str, digest: &str, key: &str) -> Resp {
        self.action(id, "place-order", digest, key).await
    }

    /// Pays with `card`, tokenized with the provider as the storefront does (one token
    /// per card and key, so that a retry sends the same body).
    pub async fn pay(&self, id: &str, digest: &str, card: &str, key: &str) -> Resp {
        let token = self.token_for(card, key).await;
        self.send(
            Method::POST,
            &format!("/checkouts/{id}/pay"),
            Some(json!({"snapshot_digest": digest, "payment_token": token})),
            &[("Idempotency-Key", key)],
        )
        .await
    }

    /// The token for `card` under `key`, made once.
    pub async fn token_for(&self, card: &str, key: &str) -> String {
        use std::{collections::HashMap, sync::Mutex};
        static TOKENS: std::sync::OnceLock<Mutex<HashMap<String, String>>> =
            std::sync::OnceLock::new();
        let tokens = TOKENS.get_or_init(Default::default);
        // Per provider (each test has its own), so two processes sharing one agree.
        let setup = self.payment_setup().await;
        let id = format!("{} {} {card} {key}", setup.str("tokenize_url"), self.name);
        if let Some(token) = tokens.lock().unwrap().get(&id) {
            return token.clone();
        }
        let token = self.tokenize_with(&setup, card, false).await;
        tokens.lock().unwrap().insert(id, token.clone());
        token
    }

    async fn payment_setup(&self) -> Resp {
        let setup = self.get("/payments/config").await;
        assert_eq!(setup.status, 200, "{}", setup.body);
        setup
    }

    /// Tokenizes `card` with the provider the server names in `/payments/config`, as
    /// the storefront does (`hold`: test control, the answer waits for a release).
    pub async fn tokenize(&self, card: &str, hold: bool) -> String {
        let setup = self.payment_setup().await;
        self.tokenize_with(&setup, card, hold).await
    }

    async fn tokenize_with(&self, setup: &Resp, card: &str, hold: bool) -> String {
        let r = read(
            self.client
                .post(setup.str("tokenize_url"))
                .bearer_auth(setup.str("publishable_key"))
                .json(&json!({"card_number": card, "hold": hold}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.str("id")
    }

    /// Pays with a token.
    pub async fn pay_with_token(&self, id: &str, digest: &str, token: &str, key: &str) -> Resp {
        self.send(
            Method::POST,
            &format!("/checkouts/{id}/pay"),
            Some(json!({"snapshot_digest": digest, "payment_token": token})),
            &[("Idempotency-Key", key)],
        )
        .await
    }

    pub async fn select(&self, id: &str, what: &str, method_id: &str) -> Resp {
        self.send(
            Method::PUT,
            &format!("/checkouts/{id}/{what}"),
            Some(json!({"method_id": method_id})),
            &[],
        )
        .await
    }

    /// A checkout ready for Pay Now (standard shipping, Card): its id and digest.
    pub async fn ready_to_pay(&self) -> (String, String) {
        let s = self.checkout().await;
        let id = s["id"].as_str().unwrap().to_owned();
        let r = self.select(&id, "payment-method", "card").await;
        (id, r.str("digest"))
    }

    /// The session once its status is `status` (waits up to 15 s).
    pub async fn wait_for_status(&self, id: &str, status: &str) -> Value {
        for _ in 0..150 {
            let s = self.session(id).await;
            if s["status"] == status {
                return s;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("session {id} never reached {status}");
    }

    /// Back from the provider's page: the server asks the provider now.
    pub async fn refresh_payment(&self, id: &str) -> Resp {
        self.send(
            Method::POST,
            &format!("/checkouts/{id}/payment/refresh"),
            None,
            &[],
        )
        .await
    }

    /// Cancels the payment that waits for the shopper at the provider.
    pub async fn cancel_payment(&self, id: &str) -> Resp {
        self.send(
            Method::POST,
            &format!("/checkouts/{id}/payment/cancel"),
            None,
            &[],
        )
        .await
    }

    pub async fn session(&self, id: &str) -> Value {
        let r = self.get(&format!("/checkouts/{id}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }
}

/// The numeric part of a checkout number (`CO-22112026-000042` → 42).
pub fn number_part(number: &str) -> i64 {
    number.rsplit('-').next().unwrap().parse().unwrap()
}
