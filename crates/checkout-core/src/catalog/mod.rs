//! The shop's catalog as data (CONTRACT §17): one JSON document — currency, whether
//! prices include tax, the shop's country, products, tax rates by class and country,
//! promotions, vouchers, shipping and payment methods — that the server stores and the
//! admin replaces as a whole or a product at a time. [`CatalogDocument::parse`] checks
//! all of it ([`check`]) before anything is stored, listing every problem with its JSON
//! Pointer; [`CatalogDocument::offer`] is what pricing reads from it.

mod check;
pub mod iso;
pub(crate) mod problems;

use serde::{Deserialize, Serialize};

use crate::{
    money::Minor,
    offer::{Offer, OfferedProduct},
    snapshot::{PaymentMethod, Promotion, ShippingMethod, TaxRate, Voucher, MAX_QUANTITY},
};

pub use check::{MAX_ERRORS, MAX_LIST, MAX_PRODUCTS};

/// A product of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// Stock keeping unit: 1 to 64 of `A–Z a–z 0–9 . _ -`.
    pub sku: String,
    /// Display name.
    pub name: String,
    /// Short description.
    #[serde(default)]
    pub description: String,
    /// Category for the storefront.
    #[serde(default)]
    pub category: String,
    /// Price of one unit in minor units, with tax when the catalog's prices include it.
    pub unit_price: Minor,
    /// Tax class: a class of `tax_rates`.
    pub tax_class: String,
    /// The most one order may hold (1..=999, default 999).
    #[serde(default = "most")]
    pub max_quantity: u32,
    /// On sale (default true); a product off sale is kept in the catalog, not sold.
    #[serde(default = "yes")]
    pub active: bool,
}

fn most() -> u32 {
    MAX_QUANTITY
}

fn yes() -> bool {
    true
}

/// The whole catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogDocument {
    /// ISO 4217 currency of every amount, in its own minor unit (JPY 0, EUR 2, KWD 3).
    pub currency: String,
    /// Whether prices (products, shipping, fixed voucher amounts) include tax.
    #[serde(default)]
    pub prices_include_tax: bool,
    /// ISO 3166-1 alpha-2 country of the shop: the tax country before an address is
    /// known, and for destinations the catalog names no rates for.
    pub origin_country: String,
    /// Products.
    #[serde(default)]
    pub products: Vec<Product>,
    /// Tax rates by class and country.
    #[serde(default)]
    pub tax_rates: Vec<TaxRate>,
    /// Automatic promotions.
    #[serde(default)]
    pub promotions: Vec<Promotion>,
    /// Voucher codes (upper case).
    #[serde(default)]
    pub vouchers: Vec<Voucher>,
    /// Shipping methods.
    #[serde(default)]
    pub shipping_methods: Vec<ShippingMethod>,
    /// Payment methods.
    #[serde(default)]
    pub payment_methods: Vec<PaymentMethod>,
}

impl CatalogDocument {
    /// The product with this SKU, on sale or not.
    pub fn product(&self, sku: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.sku == sku)
    }

    /// What is on sale, as pricing reads it: the products on sale, everything else as
    /// it stands.
    pub fn offer(&self) -> Offer {
        let products: Vec<OfferedProduct> = self
            .products
            .iter()
            .filter(|p| p.active)
            .map(|p| OfferedProduct {
                sku: p.sku.clone(),
                name: p.name.clone(),
                unit_price: p.unit_price,
                tax_class: p.tax_class.clone(),
                max_quantity: p.max_quantity,
            })
            .collect();
        Offer {
            currency: self.currency.clone(),
            prices_include_tax: self.prices_include_tax,
            origin_country: Some(self.origin_country.clone()),
            version: None,
            products,
            tax_rates: self.tax_rates.clone(),
            promotions: self.promotions.clone(),
            vouchers: self.vouchers.clone(),
            shipping_methods: self.shipping_methods.clone(),
            payment_methods: self.payment_methods.clone(),
            by_sku: Default::default(),
        }
        .indexed()
    }
}
