//! The changes a shopper makes to a checkout: shipping, payment, a voucher, removing a
//! line. The core judges each (`PricingInput::apply_voucher`, `remove_line`, …) and
//! prices the result; every change makes a new snapshot with a new digest.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
};
use checkout_core::{
    address::Address,
    changes::between,
    evaluate,
    offer::Offer,
    snapshot::{LineRemoved, Snapshot},
    Action, Change, CheckInput, Transition,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    actor, answer_and_commit, body::CheckoutBody, explained, load_owned, persist_expiry, to_json,
    transition,
};
use crate::{
    db::{self, WriteTx},
    http::error::ApiResult,
    http::extract::{ApiJson, CurrentUser, RequestId},
    state::AppState,
};

/// A change the shopper makes to a checkout.
#[derive(Debug, Clone)]
enum Edit {
    Shipping(String),
    Payment(String),
    Voucher(String),
    RemoveLine(String),
    ShippingAddress(Box<Address>),
    BillingAddress(Box<Address>),
}

impl Edit {
    fn action(&self) -> Action {
        match self {
            Edit::Shipping(_) => Action::SelectShipping,
            Edit::Payment(_) => Action::SelectPayment,
            Edit::Voucher(_) => Action::ApplyVoucher,
            Edit::RemoveLine(_) => Action::RemoveItem,
            Edit::ShippingAddress(_) | Edit::BillingAddress(_) => Action::SetAddress,
        }
    }
}

async fn modify(
    state: &AppState,
    user: &CurrentUser,
    request_id: &RequestId,
    id: &str,
    edit: Edit,
    digest: Option<String>,
) -> ApiResult<Response> {
    let now = state.clock.now();
    state.guards.changes.hit(&user.id, now)?;
    let mut tx = state.db.begin_write().await?;
    tx.lock_user(&user.id).await?;
    let result = modify_in(state, &mut tx, user, request_id, id, edit, digest, now).await;
    answer_and_commit(tx, None, result, StatusCode::OK).await
}

#[allow(clippy::too_many_arguments)]
async fn modify_in(
    state: &AppState,
    tx: &mut WriteTx,
    user: &CurrentUser,
    request_id: &RequestId,
    id: &str,
    edit: Edit,
    digest: Option<String>,
    now: DateTime<Utc>,
) -> ApiResult<serde_json::Value> {
    let row = load_owned(tx, user, id, now).await?;
    let actor = actor(user, request_id);
    let verdict = evaluate(&CheckInput {
        session: Some(row.view()),
        viewer: user.viewer(),
        action: edit.action(),
        digest: digest.clone(),
        now,
    });
    if let Some(rejection) = verdict.rejection {
        persist_expiry(tx.conn(), &row, &actor, now).await?;
        return Err(explained(tx.conn(), &row, digest.as_deref(), rejection)
            .await?
            .into());
    }
    let mut input = row.pricing_input()?;
    // Changed from the catalog version it was captured from (CONTRACT §17), with what
    // today's catalog has withdrawn refused; a checkout made from the shop's own priced
    // cart, from what the shop sent (§24).
    let own = Offer::own(&input);
    let (captured, today);
    let offer = match &own {
        Some(own) => own.live(own),
        None => {
            (captured, today) = state
                .catalog
                .captured(tx.conn(), input.catalog_version)
                .await?;
            captured.offer.may_change(&input)?;
            captured.offer.live(&today.offer)
        }
    };
    // An address re-prices (tax follows its country) and may drop a shipping method:
    // the answer lists what changed.
    let show_changes = matches!(edit, Edit::ShippingAddress(_));
    let made = match edit {
        Edit::Shipping(method) => {
            input.choose_shipping(offer.shipping(&method)?)?;
            Change::SelectShipping
        }
        Edit::ShippingAddress(address) => {
            input.set_shipping_address(&address)?;
            Change::SetAddress
        }
        Edit::BillingAddress(address) => {
            input.set_billing_address(&address)?;
            Change::SetAddress
        }
        Edit::Payment(method) => {
            input.choose_payment(offer.payment(&method)?);
            Change::SelectPayment
        }
        Edit::Voucher(code) => {
            input.apply_voucher(offer.voucher(&code)?)?;
            Change::ApplyVoucher
        }
        Edit::RemoveLine(sku) => {
            let left = input.remove_line(&sku)?;
            // The summary and the cart stay in step (the spec's known limitation 3).
            db::carts::remove(tx.conn(), &user.id, &sku).await?;
            if left == LineRemoved::Emptied {
                transition(
                    tx.conn(),
                    &row.id,
                    row.status,
                    Transition::Empty,
                    &actor,
                    now,
                )
                .await?;
                let row = load_owned(tx, user, id, now).await?;
                return Ok(to_json(&CheckoutBody::new(&row, &user.viewer(), now)));
            }
            Change::RemoveLine
        }
    };
    let snapshot = Snapshot::capture(&input)?;
    let changes = if show_changes {
        between(&row.snapshot, &snapshot)
    } else {
        Vec::new()
    };
    db::sessions::replace_snapshot(tx.conn(), &row, &input, &snapshot, made, &actor, now).await?;
    let row = load_owned(tx, user, id, now).await?;
    let mut body = CheckoutBody::new(&row, &user.viewer(), now);
    if !changes.is_empty() {
        body.changes = changes;
    }
    Ok(to_json(&body))
}

