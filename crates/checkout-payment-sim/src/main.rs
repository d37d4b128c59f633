//! `checkout-payment-sim`: a simulated payment provider, run as its own HTTP process on
//! loopback, shaped like the real ones (Stripe, Adyen, Braintree):
//!
//! - `POST /v1/tokens` (publishable key, CORS): the browser tokenizes a card, as a
//!   provider's browser SDK does; the shop only ever sees the token.
//! - `POST /v1/payments` (secret key, `Idempotency-Key`): create a payment for a token,
//!   confirmed at once with `"confirm": true`; `POST /v1/payments/{id}/confirm`,
//!   `GET /v1/payments?idempotency_key=…|checkout_id=…`, `POST /v1/payments/{id}/cancel`,
//!   `POST /v1/refunds` (`Idempotency-Key`).
//! - Webhooks to the URL set by `--webhook-url` or `PUT /v1/webhook_endpoint`, signed
//!   `Checkout-Signature: t=…,v1=…` with `--webhook-secret`, retried on failure.
//! - `GET /challenge/{id}?secret=…`: the 3-D Secure challenge page of a payment made
//!   with a challenge card (answered `requires_action` with
//!   `next_action.redirect_to_url`), with **Approve** and **Fail**; either sends the
//!   browser back to the payment's `return_url`.
//! - With `--test-control`: `POST /sim/payments/{id}/release`,
//!   `POST /sim/payments/{id}/webhooks` for tests that choose the order of events, and
//!   `POST /sim/outage {"down": true}` (the API answers 503; the challenge pages work).
//!
//! The test cards are [`checkout_payment_sim::cards`]; what each one does is in `ledger.rs`.

mod api;
mod ledger;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use clap::Parser;

/// The simulated payment provider.
#[derive(Debug, Clone, Parser)]
#[command(name = "checkout-payment-sim", version, about)]
pub struct Options {
    /// Address to listen on (loopback).
    #[arg(long, env = "SIM_BIND", default_value = "127.0.0.1:8081")]
    pub bind: SocketAddr,
    /// The secret API key the shop's server authenticates with.
    #[arg(long, env = "SIM_API_KEY", default_value = "sk_test_simulated")]
    pub api_key: String,
    /// The publishable key the storefront tokenizes with.
    #[arg(long, env = "SIM_PUBLISHABLE_KEY", default_value = "pk_test_simulated")]
    pub publishable_key: String,
    /// Where webhooks go (the shop's `/api/v1/payments/webhook`).
    #[arg(long, env = "SIM_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    /// The secret that signs webhooks (the shop verifies with the same one).
    #[arg(long, env = "SIM_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: String,
    /// Milliseconds between an outcome and its webhook.
    #[arg(long, default_value_t = 300)]
    pub webhook_delay_ms: u64,
    /// The slow card's answer delay, in milliseconds.
    #[arg(long, default_value_t = 2_000)]
    pub slow_ms: u64,
    /// When the webhook-only and out-of-order cards succeed, in milliseconds.
    #[arg(long, default_value_t = 3_000)]
    pub async_ms: u64,
    /// How long the lasting card stays `processing`, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    pub lasting_ms: u64,
    /// When the late card is charged, in milliseconds.
    #[arg(long, default_value_t = 20_000)]
    pub late_ms: u64,
    /// Attempts per webhook (a failed delivery is retried with growing pauses).
    #[arg(long, default_value_t = 8)]
    pub webhook_attempts: u32,
    /// Enable the `/sim/*` routes that let tests release answers, send webhooks and
    /// make the API unavailable.
    #[arg(long)]
    pub test_control: bool,
    /// Where browsers reach this provider (its 3-D Secure challenge pages), when not
    /// at the address it listens on (behind a TLS proxy, say).
    #[arg(long, env = "SIM_PUBLIC_URL")]
    pub public_url: Option<String>,
}

impl Options {
    fn timing(&self) -> ledger::Timing {
        ledger::Timing {
            webhook_delay: Duration::from_millis(self.webhook_delay_ms),
            slow: Duration::from_millis(self.slow_ms),
            asynchronous: Duration::from_millis(self.async_ms),
            lasting: Duration::from_millis(self.lasting_ms),
            late: Duration::from_millis(self.late_ms),
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let options = Options::parse();
    if options.webhook_secret.len() < 16 {
        eprintln!("checkout-payment-sim: --webhook-secret needs at least 16 characters");
        return std::process::ExitCode::FAILURE;
    }
    if !options.bind.ip().is_loopback() {
        eprintln!("checkout-payment-sim: it listens on loopback only");
        return std::process::ExitCode::FAILURE;
    }
    let listener = match tokio::net::TcpListener::bind(options.bind).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!(
                "checkout-payment-sim: cannot listen on {}: {e}",
                options.bind
            );
            return std::process::ExitCode::FAILURE;
        }
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let public_url = options
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_owned();
    let sim = Arc::new(api::Sim::new(&options, options.timing(), public_url));
    println!("checkout-payment-sim listening on http://{addr}");
    let app = api::router(sim);
    let stop = async {
        #[cfg(unix)]
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = term.recv() => {},
                _ = tokio::signal::ctrl_c() => {},
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    };
    match axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("checkout-payment-sim: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
