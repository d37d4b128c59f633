//! Settling payments (CONTRACT §13): the in-request answer, the provider's webhooks and
//! reconciliation each make a [`Report`] and go through [`apply`], which asks the core
//! what it does (`payment::resolve`) under the shopper's lock. Whatever their order and
//! number: one order and one charge; a charge for a checkout that can no longer take it
//! is refunded ([`refund`]) and recorded with a `payment.refunded` event.

use futures_util::StreamExt;

use crate::orders::{endpoint, new_order, place};
use crate::{
    checkout::transition,
    db::{self, events::Actor, idempotency::KeyRef, payments::RefundRow},
    http::error::{ApiError, ApiResult},
    payments::provider::{ProviderError, ProviderPayment},
    state::AppState,
};
use checkout_core::{
    lifecycle::after_unpaid,
    payment::{self, action, ActionWindow, ProviderStatus, Report, Resolution, Source, Standing},
    Action, ErrorCode, Rejection,
};

/// A report about `payment` from `source`.
pub fn report_of(source: Source, payment: &ProviderPayment) -> Report {
    Report {
        source,
        payment_key: payment.key.clone(),
        status: payment.status,
        amount: payment.amount,
        currency: payment.currency.clone(),
    }
}

/// Applies `report` about the provider's `payment` (when the provider named one) to
/// checkout `session_id`: cancelling at the provider first when reconciliation finds a
/// payment never confirmed, or one whose shopper's action is overdue (a provider that
/// cannot be reached to cancel is reported unreachable: the checkout is released and
/// the payment watched for a late charge). Returns what the core decided.
pub async fn apply(
    state: &AppState,
    session_id: &str,
    report: Report,
    payment: Option<&ProviderPayment>,
    actor: &Actor,
) -> ApiResult<Resolution> {
    let resolution = apply_once(state, session_id, &report, payment, actor).await?;
    match (resolution, payment) {
        (Resolution::Cancel, Some(payment)) => {
            match bounded(state, state.provider.cancel(&payment.id)).await {
                Ok(cancelled) => {
                    let report = report_of(Source::Reconciliation, &cancelled);
                    apply_once(state, session_id, &report, Some(&cancelled), actor).await
                }
                Err(error) => {
                    tracing::warn!(session = %session_id, %error, "the provider could not be asked to cancel");
                    let unreachable = Report {
                        status: ProviderStatus::Unreachable,
                        amount: 0,
                        currency: String::new(),
                        ..report
                    };
                    apply_once(state, session_id, &unreachable, None, actor).await
                }
            }
        }
        (resolution, _) => Ok(resolution),
    }
}

/// `SERVICE_UNAVAILABLE` (retry later) for a provider that gave no answer.
pub fn provider_unavailable(error: &ProviderError) -> ApiError {
    tracing::warn!(%error, "payment provider unavailable");
    ApiError::RetryLater {
        rejection: Rejection::with_message(
            ErrorCode::ServiceUnavailable,
            "The payment provider cannot be reached; nothing was changed.",
        ),
        after_secs: 5,
    }
}

