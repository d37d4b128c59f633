//! The demo catalog of the bakery "Brownie Bliss": products with tax classes, automatic
//! promotions, voucher codes, shipping and payment methods. It is data, seeded in code;
//! a real shop would load the same shapes from its product service. The admin's changes
//! (prices, maximum per order, what is on sale or offered; `db::catalog`) are applied
//! on top by [`Catalog::with`], and [`Catalog::offer`] gives the core's `Offer`, from
//! which the cart and checkout price everything. `GET /products` (`products.rs`) lists
//! today's catalog.

pub mod admin;
pub mod products;

use checkout_core::{
    money::Minor,
    offer::{Offer, OfferedProduct},
    snapshot::{
        PaymentMethod, Promotion, PromotionRule, ShippingMethod, TaxRate, Voucher, VoucherDiscount,
        MAX_QUANTITY,
    },
};
use serde::Serialize;
use utoipa::ToSchema;

/// A product on sale.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Product {
    /// Stock keeping unit.
    pub sku: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Short description.
    pub description: &'static str,
    /// Category for the storefront.
    pub category: &'static str,
    /// Price of one unit in minor units, before tax.
    pub unit_price: Minor,
    /// Tax class.
    pub tax_class: &'static str,
    /// The most one order may hold.
    pub max_quantity: u32,
}

/// Everything sold and how it is priced.
#[derive(Debug)]
pub struct Catalog {
    /// ISO 4217 currency of every price.
    pub currency: &'static str,
    /// Products.
    pub products: Vec<Product>,
    /// Tax rates by class.
    pub tax_rates: Vec<TaxRate>,
    /// Automatic promotions.
    pub promotions: Vec<Promotion>,
    /// Voucher codes.
    pub vouchers: Vec<Voucher>,
    /// Shipping methods.
    pub shipping_methods: Vec<ShippingMethod>,
    /// Payment methods.
    pub payment_methods: Vec<PaymentMethod>,
}

fn product(
    sku: &'static str,
    name: &'static str,
    description: &'static str,
    category: &'static str,
    unit_price: Minor,
    tax_class: &'static str,
) -> Product {
    Product {
        sku,
        name,
        description,
        category,
        unit_price,
        tax_class,
        max_quantity: MAX_QUANTITY,
    }
}

impl Catalog {
    /// The bakery.
    pub fn demo() -> Catalog {
        Catalog {
            currency: "USD",
            products: vec![
                product(
                    "BRW-FUDGE",
                    "Fudge brownie",
                    "Dense, dark and gooey.",
                    "brownies",
                    350,
                    "food",
                ),
                product(
                    "BRW-WALNUT",
                    "Walnut brownie",
                    "Toasted walnuts, crackly top.",
                    "brownies",
                    395,
                    "food",
                ),
                product(
                    "BRW-BLONDIE",
                    "Salted caramel blondie",
                    "Brown butter and sea salt.",
                    "brownies",
                    425,
                    "food",
                ),
                product(
                    "CKE-CHOC",
                    "Chocolate chip cookie",
                    "Crisp edges, soft middle.",
                    "cookies",
                    199,
                    "food",
                ),
                product(
                    "CKE-OAT",
                    "Oat raisin cookie",
                    "Chewy oats, plump raisins.",
                    "cookies",
                    179,
                    "food",
                ),
                product(
                    "CAKE-CHOC",
                    "Triple chocolate cake",
                    "Serves 8. Celebration cake.",
                    "cakes",
                    2_999,
                    "standard",
                ),
                product(
                    "CAKE-RED",
                    "Red velvet cake",
                    "Serves 8. Cream cheese frosting.",
                    "cakes",
                    3_299,
                    "standard",
                ),
                product(
                    "BOX-GIFT",
                    "Gift box of six brownies",
                    "Boxed with a ribbon.",
                    "gifts",
                    1_999,
                    "standard",
                ),
            ],
            tax_rates: vec![
                TaxRate {
                    class: "food".into(),
                    rate_bps: 500,
                },
                TaxRate {
                    class: "standard".into(),
                    rate_bps: 825,
                },
            ],
            promotions: vec![
                Promotion {
                    id: "fudge-friday".into(),
                    description: "10 % off fudge brownies".into(),
                    rule: PromotionRule::PercentOffSku {
                        sku: "BRW-FUDGE".into(),
                        bps: 1_000,
                    },
                },
                Promotion {
                    id: "big-order".into(),
                    description: "5 % off orders of $50 or more".into(),
                    rule: PromotionRule::PercentOffOrder {
                        min_subtotal: 5_000,
                        bps: 500,
                    },
                },
            ],
            vouchers: vec![
                Voucher {
                    code: "SWEET5".into(),
                    description: "$5 off orders of $20 or more".into(),
                    discount: VoucherDiscount::AmountOff { amount: 500 },
                    min_subtotal: 2_000,
                },
                Voucher {
                    code: "WELCOME10".into(),
                    description: "10 % off your order".into(),
                    discount: VoucherDiscount::PercentOff { bps: 1_000 },
                    min_subtotal: 0,
                },
            ],
            shipping_methods: vec![
                ShippingMethod {
                    id: "pickup".into(),
                    name: "Pick up at the bakery".into(),
                    price: 0,
                    free_from: None,
                },
                ShippingMethod {
                    id: "standard".into(),
                    name: "Standard delivery".into(),
                    price: 499,
                    free_from: Some(4_000),
                },
                ShippingMethod {
                    id: "express".into(),
                    name: "Express courier".into(),
                    price: 1_299,
                    free_from: None,
                },
            ],
            payment_methods: vec![
                PaymentMethod {
                    id: "card".into(),
                    name: "Card".into(),
                },
                PaymentMethod {
                    id: "invoice".into(),
                    name: "Invoice (company accounts)".into(),
                },
            ],
        }
    }

