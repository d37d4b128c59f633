//! Order events to downstream systems (CONTRACT §14, §21): how they are built
//! ([`events`]), signed and sent ([`send`]), the admin's routes ([`admin`]), and the
//! worker here.
//!
//! The worker runs on every instance. Each endpoint that is on has a lane of its own
//! with its own [`PER_ENDPOINT`] deliveries in flight, so a slow or dead receiver holds
//! only its own lane, never another endpoint's. A lane claims its due deliveries with a
//! lease (one instance sends a delivery at a time; a crashed one's lease runs out and
//! another takes it over), sends each, and stores the outcomes of the attempts that
//! ended, together in one transaction, as they end (the core's
//! [`checkout_core::outbox::after_attempt`]: delivered, retried — no sooner than a
//! receiver's `Retry-After` —, given up, or the endpoint disabled on 410 Gone). An
//! event is sent at least once (receivers dedupe by `webhook-id`, stable across
//! attempts) and in order per checkout and endpoint.

pub mod admin;
pub mod events;
mod send;

use std::{collections::HashMap, time::Duration};
use tracing::Instrument;

use checkout_core::outbox;
use tokio::{sync::watch, task::JoinHandle, task::JoinSet};

use crate::{
    db::{
        self,
        outbox::{Claimed, Outcome},
    },
    http::error::ApiError,
    state::AppState,
};

/// Deliveries in flight to one endpoint at most.
pub const PER_ENDPOINT: usize = 32;
/// How long a claimed delivery is held before another worker may take it.
pub const LEASE: Duration = Duration::from_secs(30);
/// How long one attempt may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// A lane: its stop signal and its task.
type Lane = (watch::Sender<bool>, JoinHandle<()>);

/// Runs the worker until `stop` turns true: every `poll` it looks which endpoints are
/// on, starts a lane for each new one and ends the lanes of endpoints stopped or
/// disabled meanwhile.
pub fn spawn(state: AppState, poll: Duration, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let client = match state.outbound.client(ATTEMPT_TIMEOUT) {
            Ok(client) => client,
            Err(error) => {
                tracing::error!(%error, "outbox: no HTTP client; events stay in the outbox");
                return;
            }
        };
        let mut lanes: HashMap<String, Lane> = HashMap::new();
        let mut ending: Vec<JoinHandle<()>> = Vec::new();
        loop {
            match db::endpoints::sendable_endpoints(&state.db).await {
                Ok(on) => {
                    let over: Vec<String> = lanes
                        .iter()
                        .filter(|(id, (_, handle))| !on.contains(id) || handle.is_finished())
                        .map(|(id, _)| id.clone())
                        .collect();
                    for (retire, handle) in over.iter().filter_map(|id| lanes.remove(id)) {
                        let _ = retire.send(true);
                        ending.push(handle);
                    }
                    for id in on {
                        lanes.entry(id).or_insert_with_key(|id| {
                            let (retire, retired) = watch::channel(false);
                            let lane = run_lane(
                                state.clone(),
                                client.clone(),
                                id.clone(),
                                poll,
                                retired,
                                stop.clone(),
                            );
                            (retire, tokio::spawn(lane))
                        });
                    }
                }
                Err(error) => tracing::warn!(%error, "outbox: endpoints not read; retrying"),
            }
            ending.retain(|handle| !handle.is_finished());
            let stopped = tokio::select! {
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
        for (_, (retire, handle)) in lanes {
            let _ = retire.send(true);
            ending.push(handle);
        }
        for handle in ending {
            let _ = handle.await;
        }
    })
}

