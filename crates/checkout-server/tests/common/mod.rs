//! Test harness: a real server on a loopback port with a real database (a fresh SQLite
//! file in a temporary directory, or a fresh PostgreSQL database when
//! `CHECKOUT_TEST_POSTGRES_URL` names a server), and shoppers as real HTTP clients with
//! their own cookie jars.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use checkout_server::{config::Config, Running};
use reqwest::{header::HeaderMap, Client, Method};
use serde_json::{json, Value};

pub mod receiver;

pub const ADMIN: &str = "test-admin-token";

pub use checkout_server::config::TEST_WEBHOOK_SECRET;

/// Test cards of the simulated provider (`checkout-payment-sim`).
pub mod test_cards {
    pub const APPROVE: &str = "4242424242424242";
    pub const DECLINE: &str = "4000000000000002";
    pub const SLOW: &str = "4000000000000077";
    pub const TIMEOUT: &str = "4000000000000119";
    pub const LOST_ANSWER: &str = "4000000000009995";
    pub const WEBHOOK_ONLY: &str = "4000000000003220";
    pub const WEBHOOK_TWICE: &str = "4000000000004954";
    pub const OUT_OF_ORDER: &str = "4000000000005126";
    pub const LASTING: &str = "4000000000000259";
    pub const LATE: &str = "4000000000006975";
}

/// The simulated payment provider's timings in tests (each flag may be overridden).
pub const PROVIDER_ARGS: [&str; 10] = [
    "--webhook-delay-ms",
    "50",
    "--slow-ms",
    "2000",
    "--async-ms",
    "1000",
    "--lasting-ms",
    "4000",
    "--late-ms",
    "3000",
];

/// A `checkout-payment-sim` process on a free loopback port.
pub struct Provider {
    pub child: std::process::Child,
    pub base: String,
}

