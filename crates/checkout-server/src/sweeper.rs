//! Background upkeep, every few seconds: persist expiry of sessions whose window closed
//! (reads already treat them as expired — this only makes the stored state catch up),
//! purge idempotency records past their retention and expired logins, and reconcile
//! payments left pending.

use std::time::Duration;

use tokio::{sync::watch, task::JoinHandle};

use crate::{
    checkout::persist_expiry,
    db::{self, events::Actor},
    error::ApiError,
    idempotency, orders,
    state::AppState,
};

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    /// Sessions stored as `EXPIRED`.
    pub expired: usize,
    /// Idempotency records deleted.
    pub purged: u64,
    /// Pending payments settled.
    pub reconciled: usize,
    /// Expired logins deleted.
    pub logins_purged: u64,
}

/// Runs [`sweep_once`] every `every` until `stop` turns true.
pub fn spawn(state: AppState, every: Duration, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {},
                _ = stop.changed() => break,
            }
            if *stop.borrow() {
                break;
            }
            match sweep_once(&state).await {
                Ok(sweep) if sweep != Sweep::default() => tracing::info!(?sweep, "sweep"),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "sweep failed; retrying next time"),
            }
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
    let mut tx = state.db.begin_write().await?;
    sweep.purged = idempotency::purge(&mut tx, now).await?;
    sweep.logins_purged = db::users::purge_logins(tx.conn(), now).await?;
    tx.commit().await?;
    sweep.reconciled = orders::reconcile(state).await?;
    Ok(sweep)
}
