//! The OpenAPI description of a priced cart (CONTRACT §24), for the shops that generate
//! their client from the document. The body is read and checked by the core
//! (`checkout_core::priced_cart`); these types only say its shape and bounds.

use serde::Deserialize;
use utoipa::ToSchema;

/// The shop's priced cart.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Read by the core from JSON; here for the document only.
pub struct PricedCartRequest {
    /// Whose checkout it is.
    customer: PricedCustomerRequest,
    /// ISO 4217 code; every amount is in its minor units.
    #[schema(pattern = "^[A-Z]{3}$", example = "EUR")]
    currency: String,
    /// Whether unit and shipping prices include tax.
    prices_include_tax: bool,
    /// The lines, each SKU once.
    #[schema(min_items = 1, max_items = 500)]
    lines: Vec<PricedLineRequest>,
    /// The shipping methods offered, each id once.
    #[schema(min_items = 1, max_items = 20)]
    shipping_methods: Vec<PricedShippingRequest>,
    /// The payment methods offered (`card` is paid with Pay Now; any other is deferred).
    #[schema(min_items = 1, max_items = 20)]
    payment_methods: Vec<PricedPaymentRequest>,
    /// Up to 50 keys (1–40 characters) with string values of at most 500 characters,
    /// carried on the checkout, its order and every order event.
    #[schema(value_type = Option<Object>, additional_properties)]
    metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The shop's customer: the same id as their sign-in token's `sub`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct PricedCustomerRequest {
    /// The shop's id of the customer.
    #[schema(min_length = 1, max_length = 200, example = "cust-42")]
    id: String,
    /// Their e-mail.
    #[schema(max_length = 254, example = "reader@example.org")]
    email: Option<String>,
}

/// A line as the shop priced it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct PricedLineRequest {
    /// The shop's SKU.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$", example = "BK-1")]
    sku: String,
    /// What the shopper reads.
    #[schema(min_length = 1, max_length = 200, example = "Der Zauberberg")]
    name: String,
    /// How many.
    #[schema(minimum = 1, maximum = 999)]
    quantity: i64,
    /// One unit, minor units.
    #[schema(minimum = 0, maximum = 100_000_000, example = 1999)]
    unit_price: i64,
    /// The line's tax rate, basis points (700 = 7 %).
    #[schema(minimum = 0, maximum = 10_000, example = 700)]
    tax_rate_bps: i64,
}

/// A shipping method as the shop offers it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct PricedShippingRequest {
    /// Stable id.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$", example = "dhl")]
    id: String,
    /// What the shopper reads.
    #[schema(min_length = 1, max_length = 200, example = "DHL Paket")]
    name: String,
    /// Price, minor units.
    #[schema(minimum = 0, maximum = 100_000_000, example = 499)]
    price: i64,
    /// Its tax rate, basis points (0 when absent).
    #[schema(minimum = 0, maximum = 10_000, example = 1900)]
    tax_rate_bps: Option<i64>,
    /// Merchandise (minor units) from which it is free.
    #[schema(minimum = 0, maximum = 100_000_000)]
    free_from: Option<i64>,
    /// ISO 3166-1 alpha-2 countries it delivers to; everywhere when absent.
    countries: Option<Vec<String>>,
}

/// A payment method as the shop offers it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct PricedPaymentRequest {
    /// Stable id (`card` is paid with Pay Now).
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$", example = "invoice")]
    id: String,
    /// What the shopper reads.
    #[schema(min_length = 1, max_length = 200, example = "Invoice")]
    name: String,
}
