//! Background upkeep, every few seconds: persist expiry of sessions whose window closed
//! (reads already treat them as expired — this only makes the stored state catch up),
//! purge what has outlived its lifetime (idempotency records after 24 hours, expired
//! logins, checkouts that ended without an order and finished outbox deliveries after
//! the session retention), and — in a loop of its own, so that a slow payment provider
//! holds none of this up — reconcile payments left pending (and retry refunds the
//! provider was not reached for). Purging deletes in batches of [`PURGE_BATCH`] rows,
//! each its own short write transaction with a pause after it, so that a backlog never
//! holds the database's write lock for long; a sweep deletes at most [`PURGE_BATCHES`]
//! batches of each kind.

use std::time::Duration;

use tokio::{sync::watch, task::JoinHandle};

use crate::{
    checkout::persist_expiry,
    db::{self, events::Actor},
    http::error::ApiError,
    http::idempotency,
    payments,
    state::AppState,
};

/// Rows one purge transaction deletes at most (a checkout also takes its events, a few
/// rows each). Measured in the soak: batches of 500 checkouts held SQLite's write lock
/// long enough to show in the requests' p99; 100 do not.
pub const PURGE_BATCH: u32 = 100;
/// Purge transactions of each kind one sweep runs at most.
pub const PURGE_BATCHES: u32 = 20;
/// The pause between two purge transactions, in which the requests' writes queued
/// meanwhile go first.
pub const PURGE_PAUSE: Duration = Duration::from_millis(20);

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    /// Sessions stored as `EXPIRED`.
    pub expired: usize,
    /// Idempotency records deleted.
    pub purged: u64,
    /// Expired logins deleted.
    pub logins_purged: u64,
    /// Old checkouts (that ended without an order) deleted with their events.
    pub sessions_purged: u64,
    /// Finished outbox deliveries and events deleted.
    pub outbox_purged: u64,
    /// Payment webhook event ids forgotten (a day after they were applied).
    pub webhook_ids_purged: u64,
    /// Ended rate-limit windows deleted.
    pub rate_windows_purged: u64,
}

/// What a purge deletes.
#[derive(Debug, Clone, Copy)]
enum Purge {
    Keys,
    Logins,
    Sessions,
    Outbox,
    WebhookIds,
    RateWindows,
}

/// Runs [`sweep_once`] every `every` until `stop` turns true, and reconciliation beside
/// it in its own loop: a payment provider that answers slowly (each call is bounded by
/// `--gateway-timeout-ms`) never holds up expiry and purging.
pub fn spawn(state: AppState, every: Duration, stop: watch::Receiver<bool>) -> JoinHandle<()> {
    let reconciler = {
        let state = state.clone();
        every_until_stopped(every, stop.clone(), move || {
            let state = state.clone();
            async move {
                match payments::settle::reconcile(&state, state.tuning.reconcile_after).await {
                    Ok(0) => {}
                    Ok(settled) => tracing::info!(settled, "reconciled"),
                    Err(error) => {
                        tracing::warn!(%error, "reconciliation failed; retrying next time")
                    }
                }
            }
        })
    };
    let upkeep = every_until_stopped(every, stop, move || {
        let state = state.clone();
        async move {
            match sweep_once(&state).await {
                Ok(sweep) if sweep != Sweep::default() => tracing::info!(?sweep, "sweep"),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "sweep failed; retrying next time"),
            }
        }
    });
    tokio::spawn(async move {
        let _ = tokio::join!(reconciler, upkeep);
    })
}

/// Runs `pass` every `every` until `stop` turns true.
fn every_until_stopped<F, Fut>(
    every: Duration,
    mut stop: watch::Receiver<bool>,
    pass: F,
) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {},
                _ = stop.changed() => break,
            }
            if *stop.borrow() {
                break;
            }
            pass().await;
        }
    })
}

/// One pass of upkeep.
pub async fn sweep_once(state: &AppState) -> Result<Sweep, ApiError> {
    let now = state.clock.now();
    let lapsed = db::sessions::lapsed(&state.db, now, 500).await?;
    let actor = Actor {
        request_id: Some("sweeper".into()),
        ..Actor::default()
    };
    let mut sweep = Sweep::default();
    for (id, user) in lapsed {
        let mut tx = state.db.begin_write().await?;
        tx.lock_user(&user).await?;
        if let Some(row) = db::sessions::load(tx.conn(), &id).await? {
            if persist_expiry(tx.conn(), &row, &actor, now).await? {
                sweep.expired += 1;
            }
        }
        tx.commit().await?;
    }
    // A purge that fails (the database busy or briefly gone) is retried next time; it
    // never keeps the sweep from reconciling payments.
    let mut purged = [0; 6];
    for (n, kind) in [
        Purge::Keys,
        Purge::Logins,
        Purge::Sessions,
        Purge::Outbox,
        Purge::WebhookIds,
        Purge::RateWindows,
    ]
    .into_iter()
    .enumerate()
    {
        match purge(state, kind).await {
            Ok(deleted) => purged[n] = deleted,
            Err(error) => tracing::warn!(%error, ?kind, "purge failed; retrying next time"),
        }
    }
    [
        sweep.purged,
        sweep.logins_purged,
        sweep.sessions_purged,
        sweep.outbox_purged,
        sweep.webhook_ids_purged,
        sweep.rate_windows_purged,
    ] = purged;
    Ok(sweep)
}

/// Deletes what of `kind` has outlived its lifetime, batch by batch; returns how many.
async fn purge(state: &AppState, kind: Purge) -> Result<u64, ApiError> {
    let mut total = 0;
    for _ in 0..PURGE_BATCHES {
        let now = state.clock.now();
        let mut tx = state.db.begin_write().await?;
        let deleted = match kind {
            Purge::Keys => idempotency::purge(&mut tx, now, PURGE_BATCH).await?,
            Purge::Logins => db::users::purge_logins(tx.conn(), now, PURGE_BATCH).await?,
            // A replay of a webhook applied a day ago fails the signature's time anyway.
            Purge::WebhookIds => {
                let day_ago = now - chrono::Duration::days(1);
                db::payments::purge_events(&mut tx, day_ago, PURGE_BATCH).await?
            }
            // Every window in the table is an hour long.
            Purge::RateWindows => {
                let hour_ago = now - chrono::Duration::hours(1);
                db::limits::purge(tx.conn(), hour_ago, PURGE_BATCH).await?
            }
            Purge::Sessions | Purge::Outbox => {
                // A retention longer than time can count keeps everything.
                let cutoff = chrono::Duration::from_std(state.tuning.session_retention)
                    .ok()
                    .and_then(|retention| now.checked_sub_signed(retention));
                match (cutoff, kind) {
                    (None, _) => 0,
                    (Some(cutoff), Purge::Outbox) => {
                        db::outbox::purge(&mut tx, cutoff, PURGE_BATCH).await?
                    }
                    (Some(cutoff), _) => {
                        db::sessions::purge_ended(&mut tx, cutoff, PURGE_BATCH).await?
                    }
                }
            }
        };
        tx.commit().await?;
        total += deleted;
        if deleted < u64::from(PURGE_BATCH) {
            break;
        }
        tokio::time::sleep(PURGE_PAUSE).await;
    }
    Ok(total)
}
