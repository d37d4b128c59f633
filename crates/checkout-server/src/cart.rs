//! The cart. It is independent of checkout: changing it never touches a live session's
//! snapshot (changes apply to the next checkout), and expiry or supersession never
//! touches it.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use checkout_core::{
    snapshot::{Snapshot, Totals, MAX_LINES, MAX_QUANTITY},
    ErrorCode, Rejection,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    clock::to_ms,
    error::ApiResult,
    extract::{ApiJson, CurrentUser},
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
    /// Quantity.
    pub quantity: u32,
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
    #[schema(schema_with = crate::api_doc::fields::sku)]
    pub sku: String,
    /// 1 to 999 (added to what is already in the cart).
    #[schema(schema_with = crate::api_doc::fields::quantity)]
    pub quantity: i64,
}

/// Change a quantity.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetQuantity {
    /// 1 to 999.
    #[schema(schema_with = crate::api_doc::fields::quantity)]
    pub quantity: i64,
}

fn quantity(q: i64) -> Result<i64, Rejection> {
    if (1..=i64::from(MAX_QUANTITY)).contains(&q) {
        Ok(q)
    } else {
        Err(Rejection::with_message(
            ErrorCode::ValidationFailed,
            format!("quantity must be between 1 and {MAX_QUANTITY}"),
        ))
    }
}

async fn cart_body(state: &AppState, user_id: &str) -> ApiResult<CartBody> {
    let rows = crate::db::query(
        "SELECT sku, quantity FROM cart_items WHERE user_id = $1 ORDER BY added_at, sku",
    )
    .bind(user_id)
    .fetch_all(&state.db)
    .await?;
    let mut lines = Vec::new();
    for r in &rows {
        let sku: String = r.try_get("sku")?;
        let q = u32::try_from(r.try_get::<i64>("quantity")?).unwrap_or(0);
        lines.push((sku, q));
    }
    let items = lines
        .iter()
        .filter_map(|(sku, q)| {
            state.catalog.product(sku).map(|p| CartLineBody {
                sku: sku.clone(),
                name: p.name.to_owned(),
                quantity: *q,
                unit_price: p.unit_price,
                subtotal: p.unit_price * i64::from(*q),
            })
        })
        .collect();
    let preview = state
        .catalog
        .pricing_input(&lines)
        .and_then(|input| Snapshot::capture(&input))
        .ok()
        .map(|s| s.totals);
    Ok(CartBody {
        currency: state.catalog.currency.to_owned(),
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
    let q = quantity(req.quantity)?;
    if state.catalog.product(&req.sku).is_none() {
        return Err(Rejection::with_message(
            ErrorCode::ValidationFailed,
            format!("unknown sku {:?}", req.sku),
        )
        .into());
    }
    let mut tx = state.db.begin_write().await?;
    tx.lock_user(&user.id).await?;
    let existing: Option<i64> =
        crate::db::query("SELECT quantity FROM cart_items WHERE user_id = $1 AND sku = $2")
            .bind(&user.id)
            .bind(&req.sku)
            .fetch_optional(tx.conn())
            .await?
            .map(|r| r.try_get("quantity"))
            .transpose()?;
    let lines: i64 =
        crate::db::query("SELECT COUNT(*) AS lines FROM cart_items WHERE user_id = $1")
            .bind(&user.id)
            .fetch_one(tx.conn())
            .await?
            .try_get("lines")?;
    if existing.is_none() && lines >= MAX_LINES as i64 {
        return Err(Rejection::with_message(
            ErrorCode::ValidationFailed,
            format!("a cart holds at most {MAX_LINES} lines"),
        )
        .into());
    }
    let total = quantity(existing.unwrap_or(0) + q)?;
    crate::db::query(
        "INSERT INTO cart_items (user_id, sku, quantity, added_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, sku) DO UPDATE SET quantity = excluded.quantity",
    )
    .bind(&user.id)
    .bind(&req.sku)
    .bind(total)
    .bind(to_ms(state.clock.now()))
    .execute(tx.conn())
    .await?;
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
    let q = quantity(req.quantity)?;
    let mut tx = state.db.begin_write().await?;
    let done =
        crate::db::query("UPDATE cart_items SET quantity = $3 WHERE user_id = $1 AND sku = $2")
            .bind(&user.id)
            .bind(&sku)
            .bind(q)
            .execute(tx.conn())
            .await?;
    tx.commit().await?;
    if done == 0 {
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
    crate::db::query("DELETE FROM cart_items WHERE user_id = $1 AND sku = $2")
        .bind(&user.id)
        .bind(&sku)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(Json(cart_body(&state, &user.id).await?))
}
