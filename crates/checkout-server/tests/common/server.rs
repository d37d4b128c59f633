//! A real server in the test's process on a loopback port, and responses read whole.

use super::*;

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

    /// The JSON Pointers of a problem's `errors`, in order.
    pub fn pointers(&self) -> Vec<&str> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["pointer"].as_str())
                    .collect()
            })
            .unwrap_or_default()
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
        let _ = checkout_server::ops::telemetry::init("text", None);
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

    /// An admin request with extra headers (`If-Match`).
    pub async fn admin_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = Self::client()
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(ADMIN);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        read(req.send().await.unwrap()).await
    }

    /// Changes one entry of the stored catalog as an admin page does, by the catalog
    /// API: `products/<sku>` with `price`, `max_quantity` or `active` is read and put
    /// back (`PUT /admin/catalog/products/{sku}`); a promotion, voucher or shipping
    /// method (`promotions/<id>`, `vouchers/<code>`, `shipping-methods/<id>`) with
    /// `active: false` is taken out, a shipping `price` changed, and the whole document
    /// put back with `If-Match`. The answer of the PUT.
    pub async fn change_catalog(&self, path: &str, change: Value) -> Resp {
        let read = self.admin(Method::GET, "/admin/catalog", None).await;
        assert_eq!(read.status, 200, "{}", read.body);
        let version = read.headers["etag"].to_str().unwrap().to_owned();
        let mut doc = read.body;
        let (kind, id) = path.split_once('/').unwrap();
        if kind == "products" {
            let Some(mut product) = doc["products"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["sku"] == id)
                .cloned()
            else {
                return self
                    .admin(
                        Method::DELETE,
                        &format!("/admin/catalog/products/{id}"),
                        None,
                    )
                    .await;
            };
            for (field, value) in change.as_object().unwrap() {
                let field = if field == "price" {
                    "unit_price"
                } else {
                    field.as_str()
                };
                product[field] = value.clone();
            }
            return self
                .admin_with(
                    Method::PUT,
                    &format!("/admin/catalog/products/{id}"),
                    Some(product),
                    &[("if-match", &version)],
                )
                .await;
        }
        let (list, key) = match kind {
            "promotions" => ("promotions", "id"),
            "vouchers" => ("vouchers", "code"),
            _ => ("shipping_methods", "id"),
        };
        let entries = doc[list].as_array_mut().unwrap();
        if change["active"] == false {
            entries.retain(|e| e[key] != id);
        }
        if let Some(price) = change.get("price") {
            for e in entries.iter_mut().filter(|e| e[key] == id) {
                e["price"] = price.clone();
            }
        }
        self.admin_with(
            Method::PUT,
            "/admin/catalog",
            Some(doc),
            &[("if-match", &version)],
        )
        .await
    }

    /// Sends only the head of `method path` announcing a `length`-byte JSON body, with
    /// `headers` (`Name: value` lines), and asserts the answer is 413 `PAYLOAD_TOO_LARGE`
    /// before any of the body is sent (a client still sending would see its connection
    /// closed instead of the answer).
    pub async fn assert_refused_unread(
        &self,
        method: &str,
        path: &str,
        headers: &[&str],
        length: usize,
    ) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.base.trim_start_matches("http://").to_owned();
        let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
        let head = format!(
            "{method} /api/v1{path} HTTP/1.1\r\nHost: {addr}\r\n{extra}\
             Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n{{"
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        let mut answer = vec![0u8; 2048];
        let n = socket.read(&mut answer).await.unwrap();
        let text = String::from_utf8_lossy(&answer[..n]);
        assert!(
            text.starts_with("HTTP/1.1 413") && text.contains("PAYLOAD_TOO_LARGE"),
            "{text}"
        );
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

    /// How many orders checkout `id` has.
    pub async fn orders_of(&self, id: &str) -> i64 {
        count(
            self.db(),
            "SELECT COUNT(*) AS n FROM orders WHERE session_id = $1",
            &[id],
        )
        .await
    }

    /// The checkout's refunds once the first is `refunded` (waits up to 20 s).
    pub async fn refunds_once_refunded(&self, id: &str) -> Value {
        let path = format!("/admin/payments/refunds?checkout_id={id}");
        for _ in 0..200 {
            let r = self.admin(Method::GET, &path, None).await;
            if r.body[0]["state"] == "refunded" {
                return r.body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Value::Null
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

    /// The `/metrics` page, read with the admin token.
    pub async fn metrics_page(&self) -> String {
        Server::client()
            .get(format!("{}/metrics", self.base))
            .bearer_auth(super::ADMIN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
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
