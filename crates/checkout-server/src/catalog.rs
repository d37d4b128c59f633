//! The demo catalog of the bakery "Brownie Bliss": products with tax classes, automatic
//! promotions, voucher codes, shipping and payment methods. It is data, seeded in code;
//! a real shop would load the same shapes from its product service. `GET /products`
//! (`products.rs`) lists it, and the cart and checkout turn cart lines into a core `PricingInput` here.

use checkout_core::{
    money::Minor,
    snapshot::{
        CartLine, PaymentMethod, PricingInput, Promotion, PromotionRule, ShippingMethod, TaxRate,
        Voucher, VoucherDiscount,
    },
    ErrorCode, Rejection,
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

    /// The pricing input for cart lines `(sku, quantity)` as captured now. Lines whose
    /// product left the catalog are skipped.
    pub fn pricing_input(&self, cart: &[(String, u32)]) -> Result<PricingInput, Rejection> {
        let lines: Vec<CartLine> = cart
            .iter()
            .filter_map(|(sku, quantity)| {
                self.product(sku).map(|p| CartLine {
                    sku: p.sku.to_owned(),
                    name: p.name.to_owned(),
                    quantity: *quantity,
                    unit_price: p.unit_price,
                    tax_class: p.tax_class.to_owned(),
                })
            })
            .collect();
        if lines.is_empty() {
            return Err(Rejection::new(ErrorCode::CartEmpty));
        }
        Ok(PricingInput {
            currency: self.currency.to_owned(),
            lines,
            tax_rates: self.tax_rates.clone(),
            promotions: self.promotions.clone(),
            vouchers: Vec::new(),
            shipping_method: None,
            payment_method: None,
        })
    }

    /// A shipping method by id, or a clear error.
    pub fn shipping(&self, id: &str) -> Result<ShippingMethod, Rejection> {
        self.shipping_methods
            .iter()
            .find(|m| m.id == id)
            .cloned()
            .ok_or_else(|| unknown("shipping method", id))
    }

    /// A payment method by id, or a clear error.
    pub fn payment(&self, id: &str) -> Result<PaymentMethod, Rejection> {
        self.payment_methods
            .iter()
            .find(|m| m.id == id)
            .cloned()
            .ok_or_else(|| unknown("payment method", id))
    }

    /// A voucher by code (case-insensitive), or a clear error.
    pub fn voucher(&self, code: &str) -> Result<Voucher, Rejection> {
        let code = code.trim().to_ascii_uppercase();
        self.vouchers
            .iter()
            .find(|v| v.code == code)
            .cloned()
            .ok_or_else(|| unknown("voucher code", &code))
    }
}

fn unknown(what: &str, id: &str) -> Rejection {
    Rejection::with_message(
        ErrorCode::ValidationFailed,
        format!("unknown {what} {id:?}"),
    )
}
