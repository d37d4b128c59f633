//! The simulated payment provider as its own process, its test cards and timings.

use super::*;

/// Test cards of the simulated provider (`checkout-payment-sim`; not every test file
/// names one).
#[allow(unused_imports)]
pub use checkout_payment_sim::cards as test_cards;

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

/// The simulated provider's executable, built once per test process: it is a crate of
/// its own (`crates/checkout-payment-sim`), so cargo does not build it for this
/// package's tests by itself.
pub fn sim_binary() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| workspace_binary("checkout-payment-sim"))
        .clone()
}

/// Builds the workspace's binary package `package` in this test's profile and returns
/// its executable.
pub fn workspace_binary(package: &str) -> std::path::PathBuf {
    // target/<profile>/deps/<this test> → target/<profile>/<package>
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = std::process::Command::new(cargo);
    build.args(["build", "--quiet", "--package", package]);
    if dir.ends_with("release") {
        build.arg("--release");
    }
    let status = build
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap_or_else(|e| panic!("cargo build --package {package}: {e}"));
    assert!(status.success(), "building {package} failed");
    dir.join(package)
}

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
        let mut child = std::process::Command::new(sim_binary())
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

    /// Test control: how many lookups by key the provider answered.
    pub async fn lookups(&self) -> u64 {
        let r = self.call(Method::GET, "/sim/stats", None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["lookups"].as_u64().unwrap()
    }

    /// Test control: the provider's API answers 503 (`down`) or works again.
    pub async fn outage(&self, down: bool) {
        let r = self
            .call(Method::POST, "/sim/outage", Some(json!({ "down": down })))
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
    }

    /// The shopper's browser on the challenge page at `url` (a payment's
    /// `next_action.url`): loads it, then presses `button` (`approve` or `fail`).
    /// Returns where the provider sends the browser back (its 303's `Location`).
    pub async fn challenge(&self, url: &str, button: &str) -> String {
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = browser.get(url).send().await.unwrap();
        assert_eq!(page.status(), 200, "the challenge page {url}");
        let html = page.text().await.unwrap();
        assert!(
            html.contains(">Approve</button>") && html.contains(">Fail</button>"),
            "{html}"
        );
        Self::press(url, button).await
    }

    /// A button of the challenge page at `url` pressed (the page loaded long before).
    pub async fn press(url: &str, button: &str) -> String {
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let secret = url.split("secret=").nth(1).unwrap().to_owned();
        let action = url.split('?').next().unwrap();
        let pressed = browser
            .post(action)
            .form(&[("secret", secret.as_str()), ("outcome", button)])
            .send()
            .await
            .unwrap();
        assert_eq!(pressed.status(), 303, "pressing {button}");
        pressed.headers()["location"].to_str().unwrap().to_owned()
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