/// Choose a shipping or payment method.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MethodRequest {
    /// The method id from `GET /products`.
    #[schema(schema_with = crate::http::api_doc::fields::method_id)]
    pub method_id: String,
    /// The digest of the summary the shopper saw (optional; checked when sent).
    #[serde(default)]
    pub snapshot_digest: Option<String>,
}

/// Apply a voucher.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoucherRequest {
    /// The code, case-insensitive.
    #[schema(schema_with = crate::http::api_doc::fields::voucher_code)]
    pub code: String,
    /// The digest of the summary the shopper saw (optional; checked when sent).
    #[serde(default)]
    pub snapshot_digest: Option<String>,
}

/// Optional digest for a line removal.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DigestQuery {
    /// The digest of the summary the shopper saw.
    pub snapshot_digest: Option<String>,
}

/// Choose the shipping method (re-snapshots: the digest changes).
#[utoipa::path(put, path = "/checkouts/{id}/shipping-method", tag = "checkout",
    params(("id" = String, Path)), request_body = MethodRequest,
    responses((status = 200, body = CheckoutBody)))]
pub async fn select_shipping(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<MethodRequest>,
) -> ApiResult<Response> {
    modify(
        &state,
        &user,
        &request_id,
        &id,
        Edit::Shipping(req.method_id),
        req.snapshot_digest,
    )
    .await
}

/// Choose the payment method (re-snapshots: the digest changes).
#[utoipa::path(put, path = "/checkouts/{id}/payment-method", tag = "checkout",
    params(("id" = String, Path)), request_body = MethodRequest,
    responses((status = 200, body = CheckoutBody)))]
pub async fn select_payment(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<MethodRequest>,
) -> ApiResult<Response> {
    modify(
        &state,
        &user,
        &request_id,
        &id,
        Edit::Payment(req.method_id),
        req.snapshot_digest,
    )
    .await
}

/// Apply a voucher code (re-snapshots: the digest changes).
#[utoipa::path(post, path = "/checkouts/{id}/vouchers", tag = "checkout",
    params(("id" = String, Path)), request_body = VoucherRequest,
    responses((status = 200, body = CheckoutBody)))]
pub async fn apply_voucher(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<VoucherRequest>,
) -> ApiResult<Response> {
    modify(
        &state,
        &user,
        &request_id,
        &id,
        Edit::Voucher(req.code),
        req.snapshot_digest,
    )
    .await
}

/// Remove a line from the order summary, and from the cart. The last line ends the
/// checkout as `INACTIVE/EMPTIED`.
#[utoipa::path(delete, path = "/checkouts/{id}/items/{sku}", tag = "checkout",
    params(("id" = String, Path), ("sku" = String, Path), DigestQuery),
    responses((status = 200, body = CheckoutBody)))]
pub async fn remove_item(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    Path((id, sku)): Path<(String, String)>,
    Query(query): Query<DigestQuery>,
) -> ApiResult<Response> {
    modify(
        &state,
        &user,
        &request_id,
        &id,
        Edit::RemoveLine(sku),
        query.snapshot_digest,
    )
    .await
}

/// Give the shipping address (CONTRACT §18): checked field by field (`errors`), part of
/// the snapshot and its digest. Tax follows its country; a chosen shipping method that
/// does not deliver there is dropped; `changes` says what changed.
#[utoipa::path(put, path = "/checkouts/{id}/shipping-address", tag = "checkout",
    params(("id" = String, Path)), request_body = Address,
    responses((status = 200, body = CheckoutBody),
        (status = 422, description = "VALIDATION_FAILED with `errors` per field")))]
pub async fn set_shipping_address(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<Response> {
    let edit = Edit::ShippingAddress(Box::new(Address::from_json(&body)?));
    modify(&state, &user, &request_id, &id, edit, None).await
}

/// Give the billing address (without one, the shipping address is billed).
#[utoipa::path(put, path = "/checkouts/{id}/billing-address", tag = "checkout",
    params(("id" = String, Path)), request_body = Address,
    responses((status = 200, body = CheckoutBody),
        (status = 422, description = "VALIDATION_FAILED with `errors` per field")))]
pub async fn set_billing_address(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<Response> {
    let edit = Edit::BillingAddress(Box::new(Address::from_json(&body)?));
    modify(&state, &user, &request_id, &id, edit, None).await
}
