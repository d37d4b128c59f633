//! How the server reaches its payment provider and hears from it (CONTRACT §20): over
//! HTTPS trusting a CA made here (`--extra-ca-file`), never plain HTTP beyond this
//! machine; a provider's adapter sees every header of a webhook (a `Stripe-Signature`
//! scheme works); and `kill -9` of the server while the shopper is at the challenge.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{sync::Arc, time::Duration};

use axum::http::HeaderMap;
use checkout_server::{
    config::Config,
    payments::{
        provider::BoxFuture, HttpProvider, NewPayment, PaymentProvider, ProviderError,
        ProviderPayment, WebhookError, WebhookEvent,
    },
};
use common::{receiver::TestPki, test_cards, Provider, Server, Shopper};
use serde_json::json;

/// The provider behind a TLS proxy whose certificate a test CA issued: trusted with
/// `--extra-ca-file`, payments and 3-D Secure work over HTTPS; without it, the server
/// refuses the provider's certificate and nothing is charged.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_provider_over_https_with_a_test_ca() {
    let pki = TestPki::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let https = format!(
        "https://localhost:{}",
        listener.local_addr().unwrap().port()
    );
    let provider = Provider::spawn(&["--public-url", &https]);
    let behind = provider.base.trim_start_matches("http://").to_owned();
    common::receiver::tls_proxy(listener, &pki, behind);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("test-ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();

    for trusted in [true, false] {
        let data = tempfile::tempdir().unwrap();
        let mut config = Config::for_tests(data.path().to_path_buf());
        config.payment_provider_url = https.clone();
        // The shoppers' browsers (test clients that do not know the test CA) tokenize
        // on the provider's own port; the server goes through HTTPS.
        config.payment_provider_public_url = Some(provider.base.clone());
        config.gateway_timeout_ms = 2_000;
        config.extra_ca_file = trusted.then(|| ca.clone());
        let running = checkout_server::start(config).await.expect("server starts");
        let base = format!("http://{}", running.addr);
        provider.send_webhooks_to(&base).await;
        let alice = Shopper::sign_up(&Server::client(), &base, "alice").await;
        let (id, digest) = alice.ready_to_pay().await;
        if trusted {
            let paid = alice.pay(&id, &digest, test_cards::APPROVE, "k1").await;
            assert_eq!(paid.status, 201, "{}", paid.body);
            let (id2, digest2) = alice.ready_to_pay().await;
            let r = alice.pay(&id2, &digest2, test_cards::CHALLENGE, "k2").await;
            assert_eq!(r.status, 202, "{}", r.body);
            let url = r.body["next_action"]["url"].as_str().unwrap().to_owned();
            assert!(url.starts_with(&format!("{https}/challenge/")), "{url}");
            assert_eq!(provider.charges(&id).await, (1, 0));
        } else {
            // The tokenization is the browser's; the server's call is what fails.
            let r = alice.pay(&id, &digest, test_cards::APPROVE, "k1").await;
            r.assert_problem("PAYMENT_IN_PROGRESS", 409);
            assert!(
                provider.payments(&id).await.is_empty(),
                "nothing reached the provider"
            );
        }
        running.shutdown().await.unwrap();
    }
}

/// A provider address in plain HTTP beyond this machine, or not a URL, stops the start
/// with the reason.
#[tokio::test]
async fn plain_http_to_a_provider_beyond_this_machine_is_refused() {
    for (url, why) in [
        ("http://payments.example.com", "use https://"),
        ("http://10.0.0.7:8081", "use https://"),
        ("ftp://payments.example.com", "only https://"),
        ("not a url", "--payment-provider-url"),
    ] {
        let data = tempfile::tempdir().unwrap();
        let mut config = Config::for_tests(data.path().to_path_buf());
        config.payment_provider_url = url.into();
        let Err(error) = checkout_server::start(config.clone()).await else {
            panic!("{url}: the server started");
        };
        assert!(error.contains(why), "{url}: {error}");
        assert!(config.check().unwrap_err().contains(why), "{url}");
    }
}

/// A shop's own adapter for a provider that signs with `Stripe-Signature` (same
/// t=…,v1=… HMAC scheme, another header): it sees every header of the webhook. With
/// `action_url`, it passes on that address for a step at the bank instead of the
/// provider's (a provider, or an adapter, gone wrong).
struct ShopAdapter {
    inner: HttpProvider,
    secret: Vec<u8>,
    action_url: Option<Option<String>>,
}