/// One endpoint's lane: up to [`PER_ENDPOINT`] of its deliveries in flight; whenever
/// one ends, the outcomes of all that ended by then are stored together ([`store`]);
/// it claims more as slots free up, and looks every `poll` when nothing is due. Ends
/// when retired or stopped, after its deliveries in flight.
async fn run_lane(
    state: AppState,
    client: reqwest::Client,
    endpoint: String,
    poll: Duration,
    mut retired: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
) {
    let mut in_flight = JoinSet::new();
    loop {
        let free = PER_ENDPOINT.saturating_sub(in_flight.len());
        let claimed = if free > 0 {
            claim(&state, &endpoint, free)
                .await
                .unwrap_or_else(|error| {
                    tracing::warn!(%error, %endpoint, "outbox: claim failed; retrying");
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
        if got_some && in_flight.len() < PER_ENDPOINT {
            continue;
        }
        let (ended, first) = tokio::select! {
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => (false, done.ok()),
            () = tokio::time::sleep(poll) => (false, None),
            _ = retired.changed() => (true, None),
            changed = stop.changed() => (changed.is_err() || *stop.borrow(), None),
        };
        if let Some(first) = first {
            // Every attempt ended by now is stored in one transaction.
            let mut done = vec![first];
            while let Some(more) = in_flight.try_join_next() {
                done.extend(more.ok());
            }
            store(&state, &done).await;
        }
        if ended || *retired.borrow() {
            break;
        }
    }
    let mut done = Vec::new();
    while let Some(more) = in_flight.join_next().await {
        done.extend(more.ok());
    }
    store(&state, &done).await;
}

/// Stores the outcomes of ended attempts (releasing their leases) in one transaction.
async fn store(state: &AppState, done: &[(Claimed, Outcome)]) {
    if done.is_empty() {
        return;
    }
    let now = state.clock.now();
    let stored = async {
        let mut tx = state.db.begin_write().await?;
        for (delivery, outcome) in done {
            db::outbox::finish(tx.conn(), delivery, outcome, now).await?;
        }
        tx.commit().await
    };
    if let Err(error) = stored.await {
        // The leases run out and the deliveries are sent again: at least once.
        tracing::warn!(%error, deliveries = done.len(), "outbox: outcomes not stored");
    }
}

/// Claims up to `limit` due deliveries to `endpoint` (nothing, without taking the
/// write lock, when none is due).
async fn claim(state: &AppState, endpoint: &str, limit: usize) -> Result<Vec<Claimed>, ApiError> {
    let now = state.clock.now();
    if !db::outbox::any_due(&state.db, endpoint, now).await? {
        return Ok(Vec::new());
    }
    let lease_ms = i64::try_from(LEASE.as_millis()).unwrap_or(30_000);
    let limit = i64::try_from(limit).unwrap_or(1);
    let mut tx = state.db.begin_write().await?;
    let claimed = db::outbox::claim(&mut tx, endpoint, now, lease_ms, limit).await?;
    tx.commit().await?;
    Ok(claimed)
}

/// Sends one claimed delivery; how it went, for [`store`].
async fn attempt(
    state: &AppState,
    client: &reqwest::Client,
    delivery: Claimed,
) -> (Claimed, Outcome) {
    let span = tracing::info_span!("delivery", otel.kind = "client",
        event = %delivery.event_id, endpoint = %delivery.endpoint_id);
    crate::ops::telemetry::join_trace(&span, delivery.trace.as_deref());
    let answer = send::send(state, client, &delivery).instrument(span).await;
    let (status, retry_after, error) = match &answer {
        Ok(answered) => (Some(answered.status), answered.retry_after.as_deref(), None),
        Err(error) => (None, None, Some(error.clone())),
    };
    let next = outbox::after_attempt(
        outbox::Answer {
            status,
            retry_after,
        },
        delivery.attempts.saturating_add(1),
        delivery.first_attempt_at,
        state.clock.now(),
    );
    let delivered = next == outbox::Next::Delivered;
    let outcome = Outcome {
        status,
        error,
        next,
    };
    if !delivered {
        tracing::info!(event = %delivery.event_id, endpoint = %delivery.endpoint_id,
            status = ?outcome.status, error = ?outcome.error, next = ?outcome.next,
            "outbox: delivery not taken");
    }
    crate::ops::metrics::outbox_attempt(delivered);
    (delivery, outcome)
}
