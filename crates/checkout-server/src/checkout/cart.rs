//! The cart. It is independent of checkout: changing it never touches a live session's
//! snapshot (changes apply to the next checkout), and expiry or supersession never
//! touches it.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use checkout_core::{cart, snapshot::Snapshot, snapshot::Totals, ErrorCode, Rejection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    db,
    http::error::ApiResult,
    http::extract::{ApiJson, CurrentUser},
    state::AppState,
};

/// The cart routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_cart))
        .routes(routes!(add_item))
        .routes(routes!(update_item, remove_item))
}

/// A cart line.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CartLineBody {
    /// SKU.
    pub sku: String,
    /// Product name.
    pub name: String,
    /// Quantity: what a checkout would take (never above `max_quantity`).
    pub quantity: u32,
    /// The most one order may hold of this product today.
    pub max_quantity: u32,
    /// Unit price, minor units.
    pub unit_price: i64,
    /// Line subtotal, minor units.
    pub subtotal: i64,
}

/// The cart with a price preview (the checkout snapshot is what counts).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CartBody {
    /// Currency.
    pub currency: String,
    /// Lines, oldest first.
    pub items: Vec<CartLineBody>,
    /// Totals as a checkout would price them now (no shipping chosen yet).
    #[schema(value_type = Option<Object>)]
    pub preview: Option<Totals>,
}

/// Add to the cart.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItem {
    /// SKU from `GET /products`.
    #[schema(schema_with = crate::http::api_doc::fields::sku)]
    pub sku: String,
    /// 1 to 999 (added to what is already in the cart).
    #[schema(schema_with = crate::http::api_doc::fields::quantity)]
    pub quantity: i64,
}

/// Change a quantity.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetQuantity {
    /// 1 to 999.
    #[schema(schema_with = crate::http::api_doc::fields::quantity)]
    pub quantity: i64,
}

async fn cart_body(state: &AppState, user_id: &str) -> ApiResult<CartBody> {
    let lines = db::carts::lines(&state.db, user_id).await?;
    let catalog = state.catalog_now(&state.db).await?;
    let offer = &catalog.offer;
    let items = lines
        .iter()
        .filter_map(|(sku, q)| {
            let product = offer.product(sku)?;
            // As a checkout would capture it (`Offer::pricing_input`): at most the limit.
            let quantity = product.captured(*q);
            Some(
                cart::line_subtotal(product.unit_price, quantity).map(|subtotal| CartLineBody {
                    sku: sku.clone(),
                    name: product.name.clone(),
                    quantity,
                    max_quantity: product.limit(),
                    unit_price: product.unit_price,
                    subtotal,
                }),
            )
        })
        .collect::<Result<_, _>>()?;
    let preview = offer
        .pricing_input(&lines)
        .and_then(|input| Snapshot::capture(&input))
        .ok()
        .map(|s| s.totals);
    Ok(CartBody {
        currency: offer.currency.clone(),
        items,
        preview,
    })
}

/// The shopper's cart.
#[utoipa::path(get, path = "/cart", tag = "cart", responses((status = 200, body = CartBody)))]
pub async fn get_cart(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<Json<CartBody>> {
    Ok(Json(cart_body(&state, &user.id).await?))
}

/// Add a product (quantities add up, at most 999 per line).
#[utoipa::path(post, path = "/cart/items", tag = "cart", request_body = AddItem,
    responses((status = 201, body = CartBody), (status = 422, description = "VALIDATION_FAILED")))]
pub async fn add_item(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<AddItem>,
) -> ApiResult<(StatusCode, Json<CartBody>)> {
    cart::quantity(req.quantity)?;
    let mut tx = state.db.begin_write().await?;
    tx.lock_user(&user.id).await?;
    let catalog = state.catalog_now(tx.conn()).await?;
    let offer = &catalog.offer;
    let product = offer.product_on_sale(&req.sku)?;
    let (existing, lines) = db::carts::line_and_count(tx.conn(), &user.id, &req.sku).await?;
    let total = cart::within_limit(cart::add(existing, lines, req.quantity)?, product)?;
    db::carts::put(tx.conn(), &user.id, &req.sku, total, state.clock.now()).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(cart_body(&state, &user.id).await?),
    ))
}

/// Set the quantity of a line.
#[utoipa::path(patch, path = "/cart/items/{sku}", tag = "cart", params(("sku" = String, Path)),
    request_body = SetQuantity, responses((status = 200, body = CartBody)))]
pub async fn update_item(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(sku): Path<String>,
    ApiJson(req): ApiJson<SetQuantity>,
) -> ApiResult<Json<CartBody>> {
    let mut q = cart::quantity(req.quantity)?;
    let mut tx = state.db.begin_write().await?;
    let catalog = state.catalog_now(tx.conn()).await?;
    if let Some(product) = catalog.offer.product(&sku) {
        q = cart::within_limit(q, product)?;
    }
    let done = db::carts::set_quantity(tx.conn(), &user.id, &sku, q).await?;
    tx.commit().await?;
    if !done {
        return Err(Rejection::with_message(
            ErrorCode::ValidationFailed,
            format!("{sku} is not in the cart"),
        )
        .into());
    }
    Ok(Json(cart_body(&state, &user.id).await?))
}

/// Remove a line.
#[utoipa::path(delete, path = "/cart/items/{sku}", tag = "cart", params(("sku" = String, Path)),
    responses((status = 200, body = CartBody)))]
pub async fn remove_item(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(sku): Path<String>,
) -> ApiResult<Json<CartBody>> {
    let mut tx = state.db.begin_write().await?;
    db::carts::remove(tx.conn(), &user.id, &sku).await?;
    tx.commit().await?;
    Ok(Json(cart_body(&state, &user.id).await?))
}
