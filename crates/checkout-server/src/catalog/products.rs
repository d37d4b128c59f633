//! `GET /products`: the catalog as the storefront sees it — what is on sale, the
//! shipping and payment methods and the promotions — made once per catalog version.

use axum::body::Bytes;
use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use checkout_core::{
    catalog::CatalogDocument,
    snapshot::{PaymentMethod, Promotion, ShippingMethod},
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{http::error::ApiResult, state::AppState};

/// A product on sale, as the storefront lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListedProduct<'a> {
    /// Stock keeping unit.
    pub sku: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Short description.
    pub description: &'a str,
    /// Category.
    pub category: &'a str,
    /// Price of one unit, minor units (with tax when `prices_include_tax`).
    pub unit_price: i64,
    /// Tax class.
    pub tax_class: &'a str,
    /// The most one order may hold.
    pub max_quantity: u32,
}

/// The catalog as the storefront sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogBody<'a> {
    /// ISO 4217 currency of every amount.
    currency: &'a str,
    /// Whether prices include tax.
    prices_include_tax: bool,
    /// The products on sale.
    products: Vec<ListedProduct<'a>>,
    #[schema(value_type = Vec<Object>)]
    shipping_methods: &'a [ShippingMethod],
    #[schema(value_type = Vec<Object>)]
    payment_methods: &'a [PaymentMethod],
    #[schema(value_type = Vec<Object>)]
    promotions: &'a [Promotion],
}

/// `GET /products`'s body for `document`.
pub fn listing(document: &CatalogDocument) -> Bytes {
    let body = CatalogBody {
        currency: &document.currency,
        prices_include_tax: document.prices_include_tax,
        products: document
            .products
            .iter()
            .filter(|p| p.active)
            .map(|p| ListedProduct {
                sku: &p.sku,
                name: &p.name,
                description: &p.description,
                category: &p.category,
                unit_price: p.unit_price,
                tax_class: &p.tax_class,
                max_quantity: p.max_quantity,
            })
            .collect(),
        shipping_methods: &document.shipping_methods,
        payment_methods: &document.payment_methods,
        promotions: &document.promotions,
    };
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

/// List the products on sale, the shipping and payment methods and the promotions.
#[utoipa::path(get, path = "/products", tag = "catalog",
    responses((status = 200, body = CatalogBody)))]
pub async fn list_products(State(state): State<AppState>) -> ApiResult<Response> {
    let catalog = state.catalog_now(&state.db).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        catalog.listing.clone(),
    )
        .into_response())
}