async fn apply_once(
    state: &AppState,
    session_id: &str,
    report: &Report,
    payment: Option<&ProviderPayment>,
    actor: &Actor,
) -> ApiResult<Resolution> {
    let payment_id = payment.map(|p| p.id.as_str());
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let row = match db::sessions::owner(tx.conn(), session_id).await? {
        Some(owner) => {
            tx.lock_user(&owner).await?;
            db::sessions::load(tx.conn(), session_id).await?
        }
        None => None,
    };
    let refund_recorded = db::payments::refund(tx.conn(), &report.payment_key)
        .await?
        .is_some();
    let Some(row) = row else {
        drop(tx);
        let resolution = payment::resolve_without_checkout(report, refund_recorded);
        if let (Resolution::Refund(reason), Some(id)) = (resolution, payment_id) {
            let owed = owed(report, id, session_id, None, reason.as_str(), now);
            record_and_refund(state, &owed).await?;
            return Ok(resolution);
        }
        return Ok(Resolution::Ignore);
    };
    let ordered = match payment_id {
        Some(id) => db::payments::ordered_by(tx.conn(), &row.id, id).await?,
        None => false,
    };
    let standing = Standing {
        status: row.status,
        waiting_for: row.payment_key.as_deref(),
        total: (row.snapshot.totals.grand_total, &row.snapshot.currency),
        ordered_by_this_payment: ordered,
        refund_recorded,
        action: ActionWindow::at(row.payment_action.as_ref().map(|a| a.deadline), now),
    };
    let resolution = payment::resolve(&standing, report);
    let idem_key = row.payment_idem_key.clone().unwrap_or_default();
    let endpoint = endpoint(&row.id, Action::Pay);
    let key = KeyRef {
        user_id: &row.user_id,
        endpoint: &endpoint,
        key: &idem_key,
    };
    match resolution {
        Resolution::PlaceOrder => {
            let (step, completion) = Action::Pay
                .completion()
                .ok_or_else(|| ApiError::Internal("pay has no completion".into()))?;
            let customer = db::orders::customer(tx.conn(), &row.user_id).await?;
            let order = new_order(&row, customer, completion, payment_id, actor, now);
            let body = serde_json::to_string(&order)
                .map_err(|e| ApiError::Internal(format!("the order as JSON: {e}")))?;
            place(&mut tx, &row, step, &order, actor, (key, 201, &body)).await?;
            tx.commit().await?;
            crate::ops::metrics::payment("charged");
        }
        Resolution::ReleaseUnpaid => {
            let why = payment::release_message_for(&standing, report.status);
            release(&mut tx, &row, key, actor, why, now).await?;
            if payment::watched_after_release(report.status) {
                // The request may still arrive and charge: keep looking (`watch_late`).
                let next = now + chrono::Duration::seconds(1);
                db::payments::watch(&mut tx, &report.payment_key, now, next).await?;
            }
            tx.commit().await?;
            crate::ops::metrics::payment("declined");
        }
        Resolution::Refund(reason) => {
            let id = payment_id.unwrap_or_default();
            let owed = owed(
                report,
                id,
                &row.id,
                row.order_id.clone(),
                reason.as_str(),
                now,
            );
            if standing.waits_for(&report.payment_key) {
                // Charged another amount than the checkout's: given back, and the
                // checkout may be paid again.
                let why = payment::WRONG_AMOUNT_MESSAGE;
                release(&mut tx, &row, key, actor, why, now).await?;
            }
            db::payments::record_refund(&mut tx, &owed).await?;
            tx.commit().await?;
            refund(state, &owed.payment_key).await?;
        }
        Resolution::Wait
            if report.status == ProviderStatus::RequiresAction && row.payment_action.is_none() =>
        {
            // The payment waits for the shopper at the provider: from the first word of
            // it (whoever brings it), the checkout waits for them until the deadline.
            let url = payment
                .and_then(|p| p.next_action.as_deref())
                .filter(|url| action::is_web_address(url, action::MAX_ACTION_URL));
            let deadline = payment::action_deadline(now, state.tuning.payment_action_timeout_secs);
            db::payment_actions::record(tx.conn(), &row.id, &report.payment_key, url, deadline)
                .await?;
            tx.commit().await?;
        }
        // Nothing written, but committed all the same: on SQLite this transaction may
        // have read another's writes in the same group commit (a webhook that recorded
        // the action, or made the order), and what the caller reads next must find them
        // committed.
        Resolution::Wait | Resolution::Cancel | Resolution::Ignore => tx.commit().await?,
    }
    Ok(resolution)
}