impl Provider {
    /// Starts the simulated provider with test control on, [`PROVIDER_ARGS`] and `args`.
    pub fn spawn(args: &[&str]) -> Provider {
        use std::io::{BufRead, BufReader};
        let defaults: Vec<&str> = PROVIDER_ARGS
            .chunks(2)
            .filter(|pair| !args.contains(&pair[0]))
            .flatten()
            .copied()
            .collect();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_checkout-payment-sim"))
            .args(["--bind", "127.0.0.1:0", "--test-control"])
            .args(["--webhook-secret", TEST_WEBHOOK_SECRET])
            .args(defaults)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn checkout-payment-sim");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines.next().expect("provider exited").unwrap();
            if let Some(url) = line.strip_prefix("checkout-payment-sim listening on ") {
                break url.trim().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Provider { child, base }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = Server::client()
            .request(method, format!("{}{path}", self.base))
            .bearer_auth("sk_test_simulated");
        if let Some(body) = body {
            req = req.json(&body);
        }
        read(req.send().await.unwrap()).await
    }

    /// Sends webhooks to the server at `base`.
    pub async fn send_webhooks_to(&self, base: &str) {
        self.point_webhooks_at(base);
    }

    /// [`Self::send_webhooks_to`] outside an async context (one small local request).
    pub fn point_webhooks_at(&self, base: &str) {
        let url = format!("{base}/api/v1/payments/webhook");
        let body = json!({ "url": url }).to_string();
        let status = raw_put(&self.base, "/v1/webhook_endpoint", &body);
        assert!(
            status.starts_with("HTTP/1.1 200"),
            "provider webhook URL: {status}"
        );
    }

    /// The provider's payments for a checkout, with `charged` and their `refunds`.
    pub async fn payments(&self, checkout_id: &str) -> Vec<Value> {
        let r = self
            .call(
                Method::GET,
                &format!("/v1/payments?checkout_id={checkout_id}"),
                None,
            )
            .await;
        r.body["data"].as_array().cloned().unwrap_or_default()
    }

    /// Payments charged for a checkout, and of those refunded.
    pub async fn charges(&self, checkout_id: &str) -> (usize, usize) {
        let payments = self.payments(checkout_id).await;
        let charged = payments.iter().filter(|p| p["charged"] == true).count();
        let refunded = payments
            .iter()
            .filter(|p| p["refunds"].as_array().is_some_and(|r| !r.is_empty()))
            .count();
        (charged, refunded)
    }

    /// Test control: the held answer of payment `id` goes out.
    pub async fn release(&self, id: &str) {
        let r = self
            .call(Method::POST, &format!("/sim/payments/{id}/release"), None)
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
    }

    /// Test control: sends payment `id`'s events `times` times; the server's statuses.
    pub async fn resend(&self, id: &str, times: u32) -> Vec<u64> {
        let r = self
            .call(
                Method::POST,
                &format!("/sim/payments/{id}/webhooks"),
                Some(json!({ "times": times })),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_u64().unwrap())
            .collect()
    }

    /// Waits until the provider has a payment for the checkout; returns it.
    pub async fn wait_for_payment(&self, checkout_id: &str) -> Value {
        for _ in 0..400 {
            if let Some(p) = self.payments(checkout_id).await.into_iter().next() {
                return p;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("no payment for {checkout_id} at the provider");
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server for tests, if configured.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("CHECKOUT_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A fresh PostgreSQL database on the test server; returns its URL.
pub async fn fresh_postgres_database() -> String {
    use sqlx::{Connection, Executor};
    let admin = postgres_admin_url().expect("CHECKOUT_TEST_POSTGRES_URL");
    let name = format!("cg_test_{}", uuid::Uuid::now_v7().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to test PostgreSQL");
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create test database");
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(b, _)| b)
        .to_owned();
    format!("{base}/{name}")
}

/// Drops a database made by [`fresh_postgres_database`].
pub async fn drop_postgres_database(url: &str) {
    use sqlx::{Connection, Executor};
    let Some(admin) = postgres_admin_url() else {
        return;
    };
    let Some((_, name)) = url.rsplit_once('/') else {
        return;
    };
    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
        let _ = conn
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await;
    }
}

/// Runs `body` on SQLite, and on PostgreSQL when one is configured (printing clearly
/// when it is not, so a skipped backend is never mistaken for a pass).
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:path) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                $body(common::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if common::postgres_admin_url().is_none() {
                    println!(
                        "SKIPPED (no CHECKOUT_TEST_POSTGRES_URL): {}::postgres",
                        stringify!($name)
                    );
                    return;
                }
                $body(common::Backend::Postgres).await;
            }
        }
    };
}

/// A running test server.
pub struct Server {
    pub config: Config,
    pub running: Running,
    pub base: String,
    pub dir: tempfile::TempDir,
    pub backend: Backend,
    pub database_url: Option<String>,
    pub provider: Provider,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Resp {
    /// The problem `code`, if any.
    pub fn code(&self) -> Option<&str> {
        self.body.get("code").and_then(Value::as_str)
    }

    /// Asserts a problem with this code and status, and the problem content type.
    pub fn assert_problem(&self, code: &str, status: u16) {
        assert_eq!(self.code(), Some(code), "body: {}", self.body);
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(
            self.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
        );
        assert_eq!(self.body["status"].as_u64(), Some(u64::from(status)));
        assert!(self.body["title"].is_string() && self.body["detail"].is_string());
    }

    pub fn replayed(&self) -> bool {
        self.headers
            .get("idempotent-replayed")
            .is_some_and(|v| v == "true")
    }

    pub fn str(&self, field: &str) -> String {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field} in {}", self.body))
            .to_owned()
    }
}

impl Server {
    pub async fn start(backend: Backend) -> Server {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Server {
        Self::start_with_provider(backend, &[], adjust).await
    }

    /// A server with a simulated provider started with `provider_args`.
    pub async fn start_with_provider(
        backend: Backend,
        provider_args: &[&str],
        adjust: impl FnOnce(&mut Config),
    ) -> Server {
        let _ = checkout_server::telemetry::init("text", None);
        let provider = Provider::spawn(provider_args);
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::for_tests(dir.path().to_path_buf());
        config.static_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../www");
        let database_url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(fresh_postgres_database().await),
        };
        config.database_url = database_url.clone();
        config.payment_provider_url = provider.base.clone();
        adjust(&mut config);
        let running = checkout_server::start(config.clone())
            .await
            .expect("server starts");
        let base = format!("http://{}", running.addr);
        provider.send_webhooks_to(&base).await;
        Server {
            config,
            running,
            base,
            dir,
            backend,
            database_url,
            provider,
        }
    }

