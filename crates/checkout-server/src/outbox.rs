//! The outbox worker (CONTRACT §14): on every instance, claims due deliveries with a
//! lease (one instance sends a delivery at a time; a crashed one's lease runs out and
//! another takes it over), POSTs each event signed with its endpoint's secret
//! (`Checkout-Signature`, `core::signature`), and stores the outcome: a 2xx is
//! delivered, anything else is retried on the core's schedule (`core::outbox`) until its
//! time is up. An event is sent at least once (a receiver dedupes by `Checkout-Event-Id`,
//! stable across attempts) and in order per checkout.

use std::time::Duration;

use checkout_core::{outbox, signature};
use tokio::{sync::watch, task::JoinHandle, task::JoinSet};

use crate::{
    db::{
        self,
        outbox::{Claimed, Outcome},
    },
    error::ApiError,
    state::AppState,
};

/// Deliveries one claim takes at most (sent concurrently).
pub const BATCH: i64 = 64;
/// How long a claimed delivery is held before another worker may take it.
pub const LEASE: Duration = Duration::from_secs(30);
/// How long one attempt may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The event id header.
pub const EVENT_ID_HEADER: &str = "Checkout-Event-Id";
/// The event type header.
pub const EVENT_TYPE_HEADER: &str = "Checkout-Event-Type";

/// Runs the worker until `stop` turns true: a claim right after a full batch, else
/// every `poll`.
pub fn spawn(state: AppState, poll: Duration, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let client = match reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(client) => client,
            Err(error) => {
                tracing::error!(%error, "outbox: no HTTP client; events stay in the outbox");
                return;
            }
        };
        loop {
            let sent = match deliver_once(&state, &client).await {
                Ok(sent) => sent,
                Err(error) => {
                    tracing::warn!(%error, "outbox: delivery round failed; retrying");
                    0
                }
            };
            if sent < BATCH as usize {
                tokio::select! {
                    () = tokio::time::sleep(poll) => {},
                    _ = stop.changed() => {},
                }
            }
            if *stop.borrow() {
                break;
            }
        }
    })
}

/// One round: claim, send concurrently, store the outcomes; returns how many were sent.
pub async fn deliver_once(state: &AppState, client: &reqwest::Client) -> Result<usize, ApiError> {
    let now = state.clock.now();
    let lease_ms = i64::try_from(LEASE.as_millis()).unwrap_or(30_000);
    if !db::outbox::any_due(&state.db, now).await? {
        return Ok(0);
    }
    let mut tx = state.db.begin_write().await?;
    let claimed = db::outbox::claim(&mut tx, now, lease_ms, BATCH).await?;
    tx.commit().await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let mut sending = JoinSet::new();
    for delivery in claimed {
        let client = client.clone();
        sending.spawn(async move {
            let answer = send(&client, &delivery).await;
            (delivery, answer)
        });
    }
    let mut answers = Vec::new();
    while let Some(done) = sending.join_next().await {
        if let Ok(answer) = done {
            answers.push(answer);
        }
    }
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    for (delivery, answer) in &answers {
        let delivered = matches!(answer, Ok(status) if outbox::delivered(*status));
        let outcome = Outcome {
            status: answer.as_ref().ok().copied(),
            error: answer.as_ref().err().cloned(),
            delivered,
            retry_at: if delivered {
                None
            } else {
                outbox::next_attempt(delivery.attempts + 1, delivery.created_at, now)
            },
        };
        if !delivered {
            tracing::info!(event = %delivery.event_id, endpoint = %delivery.endpoint_id,
                status = ?outcome.status, error = ?outcome.error, retry_at = ?outcome.retry_at,
                "outbox: delivery not taken");
        }
        db::outbox::finish(tx.conn(), delivery, &outcome, now).await?;
        crate::metrics::outbox_attempt(delivered);
    }
    tx.commit().await?;
    Ok(answers.len())
}

/// POSTs one event; the receiver's status, or what kept it from answering.
async fn send(client: &reqwest::Client, delivery: &Claimed) -> Result<u16, String> {
    // The receiver checks the signature's time against its own clock: sign with the
    // real time, never the test clock.
    let signed = signature::sign(
        delivery.secret.as_bytes(),
        delivery.payload.as_bytes(),
        chrono::Utc::now(),
    );
    client
        .post(&delivery.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(signature::HEADER, signed)
        .header(EVENT_ID_HEADER, &delivery.event_id)
        .header(EVENT_TYPE_HEADER, &delivery.event_type)
        .body(delivery.payload.clone())
        .send()
        .await
        .map(|response| response.status().as_u16())
        .map_err(|error| {
            let mut text = error.without_url().to_string();
            text.truncate(200);
            text
        })
}
