//! Admin routes for the catalog (bearer token): see it with the admin's changes, change
//! a product's price or maximum per order, take it off sale, end a promotion, withdraw
//! a voucher or a shipping method, reprice shipping (CONTRACT §16: so a shop can show
//! what a restored checkout tells the shopper). The changes are stored
//! (`db::catalog`) and apply on every instance to what is priced from then on; a live
//! checkout keeps the prices it was started with.

use axum::{
    extract::{Path, State},
    Json,
};
use checkout_core::{offer, ErrorCode, Rejection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    catalog::{Catalog, Override, OverrideKind},
    db,
    http::error::ApiResult,
    http::extract::{Admin, ApiJson},
    state::AppState,
};

/// The admin catalog routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_catalog))
        .routes(routes!(put_entry))
}

/// One thing the catalog offers, as it stands with the admin's changes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CatalogEntry {
    /// `products`, `promotions`, `vouchers` or `shipping-methods`.
    pub kind: String,
    /// SKU, promotion id, voucher code or method id.
    pub id: String,
    /// What the shopper reads.
    pub name: String,
    /// Unit price (products) or price (shipping methods), minor units.
    pub price: Option<i64>,
    /// The most one order may hold (products).
    pub max_quantity: Option<u32>,
    /// On sale, running or offered.
    pub active: bool,
}

/// A change to one entry; a field left out stays as it is.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryChange {
    /// New price in minor units (products and shipping methods), 0..=100 000 000.
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub price: Option<i64>,
    /// New maximum per order (products), 1..=999.
    #[schema(minimum = 1, maximum = 999)]
    pub max_quantity: Option<i64>,
    /// On sale / running / offered.
    pub active: Option<bool>,
}

const KINDS: [(&str, OverrideKind); 4] = [
    ("products", OverrideKind::Product),
    ("promotions", OverrideKind::Promotion),
    ("vouchers", OverrideKind::Voucher),
    ("shipping-methods", OverrideKind::Shipping),
];

fn path_of(kind: OverrideKind) -> &'static str {
    KINDS
        .iter()
        .find(|(_, k)| *k == kind)
        .map_or("products", |(path, _)| path)
}

/// Every entry of the shipped catalog with the admin's changes applied.
fn entries(base: &Catalog, overrides: &[Override]) -> Vec<CatalogEntry> {
    let today = base.with(overrides);
    let active = |kind, id: &str| {
        overrides
            .iter()
            .find(|o| o.kind == kind && o.id == id)
            .is_none_or(|o| o.active)
    };
    let entry = |kind, id: &str, name: &str, price, max_quantity| CatalogEntry {
        kind: path_of(kind).to_owned(),
        id: id.to_owned(),
        name: name.to_owned(),
        price,
        max_quantity,
        active: active(kind, id),
    };
    let mut out = Vec::new();
    for p in &base.products {
        let now = today.product(p.sku).unwrap_or(p);
        out.push(entry(
            OverrideKind::Product,
            p.sku,
            p.name,
            Some(now.unit_price),
            Some(now.max_quantity),
        ));
    }
    for p in &base.promotions {
        out.push(entry(
            OverrideKind::Promotion,
            &p.id,
            &p.description,
            None,
            None,
        ));
    }
    for v in &base.vouchers {
        out.push(entry(
            OverrideKind::Voucher,
            &v.code,
            &v.description,
            None,
            None,
        ));
    }
    for m in &base.shipping_methods {
        let price = overrides
            .iter()
            .find(|o| o.kind == OverrideKind::Shipping && o.id == m.id)
            .and_then(|o| o.price)
            .unwrap_or(m.price);
        out.push(entry(
            OverrideKind::Shipping,
            &m.id,
            &m.name,
            Some(price),
            None,
        ));
    }
    out
}

/// The catalog with the admin's changes: every product, promotion, voucher and
/// shipping method, including those taken off.
#[utoipa::path(get, path = "/admin/catalog", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = Vec<CatalogEntry>)))]
pub async fn get_catalog(
    _: Admin,
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<CatalogEntry>>> {
    let overrides = db::catalog::overrides(&state.db).await?;
    Ok(Json(entries(&state.catalog, &overrides)))
}

/// Change one entry: `price` (products, shipping methods), `max_quantity` (products),
/// `active`. Checkouts started from then on are priced with it; live checkouts keep
/// their prices; a restored checkout shows the difference.
#[utoipa::path(put, path = "/admin/catalog/{kind}/{id}", tag = "admin", security(("admin" = [])),
    params(("kind" = String, Path, description = "products, promotions, vouchers or shipping-methods"),
        ("id" = String, Path, description = "SKU, promotion id, voucher code or method id")),
    request_body = EntryChange,
    responses((status = 200, body = CatalogEntry), (status = 404, description = "NOT_FOUND: no such entry"),
        (status = 422, description = "VALIDATION_FAILED")))]
pub async fn put_entry(
    _: Admin,
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    ApiJson(change): ApiJson<EntryChange>,
) -> ApiResult<Json<CatalogEntry>> {
    let noun = match kind.as_str() {
        "products" => "product",
        "promotions" => "promotion",
        "vouchers" => "voucher",
        "shipping-methods" => "shipping method",
        _ => "entry",
    };
    let not_found = || {
        Rejection::with_message(
            ErrorCode::NotFound,
            format!("There is no {noun} {id:?} in the catalog."),
        )
    };
    let kind_is = KINDS
        .iter()
        .find(|(path, _)| *path == kind)
        .map(|(_, k)| *k)
        .ok_or_else(not_found)?;
    let base = &state.catalog;
    let known = match kind_is {
        OverrideKind::Product => base.product(&id).is_some(),
        OverrideKind::Promotion => base.promotions.iter().any(|p| p.id == id),
        OverrideKind::Voucher => base.vouchers.iter().any(|v| v.code == id),
        OverrideKind::Shipping => base.shipping_methods.iter().any(|m| m.id == id),
    };
    if !known {
        return Err(not_found().into());
    }
    let priced = matches!(kind_is, OverrideKind::Product | OverrideKind::Shipping);
    if (change.price.is_some() && !priced)
        || (change.max_quantity.is_some() && kind_is != OverrideKind::Product)
    {
        return Err(Rejection::with_message(
            ErrorCode::ValidationFailed,
            format!("Only products and shipping methods have a price, and only products a maximum per order; {kind} have neither."),
        )
        .into());
    }
    let row = Override {
        kind: kind_is,
        id: id.clone(),
        price: change.price.map(offer::price).transpose()?,
        max_quantity: change.max_quantity.map(offer::max_quantity).transpose()?,
        active: change.active.unwrap_or(true),
    };
    let mut tx = state.db.begin_write().await?;
    db::catalog::save(tx.conn(), &row, change.active, state.clock.now()).await?;
    let overrides = db::catalog::overrides(tx.conn()).await?;
    tx.commit().await?;
    tracing::info!(kind = %kind, id = %id, "catalog changed");
    entries(base, &overrides)
        .into_iter()
        .find(|e| e.kind == kind && e.id == id)
        .map(Json)
        .ok_or_else(|| not_found().into())
}
