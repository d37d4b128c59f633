//! The JSON shapes of checkout sessions and orders. A session body carries everything
//! the browser module needs to build the core's `SessionView` and run the same verdict
//! locally: `id`, `user_id`, `status`, `reason`, `managed`, `expires_at`,
//! `login_expires_at`, `is_latest`, `digest`, `generation`.

pub use checkout_core::VerdictBody;
use checkout_core::{
    changes::ChangeItem,
    evaluate,
    snapshot::{OwnOffer, Snapshot},
    Action, CheckInput, SessionStatus, Viewer,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::sessions::SessionRow;

/// A checkout session.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckoutBody {
    /// Session id.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// Checkout number, e.g. `CO-22112026-000001`.
    pub number: String,
    /// Current status (expiry decided at read time).
    pub status: String,
    /// Reason for `INACTIVE` or `COMPLETED`.
    pub reason: Option<String>,
    /// Whether session management applies (single session, expiry).
    pub managed: bool,
    /// Start (RFC 3339).
    pub started_at: DateTime<Utc>,
    /// Expiry (RFC 3339), `null` when unmanaged.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the latest sign-in that acted on it ends (RFC 3339): the checkout ends with
    /// it (`INACTIVE/LOGIN_EXPIRED`) unless a newer sign-in acts on it first.
    pub login_expires_at: Option<DateTime<Utc>>,
    /// Whether it is the shopper's most recent checkout.
    pub is_latest: bool,
    /// Recovery generation.
    pub generation: u32,
    /// Digest of the current snapshot (send it with order actions).
    pub digest: String,
    /// The priced, frozen checkout.
    #[schema(value_type = Object)]
    pub snapshot: Snapshot,
    /// The order, once completed.
    pub order_id: Option<String>,
    /// The admin who started it while impersonating, if any.
    pub started_by_admin: Option<String>,
    /// The verdict for the caller.
    pub verdict: VerdictBody,
    /// A fresh recovery token (initiation and recovery only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub recovery_token: Option<String>,
    /// The server's clock, so the browser can correct its own.
    pub server_time: DateTime<Utc>,
    /// For a checkout restored from an ended one: that checkout's id.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub restored_from: Option<String>,
    /// For an ended checkout that its recovery link brought back: the new checkout's id.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub restored_to: Option<String>,
    /// For a restored checkout: what changed since the ended one, in the shopper's
    /// words; the page shows it before the shopper can order. Absent when nothing did.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    #[schema(value_type = Vec<Object>)]
    pub changes: Vec<ChangeItem>,
    /// For a checkout the shop's backend made from its priced cart (CONTRACT §24): the
    /// shop's metadata (strings by key). Absent for a checkout of our own cart.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// For such a checkout: the shipping and payment methods it offers (the shop's; a
    /// checkout of our cart offers the catalog's, `GET /products`). It takes no voucher.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(value_type = Option<Object>)]
    pub offer: Option<OwnOffer>,
    /// While the payment waits for the shopper at the provider (3-D Secure, a bank's
    /// page; CONTRACT §20): where they confirm it, and until when the checkout waits.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_action: Option<NextAction>,
}

/// A step the shopper takes at the payment provider (as Stripe's `next_action`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NextAction {
    /// Always `redirect`: send the shopper's browser to `url`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The provider's page (a web address; never another scheme).
    pub url: String,
    /// Until then the checkout waits; then the payment is cancelled and the checkout
    /// released.
    pub expires_at: DateTime<Utc>,
    /// What the shopper is told meanwhile (the core's words).
    pub message: String,
}

impl NextAction {
    /// The action the checkout in `row` waits for, while it pays.
    fn of(row: &SessionRow, status: SessionStatus) -> Option<NextAction> {
        let action = row.payment_action.as_ref()?;
        let url = action.url.clone()?;
        (status == SessionStatus::PaymentPending).then(|| NextAction {
            kind: "redirect".into(),
            url,
            expires_at: action.deadline,
            message: checkout_core::payment::action::ACTION_WAITING_MESSAGE.to_owned(),
        })
    }
}

impl CheckoutBody {
    /// The body for `row` as `viewer` sees it at `now`.
    pub fn new(row: &SessionRow, viewer: &Viewer, now: DateTime<Utc>) -> CheckoutBody {
        let status = row.effective(now);
        let verdict = evaluate(&CheckInput {
            session: Some(row.view()),
            viewer: viewer.clone(),
            action: Action::View,
            digest: None,
            now,
        });
        CheckoutBody {
            id: row.id.clone(),
            user_id: row.user_id.clone(),
            number: row.number.clone(),
            status: status.name().to_owned(),
            reason: status.reason().map(str::to_owned),
            managed: row.managed,
            started_at: row.started_at,
            expires_at: row.expires_at,
            login_expires_at: row.login_expires_at,
            is_latest: row.is_latest,
            generation: row.generation,
            digest: row.snapshot.digest.clone(),
            snapshot: row.snapshot.clone(),
            order_id: row.order_id.clone(),
            started_by_admin: row.started_by_admin.clone(),
            verdict: verdict.into(),
            recovery_token: None,
            server_time: now,
            restored_from: row.restored_from.clone(),
            restored_to: row.restored_to.clone(),
            changes: row.changes.clone(),
            metadata: row.metadata(),
            offer: row.own_offer(),
            next_action: NextAction::of(row, status),
        }
    }
}

/// An order, as stored and as answered.
pub use crate::db::orders::Order as OrderBody;
