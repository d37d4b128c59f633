//! The simulated provider's HTTP API and its webhooks.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, MutexGuard, RwLock},
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post, put},
    Json, Router,
};
use serde::Deserialize;
use serde_json::json;

use crate::ledger::{self, Behaviour, Ledger, Payment, Timing, Token};

mod challenge;
mod confirm;
mod follow_up;
use confirm::confirm;
use follow_up::{cancel, list, refund, release, resend, send_later, set_webhook};

/// Payments kept at most (a simulator, not a store; a provider keeps them for ever,
/// and the shop looks old ones up by its key): about two hours of a full-speed soak,
/// some 3 KiB each.
const MAX_PAYMENTS: usize = 1_000_000;
/// How long a request that is never answered is kept open.
const NEVER: Duration = Duration::from_secs(600);

/// The provider.
pub struct Sim {
    api_key: String,
    publishable_key: String,
    webhook_secret: Vec<u8>,
    webhook_url: RwLock<Option<String>>,
    test_control: bool,
    timing: Timing,
    attempts: u32,
    /// Where browsers reach this provider (the challenge pages).
    public_url: String,
    /// Test control: the API answers 503 (the challenge pages still work).
    down: std::sync::atomic::AtomicBool,
    /// Lookups by key answered (test control reads it).
    lookups: std::sync::atomic::AtomicU64,
    ledger: Mutex<Ledger>,
    /// Keys whose create request is still "on the way" (hanging or late).
    in_flight: Mutex<HashSet<String>>,
    client: reqwest::Client,
}

impl Sim {
    pub fn new(options: &crate::Options, timing: Timing, public_url: String) -> Sim {
        Sim {
            public_url,
            down: std::sync::atomic::AtomicBool::new(false),
            lookups: std::sync::atomic::AtomicU64::new(0),
            api_key: options.api_key.clone(),
            publishable_key: options.publishable_key.clone(),
            webhook_secret: options.webhook_secret.as_bytes().to_vec(),
            webhook_url: RwLock::new(options.webhook_url.clone()),
            test_control: options.test_control,
            timing,
            attempts: options.webhook_attempts.max(1),
            ledger: Mutex::new(Ledger::default()),
            in_flight: Mutex::new(HashSet::new()),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn in_flight(&self) -> MutexGuard<'_, HashSet<String>> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }
}

type Shared = Arc<Sim>;

/// The routes.
pub fn router(sim: Shared) -> Router {
    let mut router = Router::new()
        .route("/v1/tokens", post(tokenize).options(preflight))
        .route("/v1/payments", post(create).get(list))
        .route("/v1/payments/{id}/cancel", post(cancel))
        .route("/v1/refunds", post(refund))
        .route("/v1/webhook_endpoint", put(set_webhook))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&sim),
            challenge::unless_down,
        ))
        .route(
            "/challenge/{id}",
            get(challenge::show).post(challenge::finish),
        );
    if sim.test_control {
        router = router
            .route("/sim/payments/{id}/release", post(release))
            .route("/sim/payments/{id}/webhooks", post(resend))
            .route("/sim/outage", post(challenge::outage))
            .route("/sim/stats", get(challenge::stats));
    }
    router
        .layer(axum::extract::DefaultBodyLimit::max(16 * 1024))
        .with_state(sim)
}

