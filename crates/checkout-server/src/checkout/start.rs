//! Starting a checkout, whoever starts it: a shopper from their cart, a recovery link,
//! or the shop's backend from its priced cart (CONTRACT §24). One path for all, so
//! every start supersedes, waits for a payment in flight and numbers alike.

use checkout_core::{
    lifecycle::{login_may_start, plan_initiation},
    snapshot::Snapshot,
    SessionStatus,
};
use chrono::{DateTime, Utc};

use super::{actor, transition};
use crate::{
    db::{self, events::Actor, sessions::SessionRow, WriteTx},
    http::error::ApiResult,
    http::extract::{CurrentUser, RequestId},
};

/// A checkout about to start: what it is priced from, its snapshot, and for a restored
/// checkout the ended one and what changed since.
#[derive(Debug)]
pub struct Fresh {
    /// What it is priced from.
    pub input: checkout_core::snapshot::PricingInput,
    /// Its first snapshot.
    pub snapshot: Snapshot,
    /// The ended checkout it restores.
    pub restored_from: Option<String>,
    /// What changed since the ended checkout.
    pub changes: Vec<checkout_core::changes::ChangeItem>,
    /// The shop's metadata (a checkout made from its priced cart), as stored.
    pub metadata: Option<String>,
}

/// Who starts a checkout: a shopper (their login binds it, CONTRACT §19), or the shop's
/// backend for a customer (no login yet: the first login that acts on it binds it).
#[derive(Debug, Clone)]
pub struct Starter {
    /// The shopper it is for.
    pub user_id: String,
    /// The login that starts it, with its OpenID Connect session id.
    pub login: Option<(DateTime<Utc>, Option<String>)>,
    /// The admin who starts it while impersonating.
    pub impersonator: Option<String>,
    /// Who acted, for the events.
    pub actor: Actor,
}

impl Starter {
    /// A shopper starting their own checkout.
    pub fn shopper(user: &CurrentUser, request_id: &RequestId) -> Starter {
        Starter {
            user_id: user.id.clone(),
            login: Some((user.login_expires_at, user.sid.clone())),
            impersonator: user.impersonator.clone(),
            actor: actor(user, request_id),
        }
    }
}

/// Starts a checkout in the shopper's locked transaction: the core plans what happens
/// to the shopper's live checkouts (superseded, or `PAYMENT_IN_PROGRESS`), then the new
/// one takes the next number and is stored `ACTIVE` with the timeout in force now.
pub async fn start(
    tx: &mut WriteTx,
    starter: &Starter,
    fresh: Fresh,
    now: DateTime<Utc>,
) -> ApiResult<SessionRow> {
    if let Some((login_expires_at, _)) = &starter.login {
        login_may_start(*login_expires_at, now)?;
    }
    let settings = db::settings::load(tx.conn()).await?;
    let live = db::sessions::live_for_user(tx.conn(), &starter.user_id).await?;
    let plan = plan_initiation(&live, settings.enabled, now)?;
    let actor = &starter.actor;
    for (id, step) in plan {
        let from = live
            .iter()
            .find(|s| s.id == id)
            .map_or(SessionStatus::Active, |s| s.status);
        transition(tx.conn(), &id, from, step, actor, now).await?;
    }

    let terms = settings.terms_at(now);
    let (seq, class) = db::sessions::allocate_number(tx.conn()).await?;
    let number = class.render(seq, now)?;
    // The new row is known in full: insert it and answer from it, no read-back.
    let row = SessionRow {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: starter.user_id.clone(),
        seq,
        number,
        status: SessionStatus::Active,
        managed: terms.managed,
        started_at: now,
        expires_at: terms.expires_at,
        login_expires_at: starter.login.as_ref().map(|(at, _)| *at),
        login_sid: starter.login.as_ref().and_then(|(_, sid)| sid.clone()),
        generation: 0,
        pricing_input_json: serde_json::to_string(&fresh.input).unwrap_or_default(),
        snapshot: fresh.snapshot,
        started_by_admin: starter.impersonator.clone(),
        payment_key: None,
        payment_idem_key: None,
        payment_started_at: None,
        payment_action: None,
        is_latest: true,
        order_id: None,
        updated_at: now,
        restored_from: fresh.restored_from,
        restored_to: None,
        changes: fresh.changes,
        metadata: fresh.metadata,
    };
    db::sessions::insert(tx.conn(), &row, actor).await?;
    Ok(row)
}