/// Back to `ACTIVE` (or `EXPIRED`) with a stored `PAYMENT_DECLINED` answer.
async fn release(
    tx: &mut db::WriteTx,
    row: &db::sessions::SessionRow,
    key: KeyRef<'_>,
    actor: &Actor,
    why: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<()> {
    let step = after_unpaid(row.view().expiry(), now);
    transition(tx.conn(), &row.id, row.status, step, actor, now).await?;
    let problem = Rejection::with_message(ErrorCode::PaymentDeclined, why).to_problem();
    let body = serde_json::to_value(problem).unwrap_or_default();
    crate::http::idempotency::complete(tx, key, 402, &body).await
}

fn owed(
    report: &Report,
    payment_id: &str,
    session_id: &str,
    order_id: Option<String>,
    reason: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> RefundRow {
    RefundRow {
        payment_key: report.payment_key.clone(),
        payment_id: payment_id.to_owned(),
        session_id: session_id.to_owned(),
        order_id,
        amount: report.amount,
        currency: report.currency.clone(),
        reason: reason.to_owned(),
        state: "pending".into(),
        refund_id: None,
        created_at: now,
        refunded_at: None,
        attempts: 0,
        last_error: None,
    }
}

async fn record_and_refund(state: &AppState, owed: &RefundRow) -> ApiResult<()> {
    let mut tx = state.db.begin_write().await?;
    db::payments::record_refund(&mut tx, owed).await?;
    tx.commit().await?;
    refund(state, &owed.payment_key).await
}

/// Asks the provider to refund the recorded refund of `payment_key` (once: the
/// provider's idempotency key is derived from ours), then marks it done with its
/// `payment.refunded` event. A provider that cannot be reached leaves it pending for
/// the sweeper.
pub async fn refund(state: &AppState, payment_key: &str) -> ApiResult<()> {
    let Some(owed) = db::payments::refund(&state.db, payment_key).await? else {
        return Ok(());
    };
    if owed.state != "pending" {
        return Ok(());
    }
    let provider_key = format!("refund_{payment_key}");
    let answer = state
        .provider
        .refund(&owed.payment_id, &provider_key, &owed.reason)
        .await;
    let now = state.clock.now();
    let refund_id = match answer {
        Ok(id) => id,
        Err(error) => {
            // Refused is final: a person must look (the admin's refund list, the
            // metric); no answer is retried with growing pauses for 72 hours.
            let refused = matches!(error, ProviderError::Refused(_));
            let next = payment::next_try(refused, owed.attempts + 1, owed.created_at, now);
            if next.is_none() {
                tracing::error!(payment_key, %error, "refund failed: it needs a person");
                crate::ops::metrics::payment("refund_failed");
            } else {
                tracing::warn!(payment_key, %error, "refund postponed");
            }
            let mut tx = state.db.begin_write().await?;
            let error = crate::http::error::bounded(&error.to_string());
            db::payments::postpone_refund(&mut tx, payment_key, next, &error).await?;
            tx.commit().await?;
            return Ok(());
        }
    };
    let mut tx = state.db.begin_write().await?;
    if db::payments::finish_refund(&mut tx, payment_key, &refund_id, now).await? {
        let event = crate::outbox::events::refund_event(&owed, &refund_id, now);
        db::outbox::record(tx.conn(), &event).await?;
        crate::ops::metrics::payment("refunded");
    }
    tx.commit().await?;
    Ok(())
}

/// `call` to the provider, given at most `--gateway-timeout-ms` whatever the provider's
/// own client does (a shop's own [`crate::payments::provider::PaymentProvider`] may not bound it).
pub(crate) async fn bounded<T>(
    state: &AppState,
    call: impl std::future::Future<Output = Result<T, ProviderError>>,
) -> Result<T, ProviderError> {
    tokio::time::timeout(state.tuning.gateway_timeout, call)
        .await
        .unwrap_or_else(|_| Err(ProviderError::Unavailable("no answer in time".into())))
}

/// How many payments reconciliation looks up at once.
const RECONCILE_AT_ONCE: usize = 16;

/// Reconciles payments left pending longer than the configured bound (the answer was
/// lost, the server died, or the provider is still processing): looks each up by the
/// shop's key and applies what the provider says. Then retries refunds the provider
/// could not be asked for. Returns how many checkouts were settled.
pub async fn reconcile(state: &AppState, older_than: std::time::Duration) -> ApiResult<usize> {
    let cutoff = state.clock.now() - chrono::Duration::from_std(older_than).unwrap_or_default();
    let stuck = db::payment_actions::stuck_payments(&state.db, cutoff, state.clock.now()).await?;
    let actor = Actor {
        request_id: Some("reconciliation".into()),
        ..Actor::default()
    };
    // Looked up side by side, each bounded by the provider client's timeout: a provider
    // that hangs holds the sweep up for one timeout, not one per payment.
    let looked_up: Vec<_> = futures_util::stream::iter(
        stuck
            .into_iter()
            .filter_map(|(id, key)| key.map(|key| (id, key))),
    )
    .map(|(id, payment_key)| async move {
        let found = bounded(state, state.provider.lookup(&payment_key)).await;
        (id, payment_key, found)
    })
    .buffer_unordered(RECONCILE_AT_ONCE)
    .collect()
    .await;
    let mut settled = 0;
    for (id, payment_key, found) in looked_up {
        let unknown = |status| Report {
            source: Source::Reconciliation,
            payment_key: payment_key.clone(),
            status,
            amount: 0,
            currency: String::new(),
        };
        let (report, payment) = match &found {
            Ok(Some(payment)) => (report_of(Source::Reconciliation, payment), Some(payment)),
            Ok(None) => (unknown(ProviderStatus::NotFound), None),
            Err(error) => {
                // The shopper is not held up by an outage (the core releases the
                // checkout; the payment stays watched for a late charge).
                tracing::warn!(session = %id, %error, "provider unreachable at reconciliation");
                (unknown(ProviderStatus::Unreachable), None)
            }
        };
        match apply(state, &id, report, payment, &actor).await {
            Ok(Resolution::PlaceOrder | Resolution::ReleaseUnpaid | Resolution::Refund(_)) => {
                settled += 1;
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(session = %id, %error, "reconciliation postponed"),
        }
    }
    settled += watch_late(state, &actor).await?;
    for key in db::payments::pending_refunds(&state.db, state.clock.now(), 100).await? {
        refund(state, &key).await?;
    }
    Ok(settled)
}

/// Looks again at payments released because the provider had no record of them (the
/// request may have been held up and charge late, and its webhook may never come):
/// with growing pauses for 72 hours, until the provider knows it. A charge found is
/// applied like any report — refunded, since its checkout no longer waits for it.
async fn watch_late(state: &AppState, actor: &Actor) -> ApiResult<usize> {
    let now = state.clock.now();
    let mut settled = 0;
    for watched in db::payments::watched(&state.db, now, 100).await? {
        let found = match bounded(state, state.provider.lookup(&watched.payment_key)).await {
            Ok(found) => found,
            Err(error) => {
                // The provider is not answering: the rest wait for the next pass.
                tracing::warn!(key = %watched.payment_key, %error, "late-charge looks postponed");
                break;
            }
        };
        if let Some(payment) = found
            .as_ref()
            .filter(|p| p.status == ProviderStatus::Succeeded)
        {
            let report = report_of(Source::Reconciliation, payment);
            apply(state, &watched.session_id, report, Some(payment), actor).await?;
            settled += 1;
        }
        let next = if payment::watch_ends(found.as_ref().map(|p| p.status)) {
            None
        } else {
            payment::next_try(false, watched.checks + 1, watched.since, now)
        };
        let mut tx = state.db.begin_write().await?;
        db::payments::next_watch(&mut tx, &watched.payment_key, next).await?;
        tx.commit().await?;
    }
    Ok(settled)
}
