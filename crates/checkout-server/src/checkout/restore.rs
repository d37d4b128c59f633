//! Bringing back a checkout that expired or was signed out of (CONTRACT §16).
//! `GET /checkouts/recoverable` offers the shopper's last such checkout with a signed
//! link; `POST /checkouts/restore` redeems the link, on any device once signed in: the
//! core re-prices the old lines with today's offer and lists what changed, and a new
//! checkout starts from them exactly as any initiation would (supersession,
//! `PAYMENT_IN_PROGRESS`, the throttle), with the lines back in the cart.

use axum::{extract::State, http::StatusCode, response::Response, Json};
use checkout_core::{
    changes::ChangeItem,
    restore::{self, LinkClaims},
    ErrorCode, Rejection,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{answer_and_commit, start, to_json, with_token, Fresh, Starter};
use crate::{
    db::{self, WriteTx},
    http::error::ApiResult,
    http::extract::{ApiJson, CurrentUser, RequestId},
    state::AppState,
};

/// Where the storefront redeems a link.
const LINK_PAGE: &str = "/restore/?token=";

/// The shopper's last checkout that a recovery link can bring back.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RecoverableBody {
    /// The ended checkout.
    pub id: String,
    /// Its number.
    pub number: String,
    /// `EXPIRED` or `INACTIVE`.
    pub status: String,
    /// `SIGNED_OUT` for a signed-out checkout.
    pub reason: Option<String>,
    /// When it ended (RFC 3339).
    pub ended_at: DateTime<Utc>,
    /// How many items it held.
    pub items: u32,
    /// Its total then, in minor units of `currency`.
    pub grand_total: i64,
    /// Its currency.
    pub currency: String,
    /// The link's token.
    pub token: String,
    /// The storefront page that redeems it (relative: `/restore/?token=…`).
    pub link: String,
    /// Until when the link works (RFC 3339).
    pub link_expires_at: DateTime<Utc>,
}

/// Redeem a recovery link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    /// The token of the link (`token` in its query).
    pub token: String,
}

/// The shopper's last checkout if it expired or was signed out of and its link still
/// works, with that link; `CHECKOUT_NOT_FOUND` otherwise.
#[utoipa::path(get, path = "/checkouts/recoverable", tag = "checkout",
    responses((status = 200, body = RecoverableBody), (status = 404, description = "CHECKOUT_NOT_FOUND")))]
pub async fn recoverable(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<Json<RecoverableBody>> {
    let now = state.clock.now();
    let none = || {
        Rejection::with_message(
            ErrorCode::CheckoutNotFound,
            "You have no earlier checkout to continue.",
        )
    };
    let row = db::sessions::latest_for_user(&state.db, &user.id)
        .await?
        .filter(|row| row.restored_to.is_none())
        .ok_or_else(none)?;
    let view = row.view();
    let ended_at = restore::ended_at(&view, row.updated_at, now).ok_or_else(none)?;
    let claims = LinkClaims::issue(&view, ended_at, state.tuning.recovery_link_window, now)
        .ok_or_else(none)?;
    let key = state.keys.first().ok_or_else(none)?;
    let token = restore::sign(&claims, key);
    let status = row.effective(now);
    Ok(Json(RecoverableBody {
        id: row.id,
        number: row.number,
        status: status.name().to_owned(),
        reason: status.reason().map(str::to_owned),
        ended_at,
        items: row.snapshot.lines.iter().map(|l| l.quantity).sum(),
        grand_total: row.snapshot.totals.grand_total,
        currency: row.snapshot.currency,
        link: format!("{LINK_PAGE}{token}"),
        token,
        link_expires_at: DateTime::from_timestamp(claims.exp, 0).unwrap_or(now),
    }))
}

/// Bring back an expired or signed-out checkout with its recovery link: a new `ACTIVE`
/// checkout from the old lines at today's prices, with what changed. The link works
/// once (`TOKEN_REPLAYED`), for its shopper only, within its window (`TOKEN_EXPIRED`).
#[utoipa::path(post, path = "/checkouts/restore", tag = "checkout", request_body = RestoreRequest,
    responses((status = 201, body = super::body::CheckoutBody),
        (status = 401, description = "TOKEN_INVALID, TOKEN_EXPIRED"),
        (status = 404, description = "CHECKOUT_NOT_FOUND: the checkout is gone (purged)"),
        (status = 409, description = "TOKEN_REPLAYED, PAYMENT_IN_PROGRESS, CHECKOUT_COMPLETED, CHECKOUT_INACTIVE"),
        (status = 422, description = "CART_EMPTY: nothing of it is sold any more"),
        (status = 429, description = "RATE_LIMITED: too many checkouts started in a minute (Retry-After)")))]
