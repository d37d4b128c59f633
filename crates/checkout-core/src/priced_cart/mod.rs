//! Checkouts from the shop's own priced cart (CONTRACT §24): a shop that keeps its cart
//! and prices in its own platform sends them server to server, as shops do with Stripe
//! Checkout. This module checks that body — every problem at its JSON Pointer, as a
//! catalog is checked — and turns it into the [`PricingInput`] every checkout is priced
//! from, so a priced cart and a catalog price the same lines the same way: one pricing
//! function ([`crate::snapshot::Snapshot::capture`]) with §17's rounding.
//!
//! The shop gives each line and shipping method its tax rate; the rate applies wherever
//! the order goes (the shop's platform decided it). Discounts are the shop's too: its
//! unit prices carry them, and such a checkout takes no voucher.

mod check;

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{
    catalog::problems::Problems,
    error::Rejection,
    money::{BasisPoints, Minor},
    offer::{Offer, OfferedProduct},
    snapshot::{CartLine, OwnOffer, PaymentMethod, PricingInput, ShippingMethod, TaxRate},
};

/// Most shipping or payment methods one priced cart may offer.
pub const MAX_METHODS: usize = 20;
/// Most metadata keys.
pub const MAX_METADATA_KEYS: usize = 50;
/// Longest metadata key, in characters.
pub const MAX_METADATA_KEY: usize = 40;
/// Longest metadata value, in characters.
pub const MAX_METADATA_VALUE: usize = 500;
/// Longest return address (`success_url`, `cancel_url`), in characters.
pub const MAX_URL: usize = 2_000;
/// Longest customer id, in characters (a token's `sub` may be as long, CONTRACT §19).
pub const MAX_CUSTOMER_ID: usize = 255;
/// Most the merchandise of one cart may cost, in minor units (100 million in a
/// two-decimal currency): far above any order, far below where sums could overflow.
pub const MAX_CART_TOTAL: Minor = 10_000_000_000;

/// The shop's customer the checkout is for: the same id as their token's `sub`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedCustomer {
    /// The shop's id of the customer.
    pub id: String,
    /// Their e-mail, when the shop sends it.
    pub email: Option<String>,
}

/// A line as the shop priced it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PricedLine {
    /// The shop's SKU, unique in the cart.
    pub sku: String,
    /// What the shopper reads.
    pub name: String,
    /// How many (1 to 999).
    pub quantity: i64,
    /// One unit, in minor units, with or without tax as `prices_include_tax` says.
    pub unit_price: Minor,
    /// The line's tax rate, basis points (700 = 7 %).
    pub tax_rate_bps: i64,
}

/// A shipping method as the shop offers it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PricedShipping {
    /// Stable identifier.
    pub id: String,
    /// What the shopper reads.
    pub name: String,
    /// Price in minor units.
    pub price: Minor,
    /// Its tax rate, basis points.
    #[serde(default)]
    pub tax_rate_bps: i64,
    /// Merchandise from which it is free.
    #[serde(default)]
    pub free_from: Option<Minor>,
    /// ISO 3166-1 alpha-2 countries it delivers to; everywhere when absent.
    #[serde(default)]
    pub countries: Option<Vec<String>>,
}

/// A priced cart, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedCart {
    /// Whose checkout it is.
    pub customer: PricedCustomer,
    /// ISO 4217 currency of every amount.
    pub currency: String,
    /// Whether the prices include tax.
    pub prices_include_tax: bool,
    /// The lines.
    pub lines: Vec<PricedLine>,
    /// The shipping methods offered.
    pub shipping_methods: Vec<PricedShipping>,
    /// The payment methods offered.
    pub payment_methods: Vec<PaymentMethod>,
    /// The shop's own strings, carried on the checkout, its order and every order event.
    pub metadata: Map<String, Value>,
    /// Where the shopper returns to the shop after ordering.
    pub success_url: Option<String>,
    /// Where the shopper goes back to the shop's cart.
    pub cancel_url: Option<String>,
}