impl PaymentProvider for ShopAdapter {
    fn create_and_confirm<'a>(
        &'a self,
        payment: &'a NewPayment,
    ) -> BoxFuture<'a, Result<ProviderPayment, ProviderError>> {
        Box::pin(async move {
            let mut answer = self.inner.create_and_confirm(payment).await?;
            if let Some(url) = &self.action_url {
                answer.next_action.clone_from(url);
            }
            Ok(answer)
        })
    }
    fn lookup<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<ProviderPayment>, ProviderError>> {
        self.inner.lookup(key)
    }
    fn cancel<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<ProviderPayment, ProviderError>> {
        self.inner.cancel(id)
    }
    fn refund<'a>(
        &'a self,
        id: &'a str,
        key: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<String, ProviderError>> {
        self.inner.refund(id, key, reason)
    }
    fn webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<WebhookEvent, WebhookError> {
        let signature = headers
            .get("stripe-signature")
            .and_then(|v| v.to_str().ok());
        checkout_core::signature::verify(signature, body, &[&self.secret], now)
            .map_err(WebhookError::Signature)?;
        let event: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| WebhookError::Malformed("not JSON".into()))?;
        Ok(WebhookEvent {
            id: event["id"].as_str().unwrap_or_default().to_owned(),
            payment: None,
        })
    }
    fn browser(&self) -> checkout_server::payments::BrowserSetup {
        self.inner.browser()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shops_adapter_reads_its_providers_own_signature_header() {
    let data = tempfile::tempdir().unwrap();
    let config = Config::for_tests(data.path().to_path_buf());
    let secret = b"whsec_stripe_style_0123456789".to_vec();
    let adapter = ShopAdapter {
        inner: config.provider().unwrap(),
        secret: secret.clone(),
        action_url: None,
    };
    let running = checkout_server::start_with_provider(config, Arc::new(adapter))
        .await
        .unwrap();
    let url = format!("http://{}/api/v1/payments/webhook", running.addr);
    let body = json!({"id": "evt_stripe_1", "type": "charge.updated", "data": {}}).to_string();
    let signed = checkout_core::signature::sign(&secret, body.as_bytes(), chrono::Utc::now());
    let client = Server::client();
    let send = |header: &'static str, value: String| {
        client
            .post(&url)
            .header(header, value)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    };
    let taken = send("Stripe-Signature", signed.clone()).await.unwrap();
    assert_eq!(taken.status(), 200);
    // The same signature under the simulated provider's header is not this provider's.
    let refused = send("Checkout-Signature", signed).await.unwrap();
    assert_eq!(refused.status(), 403);
    running.shutdown().await.unwrap();
}

/// A provider that asks for a step at the bank with no usable address (none, or a
/// `javascript:` URL): nothing reaches the browser; the payment is cancelled with the
/// provider at once and the shopper may pay another way.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unusable_bank_address_is_cancelled_not_passed_on() {
    let provider = Provider::spawn(&[]);
    for (name, bad) in [
        (
            "alice",
            Some("javascript:alert(document.cookie)".to_owned()),
        ),
        ("bob", None),
    ] {
        let data = tempfile::tempdir().unwrap();
        let mut config = Config::for_tests(data.path().to_path_buf());
        config.payment_provider_url = provider.base.clone();
        let adapter = ShopAdapter {
            inner: config.provider().unwrap(),
            secret: Vec::new(),
            action_url: Some(bad.clone()),
        };
        let running = checkout_server::start_with_provider(config, Arc::new(adapter))
            .await
            .unwrap();
        let base = format!("http://{}", running.addr);
        let alice = Shopper::sign_up(&Server::client(), &base, name).await;
        let (id, digest) = alice.ready_to_pay().await;
        let r = alice.pay(&id, &digest, test_cards::CHALLENGE, "k1").await;
        r.assert_problem("PAYMENT_DECLINED", 402);
        assert!(
            !r.body.to_string().contains("javascript"),
            "{bad:?}: {}",
            r.body
        );
        assert_eq!(alice.session(&id).await["status"], "ACTIVE");
        let at_provider = provider.payments(&id).await;
        assert_eq!(at_provider.len(), 1, "{bad:?}: {}", r.body);
        assert_eq!(at_provider[0]["status"], "canceled", "{bad:?}");
        let paid = alice.pay(&id, &digest, test_cards::APPROVE, "k2").await;
        assert_eq!(paid.status, 201, "{}", paid.body);
        assert_eq!(provider.charges(&id).await, (1, 0));
        running.shutdown().await.unwrap();
    }
}

/// `kill -9` of the server while the shopper is at the bank's page; the shopper
/// approves while it is down and comes back to the restarted server: one order, one
/// charge.
#[test]
fn a_server_killed_while_the_shopper_is_at_the_challenge() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let provider = Provider::spawn(&[]);
    let args = [
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
    let r = runtime.block_on(alice.pay(&id, &digest, test_cards::CHALLENGE, "k"));
    assert_eq!(r.status, 202, "{}", r.body);
    let url = r.body["next_action"]["url"].as_str().unwrap().to_owned();
    first.kill();
    // At the bank meanwhile; the webhook finds nobody and is retried.
    runtime.block_on(provider.challenge(&url, "approve"));
    let second = common::Process::spawn(dir.path(), &args);
    let alice = second.shopper(&client, "alice");
    runtime.block_on(async {
        provider.send_webhooks_to(&second.base).await;
        let mut status = String::new();
        for _ in 0..50 {
            let back = alice.refresh_payment(&id).await;
            status = back.str("status");
            if status == "COMPLETED" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(status, "COMPLETED");
        let replay = alice.pay(&id, &digest, test_cards::CHALLENGE, "k").await;
        assert_eq!(replay.status, 201, "{}", replay.body);
        assert_eq!(provider.charges(&id).await, (1, 0));
    });
    let db_dir = dir.path().to_path_buf();
    assert!(second.terminate().success(), "clean shutdown on SIGTERM");
    runtime.block_on(async {
        let db = checkout_server::db::Db::connect(None, &db_dir, 2)
            .await
            .unwrap();
        let orders = common::count(
            &db,
            "SELECT COUNT(*) AS n FROM orders WHERE session_id = $1",
            &[&id],
        )
        .await;
        db.close().await;
        assert_eq!(orders, 1);
    });
}