pub async fn restore(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    ApiJson(req): ApiJson<RestoreRequest>,
) -> ApiResult<Response> {
    let now = state.clock.now();
    let claims = restore::verify(&req.token, &state.keys, now)?;
    let mut tx = state.db.begin_write().await?;
    tx.lock_user(&user.id).await?;
    state.guards.initiations.hit(&user.id, now)?;
    let result = restore_in(&state, &mut tx, &user, &request_id, &claims, now).await;
    if result.is_err() {
        state.guards.initiations.uncount(&user.id);
    }
    answer_and_commit(tx, None, result, StatusCode::CREATED).await
}

async fn restore_in(
    state: &AppState,
    tx: &mut WriteTx,
    user: &CurrentUser,
    request_id: &RequestId,
    claims: &LinkClaims,
    now: DateTime<Utc>,
) -> ApiResult<serde_json::Value> {
    let old = db::sessions::load(tx.conn(), &claims.sid).await?;
    let ordered = match &old {
        Some(row) => db::restore::ordered_since(tx.conn(), &user.id, row.seq).await?,
        None => false,
    };
    // A checkout the shop made from its priced cart gives way to any newer one of the
    // customer (the shop's newer cart, CONTRACT §24).
    let replaced_by_shop = match &old {
        Some(row) if row.made_by_shop() => db::sessions::latest_for_user(tx.conn(), &user.id)
            .await?
            .is_some_and(|latest| latest.seq > row.seq),
        _ => false,
    };
    let since = restore::Since {
        restored: old.as_ref().is_some_and(|row| row.restored_to.is_some()),
        ordered,
        last_change: old.as_ref().map_or(now, |row| row.updated_at),
        replaced_by_shop,
    };
    restore::check(
        claims,
        old.as_ref().map(db::sessions::SessionRow::view).as_ref(),
        since,
        &user.viewer(),
        now,
    )?;
    let Some(old) = old else {
        return Err(ErrorCode::CheckoutNotFound.into());
    };
    let catalog = state.catalog_now(tx.conn()).await?;
    let offer = &catalog.offer;
    let old_input = old.pricing_input()?;
    let repriced_own = old_input.own_offer.is_some();
    let repriced = restore::reprice(&old_input, &old.snapshot, offer)?;
    let lines: Vec<(String, u32)> = repriced
        .input
        .lines
        .iter()
        .map(|l| (l.sku.clone(), l.quantity))
        .collect();
    let changes: Vec<ChangeItem> = repriced.changes;
    let fresh = Fresh {
        input: repriced.input,
        snapshot: repriced.snapshot,
        restored_from: Some(old.id.clone()),
        changes,
        metadata: old.metadata.clone(),
    };
    let row = start(tx, &Starter::shopper(user, request_id), fresh, now).await?;
    // `restore::check` saw no replacement under the shopper's lock: a miss is a bug, and
    // an internal error rolls the new checkout back with it.
    if !db::restore::mark_restored(tx.conn(), &old.id, &row.id).await? {
        return Err(super::changed_under_lock(&old.id));
    }
    // The lines go back into the cart: raised to the restored quantity, and never left
    // above what one order may hold today. (A checkout made from the shop's own priced
    // cart has no lines in ours: its cart is the shop's.)
    let lines = if repriced_own { Vec::new() } else { lines };
    let cart = db::carts::lines(tx.conn(), &user.id).await?;
    for (sku, restored) in &lines {
        let held = cart.iter().find(|(s, _)| s == sku).map_or(0, |(_, q)| *q);
        let back = offer
            .product(sku)
            .map_or(*restored, |p| p.captured(held.max(*restored)));
        db::carts::put(tx.conn(), &user.id, sku, back, now).await?;
    }
    crate::ops::metrics::initiation();
    Ok(to_json(&with_token(state, &row, user, now)))
}