/// The tax class of a rate the shop gave (a class per distinct rate).
fn class_of(bps: BasisPoints) -> String {
    format!("rate-{bps}")
}

impl PricedCart {
    /// The body in `value`, checked whole; `VALIDATION_FAILED` listing every problem
    /// (at most [`crate::catalog::MAX_ERRORS`]) otherwise.
    pub fn parse(value: &Value) -> Result<PricedCart, Rejection> {
        let mut p = Problems(Vec::new());
        match check::check(&mut p, value) {
            Some(cart) if p.0.is_empty() => Ok(cart),
            _ => Err(p.refusal("The cart", "no checkout was made")),
        }
    }

    /// What the checkout is priced from: the lines at the shop's prices, a tax class per
    /// rate (applying in every country), the shop's methods as the checkout's own offer.
    pub fn pricing_input(&self) -> PricingInput {
        let rate = |bps: i64| BasisPoints::try_from(bps).unwrap_or(BasisPoints::MAX);
        let mut rates = BTreeSet::new();
        let lines = self
            .lines
            .iter()
            .map(|l| {
                let bps = rate(l.tax_rate_bps);
                rates.insert(bps);
                CartLine {
                    sku: l.sku.clone(),
                    name: l.name.clone(),
                    quantity: u32::try_from(l.quantity).unwrap_or(0),
                    unit_price: l.unit_price,
                    tax_class: class_of(bps),
                }
            })
            .collect();
        let shipping_methods = self
            .shipping_methods
            .iter()
            .map(|m| {
                let bps = rate(m.tax_rate_bps);
                rates.insert(bps);
                ShippingMethod {
                    id: m.id.clone(),
                    name: m.name.clone(),
                    price: m.price,
                    free_from: m.free_from,
                    tax_class: Some(class_of(bps)),
                    countries: m.countries.clone(),
                }
            })
            .collect();
        PricingInput {
            currency: self.currency.clone(),
            lines,
            tax_rates: rates
                .into_iter()
                .map(|rate_bps| TaxRate {
                    class: class_of(rate_bps),
                    country: None,
                    rate_bps,
                })
                .collect(),
            prices_include_tax: self.prices_include_tax,
            own_offer: Some(OwnOffer {
                shipping_methods,
                payment_methods: self.payment_methods.clone(),
                success_url: self.success_url.clone(),
                cancel_url: self.cancel_url.clone(),
            }),
            ..PricingInput::default()
        }
    }
}

impl Offer {
    /// The offer of a checkout made from the shop's own priced cart (CONTRACT §24), or
    /// `None` for a checkout of the catalog: its lines as the products (each at most as
    /// many as the shop sent), its rates, and the methods the shop sent. Nothing else is
    /// on offer: no voucher, no promotion.
    pub fn own(input: &PricingInput) -> Option<Offer> {
        let own = input.own_offer.as_ref()?;
        let products = input
            .lines
            .iter()
            .map(|l| OfferedProduct {
                sku: l.sku.clone(),
                name: l.name.clone(),
                unit_price: l.unit_price,
                tax_class: l.tax_class.clone(),
                max_quantity: l.quantity,
            })
            .collect();
        Some(
            Offer {
                currency: input.currency.clone(),
                prices_include_tax: input.prices_include_tax,
                origin_country: input.origin_country.clone(),
                products,
                tax_rates: input.tax_rates.clone(),
                shipping_methods: own.shipping_methods.clone(),
                payment_methods: own.payment_methods.clone(),
                ..Offer::default()
            }
            .indexed(),
        )
    }
}

/// `VALIDATION_FAILED` for a customer id the server cannot give a checkout to.
pub fn unknown_customer(id: &str) -> Rejection {
    Rejection::invalid_fields(
        "The cart names a customer this shop has no account for.",
        vec![crate::error::FieldError::new(
            "/customer/id",
            format!("no account is named {}", crate::detail::Quoted(id)),
        )],
    )
}