    /// A shopper's HTTP client (its own cookie jar). Plain HTTP to loopback: the
    /// system's root certificates are not loaded (reading them for each of hundreds of
    /// shoppers would starve the test of CPU).
    pub fn client() -> Client {
        Client::builder()
            .cookie_store(true)
            .pool_max_idle_per_host(64)
            .tls_built_in_root_certs(false)
            .build()
            .unwrap()
    }

    /// A new shopper, signed up and signed in.
    pub async fn shopper(&self, name: &str) -> Shopper {
        Shopper::sign_up(&Self::client(), &self.base, name).await
    }

    /// An admin request.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let client = Self::client();
        let mut req = client
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(ADMIN);
        if let Some(body) = body {
            req = req.json(&body);
        }
        read(req.send().await.unwrap()).await
    }

    /// The events of a session (admin API), oldest first.
    pub async fn events(&self, session_id: &str) -> Vec<Value> {
        let r = self
            .admin(
                Method::GET,
                &format!("/admin/checkouts/{session_id}/events"),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body.as_array().cloned().unwrap_or_default()
    }

    /// The names of a session's transitions, oldest first.
    pub async fn transitions(&self, session_id: &str) -> Vec<String> {
        self.events(session_id)
            .await
            .iter()
            .map(|e| e["transition"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Moves the server clock forward.
    pub async fn advance(&self, seconds: i64) {
        let r = self
            .admin(
                Method::POST,
                "/admin/test-clock",
                Some(json!({"advance_seconds": seconds})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    /// Stops the server cleanly and starts it again on the same data (and the same port,
    /// so shoppers' cookies still apply).
    pub async fn restart(self, adjust: impl FnOnce(&mut Config)) -> Server {
        let Server {
            mut config,
            running,
            base,
            dir,
            backend,
            database_url,
            provider,
        } = self;
        config.bind = running.addr;
        running.shutdown().await.unwrap();
        adjust(&mut config);
        let running = checkout_server::start(config.clone())
            .await
            .expect("server restarts");
        Server {
            config,
            running,
            base,
            dir,
            backend,
            database_url,
            provider,
        }
    }

    /// The server's database (for checks the API does not expose, such as the payment
    /// gateway's ledger).
    pub fn db(&self) -> &checkout_server::db::Db {
        &self.running.state.db
    }

    pub async fn stop(self) {
        self.running.shutdown().await.unwrap();
        if let Some(url) = &self.database_url {
            drop_postgres_database(url).await;
        }
    }
}

pub async fn read(response: reqwest::Response) -> Resp {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Resp {
        status,
        body,
        headers,
    }
}

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

    /// Chooses a shipping and a payment method; returns the session body after both.
    pub async fn choose(&self, id: &str, shipping: &str, payment: &str) -> Value {
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

/// A cheap password hash, and limits high enough for tests that sign many shoppers up
/// from one address, for each flag that `args` does not set itself.
fn generous_limits(args: &[&str]) -> Vec<&'static str> {
    [
        ["--bind", "127.0.0.1:0"],
        ["--argon2-memory-kib", "1024"],
        ["--hash-wait-ms", "60000"],
        ["--signups-per-address-per-hour", "1000000"],
        ["--initiations-per-shopper-per-minute", "1000000"],
        ["--login-failures-per-address", "1000000"],
        ["--idempotency-keys-per-shopper", "1000000"],
        ["--changes-per-shopper-per-minute", "1000000"],
        ["--card-attempts-per-shopper-per-hour", "1000000"],
        ["--card-attempts-per-address-per-hour", "1000000"],
    ]
    .into_iter()
    .filter(|[flag, _]| !args.contains(flag))
    .flatten()
    .collect()
}

/// A PUT with the provider's secret key over a plain socket (usable outside an async
/// runtime and inside one); returns the status line.
fn raw_put(base: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let authority = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    write!(
        stream,
        "PUT {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer sk_test_simulated\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_owned()
}

/// A `checkout-server` process (for restarts, `kill -9` and several instances), with
/// its own simulated provider unless `args` name one.
pub struct Process {
    pub child: std::process::Child,
    pub base: String,
    pub provider: Option<Provider>,
    /// Its standard output and error, the last 50,000 lines.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

fn keep(log: &std::sync::Mutex<Vec<String>>, line: String) {
    let mut log = log.lock().unwrap();
    if log.len() >= 50_000 {
        log.remove(0);
    }
    log.push(line);
}

impl Process {
    /// Starts the binary with `args` on a free loopback port and waits until it listens.
    pub fn spawn(data_dir: &std::path::Path, args: &[&str]) -> Process {
        Self::spawn_logging(data_dir, args, "warn")
    }

    /// [`Self::spawn`] with `RUST_LOG=rust_log`; its log lines are kept in `log`.
    pub fn spawn_logging(data_dir: &std::path::Path, args: &[&str], rust_log: &str) -> Process {
        let binary = std::path::Path::new(env!("CARGO_BIN_EXE_checkout-server"));
        Self::spawn_binary(binary, data_dir, args, rust_log)
    }

    /// [`Self::spawn_logging`] with another build of the server (an earlier release).
    pub fn spawn_binary(
        binary: &std::path::Path,
        data_dir: &std::path::Path,
        args: &[&str],
        rust_log: &str,
    ) -> Process {
        use std::io::{BufRead, BufReader};
        // An earlier release does not know the flags added since.
        let ours = binary == std::path::Path::new(env!("CARGO_BIN_EXE_checkout-server"));
        let limits: Vec<&str> = generous_limits(args)
            .chunks(2)
            .filter(|pair| ours || pair[0] != "--card-attempts-per-address-per-hour")
            .flatten()
            .copied()
            .collect();
        let provider = (!args.contains(&"--payment-provider-url")).then(|| Provider::spawn(&[]));
        let provider_url: Vec<String> = provider
            .iter()
            .flat_map(|p| ["--payment-provider-url".to_owned(), p.base.clone()])
            .collect();
        let mut child = std::process::Command::new(binary)
            .args(["--admin-token", ADMIN, "--test-clock"])
            .args(["--payment-webhook-secret", TEST_WEBHOOK_SECRET])
            // The tests' order-event receivers listen on 127.0.0.1.
            .arg("--outbox-allow-private")
            .args(provider_url)
            .arg("--data-dir")
            .arg(data_dir)
            .args(limits)
            .args(args)
            .env("RUST_LOG", rust_log)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn checkout-server");
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let kept = std::sync::Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                keep(&kept, line);
            }
        });
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("server exited before listening")
                .unwrap();
            if let Some(url) = line.strip_prefix("checkout-server listening on ") {
                break url.trim().to_owned();
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        let kept = std::sync::Arc::clone(&log);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                keep(&kept, line);
            }
        });
        if let Some(provider) = &provider {
            provider.point_webhooks_at(&base);
        }
        Process {
            child,
            base,
            provider,
            log,
        }
    }

    /// `kill -9`.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }

    /// A shopper talking to this process (cookies are per host, so one shopper can
    /// move between instances on 127.0.0.1).
    pub fn shopper(&self, client: &Client, name: &str) -> Shopper {
        Shopper {
            client: client.clone(),
            base: self.base.clone(),
            name: name.to_owned(),
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The integer a query returns in its column `n` (arguments bound as texts, `$1`…).
pub async fn count(db: &checkout_server::db::Db, sql: &str, args: &[&str]) -> i64 {
    let mut query = checkout_server::db::query(sql);
    for arg in args {
        query = query.bind(*arg);
    }
    query.fetch_one(db).await.unwrap().try_get("n").unwrap()
}

/// The texts a query returns in its column `s`, one per row.
pub async fn texts(db: &checkout_server::db::Db, sql: &str, args: &[&str]) -> Vec<String> {
    column(db, sql, args, "s").await
}

/// SQLite's plan for `sql` (`EXPLAIN QUERY PLAN`), a line per step.
pub async fn query_plan(db: &checkout_server::db::Db, sql: &str, args: &[&str]) -> Vec<String> {
    column(db, &format!("EXPLAIN QUERY PLAN {sql}"), args, "detail").await
}

async fn column(db: &checkout_server::db::Db, sql: &str, args: &[&str], name: &str) -> Vec<String> {
    let mut query = checkout_server::db::query(sql);
    for arg in args {
        query = query.bind(*arg);
    }
    query
        .fetch_all(db)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get(name).unwrap())
        .collect()
}

/// A `/proc/<pid>/status` field in KiB (`VmHWM`, `RssAnon`, …).
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let prefix = format!("{field}:");
    status
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}
