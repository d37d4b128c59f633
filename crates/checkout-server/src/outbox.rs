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

/// Runs the worker until `stop` turns true. Up to [`BATCH`] deliveries are in flight at
/// once, each storing its own outcome when it ends, so a slow endpoint holds only its own
/// deliveries; the worker claims more as slots free up, and looks every `poll` when
/// nothing is due.
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
        let mut in_flight = JoinSet::new();
        loop {
            let free = BATCH - i64::try_from(in_flight.len()).unwrap_or(BATCH);
            let claimed = if free > 0 {
                claim(&state, free).await.unwrap_or_else(|error| {
                    tracing::warn!(%error, "outbox: claim failed; retrying");
                    Vec::new()
                })
            } else {
                Vec::new()
            };
            let got_some = !claimed.is_empty();
            for delivery in claimed {
                let (state, client) = (state.clone(), client.clone());
                in_flight.spawn(async move { attempt(&state, &client, delivery).await });
            }
            if got_some && in_flight.len() < BATCH as usize {
                continue;
            }
            let stopped = tokio::select! {
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => false,
                () = tokio::time::sleep(poll) => false,
                // A dropped sender stops the worker too (never a busy loop).
                changed = stop.changed() => changed.is_err(),
            };
            if stopped || *stop.borrow() {
                break;
            }
        }
        // Deliveries in flight finish (each within its timeout); any cut short is
        // sent again once its lease runs out.
        while in_flight.join_next().await.is_some() {}
    })
}

/// Claims up to `limit` due deliveries (nothing, without taking the write lock, when
/// none is due).
async fn claim(state: &AppState, limit: i64) -> Result<Vec<Claimed>, ApiError> {
    let now = state.clock.now();
    if !db::outbox::any_due(&state.db, now).await? {
        return Ok(Vec::new());
    }
    let lease_ms = i64::try_from(LEASE.as_millis()).unwrap_or(30_000);
    let mut tx = state.db.begin_write().await?;
    let claimed = db::outbox::claim(&mut tx, now, lease_ms, limit).await?;
    tx.commit().await?;
    Ok(claimed)
}

/// Sends one claimed delivery and stores how it went.
async fn attempt(state: &AppState, client: &reqwest::Client, delivery: Claimed) {
    let answer = send(client, &delivery).await;
    let now = state.clock.now();
    let delivered = matches!(answer, Ok(status) if outbox::delivered(status));
    let outcome = Outcome {
        status: answer.as_ref().ok().copied(),
        error: answer.as_ref().err().cloned(),
        delivered,
        retry_at: if delivered {
            None
        } else {
            outbox::next_attempt(delivery.attempts + 1, delivery.first_attempt_at, now)
        },
    };
    if !delivered {
        tracing::info!(event = %delivery.event_id, endpoint = %delivery.endpoint_id,
            status = ?outcome.status, error = ?outcome.error, retry_at = ?outcome.retry_at,
            "outbox: delivery not taken");
    }
    crate::metrics::outbox_attempt(delivered);
    let stored = async {
        let mut tx = state.db.begin_write().await?;
        db::outbox::finish(tx.conn(), &delivery, &outcome, now).await?;
        tx.commit().await
    };
    if let Err(error) = stored.await {
        // The lease runs out and the delivery is sent again: at least once.
        tracing::warn!(%error, event = %delivery.event_id, "outbox: outcome not stored");
    }
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
