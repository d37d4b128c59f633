//! `GET /products`: the catalog as the storefront sees it.

use axum::{extract::State, Json};
use checkout_core::snapshot::{PaymentMethod, Promotion, ShippingMethod};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{catalog::Product, http::error::ApiResult, state::AppState};

/// The catalog as the storefront sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogBody {
    currency: &'static str,
    products: Vec<Product>,
    #[schema(value_type = Vec<Object>)]
    shipping_methods: Vec<ShippingMethod>,
    #[schema(value_type = Vec<Object>)]
    payment_methods: Vec<PaymentMethod>,
    #[schema(value_type = Vec<Object>)]
    promotions: Vec<Promotion>,
}

/// List the products, shipping and payment methods and promotions.
#[utoipa::path(get, path = "/products", tag = "catalog",
    responses((status = 200, body = CatalogBody)))]
pub async fn list_products(State(state): State<AppState>) -> ApiResult<Json<CatalogBody>> {
    let c = state.catalog_now(&state.db).await?;
    Ok(Json(CatalogBody {
        currency: c.currency,
        products: c.products,
        shipping_methods: c.shipping_methods,
        payment_methods: c.payment_methods,
        promotions: c.promotions,
    }))
}