fn fail(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

fn bearer(headers: &HeaderMap) -> &str {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
}

/// The refusal of a request without the secret key, if it has none.
fn without_secret_key(sim: &Sim, headers: &HeaderMap) -> Option<Response> {
    (bearer(headers) != sim.api_key).then(|| {
        fail(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a secret key is required",
        )
    })
}

fn cors(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

async fn preflight() -> Response {
    cors(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct TokenRequest {
    card_number: String,
    #[serde(default)]
    hold: bool,
}

/// `POST /v1/tokens`: what a provider's browser SDK does with the card field.
async fn tokenize(State(sim): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if bearer(&headers) != sim.publishable_key {
        return cors(fail(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a publishable key is required",
        ));
    }
    let Ok(request) = serde_json::from_slice::<TokenRequest>(&body) else {
        return cors(fail(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send {\"card_number\": \"…\"}",
        ));
    };
    let Some(card) = ledger::card_digits(&request.card_number) else {
        return cors(fail(
            StatusCode::BAD_REQUEST,
            "invalid_number",
            "The card number is not valid.",
        ));
    };
    let id = format!("tok_{}", uuid::Uuid::now_v7().simple());
    let last4 = card[card.len() - 4..].to_owned();
    let token = Token {
        card,
        hold: request.hold && sim.test_control,
        used_by: None,
    };
    if !sim
        .ledger()
        .add_token(id.clone(), token, std::time::Instant::now())
    {
        return cors(fail(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many tokens",
        ));
    }
    cors(Json(json!({"id": id, "object": "token", "card": {"last4": last4}})).into_response())
}

#[derive(Deserialize)]
struct CreateRequest {
    amount: i64,
    currency: String,
    token: String,
    checkout_id: String,
    #[serde(default)]
    confirm: bool,
    /// Where a challenge sends the shopper back.
    #[serde(default)]
    return_url: Option<String>,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `POST /v1/payments`: create a payment under the shop's idempotency key, and with
/// `confirm` charge it, as the token's card behaves.
async fn create(State(sim): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = without_secret_key(&sim, &headers) {
        return refused;
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .map(str::to_owned);
    let Some(key) = key else {
        return fail(
            StatusCode::BAD_REQUEST,
            "idempotency_key_required",
            "send an Idempotency-Key",
        );
    };
    let request = match serde_json::from_slice::<CreateRequest>(&body) {
        Ok(r) if r.amount > 0 && r.currency.len() == 3 && r.checkout_id.len() <= 100 => r,
        _ => return fail(StatusCode::BAD_REQUEST, "invalid_request", "bad payment"),
    };
    let behaviour = {
        let mut ledger = sim.ledger();
        if let Some(id) = ledger.by_key.get(&key) {
            // A retry: the payment as it stands (a provider's idempotent replay).
            let payment = &ledger.payments[id];
            if payment.amount != request.amount || payment.currency != request.currency {
                return fail(
                    StatusCode::BAD_REQUEST,
                    "idempotency_mismatch",
                    "another request used this key",
                );
            }
            return Json(payment.public()).into_response();
        }
        if !sim.in_flight().insert(key.clone()) {
            return fail(
                StatusCode::CONFLICT,
                "idempotency_in_progress",
                "a request with this key is in progress",
            );
        }
        let Some(token) = ledger.tokens.get_mut(&request.token) else {
            sim.in_flight().remove(&key);
            return fail(StatusCode::BAD_REQUEST, "token_invalid", "no such token");
        };
        if token.used_by.as_ref().is_some_and(|k| *k != key) {
            sim.in_flight().remove(&key);
            return fail(StatusCode::BAD_REQUEST, "token_used", "the token was used");
        }
        token.used_by = Some(key.clone());
        let (card, hold) = (token.card.clone(), token.hold);
        if ledger.payments.len() >= MAX_PAYMENTS {
            sim.in_flight().remove(&key);
            return fail(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "full");
        }
        let behaviour = if request.confirm {
            ledger::behaviour(&card, hold, &sim.timing)
        } else {
            Behaviour::Final {
                succeeded: false,
                answer_after: None,
                times: 0,
            }
        };
        let mut payment = Payment {
            id: format!("pi_sim_{}", uuid::Uuid::now_v7().simple()),
            idempotency_key: key.clone(),
            amount: request.amount,
            currency: request.currency.to_ascii_uppercase(),
            checkout_id: request.checkout_id.clone(),
            status: "requires_confirmation",
            last4: card[card.len() - 4..].to_owned(),
            created: now(),
            charged: false,
            refunds: Vec::new(),
            events: Vec::new(),
            released: None,
            challenge: None,
        };
        if let Behaviour::Challenge { late_webhook } = behaviour {
            let Some(return_url) = request
                .return_url
                .clone()
                .filter(|u| challenge::is_web_address(u))
            else {
                sim.in_flight().remove(&key);
                return fail(
                    StatusCode::BAD_REQUEST,
                    "return_url_required",
                    "a 3-D Secure card needs a return_url (http or https)",
                );
            };
            let secret = uuid::Uuid::new_v4().simple().to_string();
            payment.challenge = Some(ledger::Challenge {
                url: format!(
                    "{}/challenge/{}?secret={secret}",
                    sim.public_url, payment.id
                ),
                secret,
                return_url,
                late_webhook,
            });
        }
        match behaviour {
            // The request has not arrived yet: nothing is recorded.
            Behaviour::Hang => {}
            Behaviour::Late { after } => {
                let sim = Arc::clone(&sim);
                let key = key.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    let event = {
                        let mut ledger = sim.ledger();
                        let mut payment = payment;
                        let event = payment.move_to("succeeded");
                        ledger.record(payment);
                        event
                    };
                    sim.in_flight().remove(&key);
                    send_later(&sim, vec![event], Duration::ZERO);
                });
            }
            _ => {
                sim.in_flight().remove(&key);
                ledger.record(payment);
            }
        }
        behaviour
    };
    if matches!(behaviour, Behaviour::Hang | Behaviour::Late { .. }) {
        tokio::time::sleep(NEVER).await;
        return fail(StatusCode::GATEWAY_TIMEOUT, "timeout", "no answer");
    }
    if !request.confirm {
        return answer(&sim, &key);
    }
    confirm(sim, key, behaviour).await
}

/// The payment under `key`, as the API shows it.
fn answer(sim: &Sim, key: &str) -> Response {
    let ledger = sim.ledger();
    match ledger
        .by_key
        .get(key)
        .and_then(|id| ledger.payments.get(id))
    {
        Some(payment) => Json(payment.public()).into_response(),
        None => fail(StatusCode::NOT_FOUND, "not_found", "no such payment"),
    }
}