    /// The product with this SKU.
    pub fn product(&self, sku: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.sku == sku)
    }

    /// This catalog with the admin's changes: prices and maxima replaced, what is off
    /// sale or no longer offered left out.
    pub fn with(&self, overrides: &[Override]) -> Catalog {
        let find =
            |kind: OverrideKind, id: &str| overrides.iter().find(|o| o.kind == kind && o.id == id);
        let products = self
            .products
            .iter()
            .filter_map(|p| match find(OverrideKind::Product, p.sku) {
                Some(o) if !o.active => None,
                Some(o) => Some(Product {
                    unit_price: o.price.unwrap_or(p.unit_price),
                    max_quantity: o.max_quantity.unwrap_or(p.max_quantity),
                    ..p.clone()
                }),
                None => Some(p.clone()),
            })
            .collect();
        let offered = |kind: OverrideKind, id: &str| find(kind, id).is_none_or(|o| o.active);
        Catalog {
            currency: self.currency,
            products,
            tax_rates: self.tax_rates.clone(),
            promotions: self
                .promotions
                .iter()
                .filter(|p| offered(OverrideKind::Promotion, &p.id))
                .cloned()
                .collect(),
            vouchers: self
                .vouchers
                .iter()
                .filter(|v| offered(OverrideKind::Voucher, &v.code))
                .cloned()
                .collect(),
            shipping_methods: self
                .shipping_methods
                .iter()
                .filter(|m| offered(OverrideKind::Shipping, &m.id))
                .map(|m| ShippingMethod {
                    price: find(OverrideKind::Shipping, &m.id)
                        .and_then(|o| o.price)
                        .unwrap_or(m.price),
                    ..m.clone()
                })
                .collect(),
            payment_methods: self.payment_methods.clone(),
        }
    }

    /// What is on sale, as the core prices it.
    pub fn offer(&self) -> Offer {
        Offer {
            currency: self.currency.to_owned(),
            products: self
                .products
                .iter()
                .map(|p| OfferedProduct {
                    sku: p.sku.to_owned(),
                    name: p.name.to_owned(),
                    unit_price: p.unit_price,
                    tax_class: p.tax_class.to_owned(),
                    max_quantity: p.max_quantity,
                })
                .collect(),
            tax_rates: self.tax_rates.clone(),
            promotions: self.promotions.clone(),
            vouchers: self.vouchers.clone(),
            shipping_methods: self.shipping_methods.clone(),
            payment_methods: self.payment_methods.clone(),
        }
    }
}

/// What an admin change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverrideKind {
    /// A product, by SKU.
    Product,
    /// A promotion, by id.
    Promotion,
    /// A voucher, by code.
    Voucher,
    /// A shipping method, by id.
    Shipping,
}

impl OverrideKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OverrideKind::Product => "product",
            OverrideKind::Promotion => "promotion",
            OverrideKind::Voucher => "voucher",
            OverrideKind::Shipping => "shipping",
        }
    }

    /// The kind with this stored name.
    pub fn from_name(name: &str) -> Option<OverrideKind> {
        [
            OverrideKind::Product,
            OverrideKind::Promotion,
            OverrideKind::Voucher,
            OverrideKind::Shipping,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

/// One admin change to the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// What it is about.
    pub kind: OverrideKind,
    /// The SKU, promotion id, voucher code or shipping method id.
    pub id: String,
    /// A product's unit price or a shipping method's price, when changed.
    pub price: Option<Minor>,
    /// A product's maximum per order, when changed.
    pub max_quantity: Option<u32>,
    /// Whether it is on sale (products) or offered (the rest).
    pub active: bool,
}
