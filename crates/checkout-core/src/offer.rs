//! What the shop sells today, as pricing needs it (CONTRACT §16): the products with
//! their prices and the most one order may hold, the tax rates, the promotions running,
//! the vouchers that are valid, and the shipping and payment methods offered. The
//! server builds it from its catalog and the admin's changes; the rules that read it —
//! which cart lines a checkout captures, what a method or voucher id means — are here,
//! so a new checkout and a restored one are priced from the same offer the same way.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{
    error::{ErrorCode, Rejection},
    money::Minor,
    snapshot::{
        CartLine, PaymentMethod, PricingInput, Promotion, ShippingMethod, TaxRate, Voucher,
        MAX_QUANTITY, MAX_UNIT_PRICE,
    },
};

/// A product on sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferedProduct {
    /// Stock keeping unit.
    pub sku: String,
    /// Display name.
    pub name: String,
    /// Price of one unit in minor units, before tax.
    pub unit_price: Minor,
    /// Tax class.
    pub tax_class: String,
    /// The most one order may hold (1..=999): stock, or a limit per customer.
    pub max_quantity: u32,
}

/// Everything on offer today.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Offer {
    /// ISO 4217 currency of every price.
    pub currency: String,
    /// Whether prices include tax.
    pub prices_include_tax: bool,
    /// The shop's country (ISO 3166-1 alpha-2).
    pub origin_country: Option<String>,
    /// The stored catalog version it comes from (set by the server).
    pub version: Option<i64>,
    /// Products on sale (a product withdrawn from sale is not here).
    pub products: Vec<OfferedProduct>,
    /// Tax rates by class.
    pub tax_rates: Vec<TaxRate>,
    /// Promotions running.
    pub promotions: Vec<Promotion>,
    /// Voucher codes that are valid.
    pub vouchers: Vec<Voucher>,
    /// Shipping methods offered.
    pub shipping_methods: Vec<ShippingMethod>,
    /// Payment methods offered.
    pub payment_methods: Vec<PaymentMethod>,
    /// Where each SKU is in `products` (a catalog may hold 100,000); built by
    /// [`Offer::indexed`].
    pub(crate) by_sku: HashMap<String, usize>,
}

impl Offer {
    /// The offer with its SKU index built (after its products were set or changed).
    pub fn indexed(mut self) -> Offer {
        self.by_sku = self
            .products
            .iter()
            .enumerate()
            .map(|(i, p)| (p.sku.clone(), i))
            .collect();
        self
    }

    /// The product on sale with this SKU.
    pub fn product(&self, sku: &str) -> Option<&OfferedProduct> {
        match self.by_sku.get(sku).and_then(|&i| self.products.get(i)) {
            Some(p) if p.sku == sku => Some(p),
            // Not indexed (or changed since): look through them.
            _ => self.products.iter().find(|p| p.sku == sku),
        }
    }

    /// The product on sale with this SKU, or `VALIDATION_FAILED` saying it is not.
    pub fn product_on_sale(&self, sku: &str) -> Result<&OfferedProduct, Rejection> {
        self.product(sku)
            .ok_or_else(|| unknown("product", sku, "is not on sale"))
    }

    /// The pricing input for cart lines `(sku, quantity)` captured now: lines whose
    /// product is no longer on sale are left out, quantities above a product's maximum
    /// are cut to it. `CART_EMPTY` when nothing is left.
    pub fn pricing_input(&self, cart: &[(String, u32)]) -> Result<PricingInput, Rejection> {
        let lines: Vec<CartLine> = cart
            .iter()
            .filter_map(|(sku, quantity)| {
                self.product(sku)
                    .map(|p| p.line((*quantity).min(p.limit())))
            })
            .collect();
        if lines.is_empty() {
            return Err(Rejection::new(ErrorCode::CartEmpty));
        }
        Ok(PricingInput {
            currency: self.currency.clone(),
            lines,
            tax_rates: self.tax_rates.clone(),
            promotions: self.promotions.clone(),
            prices_include_tax: self.prices_include_tax,
            origin_country: self.origin_country.clone(),
            catalog_version: self.version,
            ..PricingInput::default()
        })
    }

    /// Whether this offer may change a checkout captured as `input` (a shipping or
    /// payment method, a voucher): a live checkout is changed only from the catalog
    /// version it was captured from (CONTRACT §17: a catalog change reaches checkouts
    /// started afterwards). When that version is no longer kept, a later one serves only
    /// if its money is the same — currency and whether prices include tax — else
    /// `VALIDATION_FAILED`: the shopper starts again at today's prices.
    pub fn may_change(&self, input: &PricingInput) -> Result<(), Rejection> {
        let same_version = input.catalog_version.is_none() || input.catalog_version == self.version;
        if same_version
            || (self.currency == input.currency
                && self.prices_include_tax == input.prices_include_tax)
        {
            return Ok(());
        }
        Err(Rejection::with_message(
            ErrorCode::ValidationFailed,
            "The shop changed its prices since this checkout started. Start checkout again to see today's prices.",
        ))
    }

    /// A change to a live checkout captured from `self` (see [`Offer::may_change`]),
    /// with `today`'s catalog: what it takes is the definition it was captured with —
    /// a price changed afterwards does not reach it — while `today` still offers it: a
    /// voucher or method withdrawn since is refused at once.
    pub fn live<'a>(&'a self, today: &'a Offer) -> LiveOffer<'a> {
        LiveOffer {
            captured: self,
            today,
        }
    }

    /// A shipping method offered, by id.
    pub fn shipping(&self, id: &str) -> Result<ShippingMethod, Rejection> {
        self.shipping_methods
            .iter()
            .find(|m| m.id == id)
            .cloned()
            .ok_or_else(|| unknown("shipping method", id, "is not offered"))
    }

    /// A payment method offered, by id.
    pub fn payment(&self, id: &str) -> Result<PaymentMethod, Rejection> {
        self.payment_methods
            .iter()
            .find(|m| m.id == id)
            .cloned()
            .ok_or_else(|| unknown("payment method", id, "is not offered"))
    }

    /// A valid voucher by code (case and surrounding blanks ignored).
    pub fn voucher(&self, code: &str) -> Result<Voucher, Rejection> {
        let code = code.trim().to_ascii_uppercase();
        self.vouchers
            .iter()
            .find(|v| v.code == code)
            .cloned()
            .ok_or_else(|| unknown("voucher code", &code, "is not valid"))
    }
}

/// What a change to a live checkout may take ([`Offer::live`]).
#[derive(Debug, Clone, Copy)]
pub struct LiveOffer<'a> {
    captured: &'a Offer,
    today: &'a Offer,
}

impl LiveOffer<'_> {
    /// A shipping method offered then and still offered, as it was then.
    pub fn shipping(&self, id: &str) -> Result<ShippingMethod, Rejection> {
        self.today.shipping(id)?;
        self.captured.shipping(id)
    }

    /// A payment method offered then and still offered, as it was then.
    pub fn payment(&self, id: &str) -> Result<PaymentMethod, Rejection> {
        self.today.payment(id)?;
        self.captured.payment(id)
    }

    /// A voucher valid then and still valid, as it was then.
    pub fn voucher(&self, code: &str) -> Result<Voucher, Rejection> {
        self.today.voucher(code)?;
        self.captured.voucher(code)
    }
}

impl OfferedProduct {
    /// A cart line of this product at today's price.
    pub fn line(&self, quantity: u32) -> CartLine {
        CartLine {
            sku: self.sku.clone(),
            name: self.name.clone(),
            quantity,
            unit_price: self.unit_price,
            tax_class: self.tax_class.clone(),
        }
    }

    /// The most of it one order may hold, never above the cart's own limit.
    pub fn limit(&self) -> u32 {
        self.max_quantity.min(MAX_QUANTITY)
    }

    /// What a checkout captures of a cart line holding `quantity`: at most the limit.
    /// The cart shows the same, and restoring puts at least what was restored back,
    /// never more than this.
    pub fn captured(&self, quantity: u32) -> u32 {
        quantity.min(self.limit())
    }
}

/// A price an admin sets (a unit price or a shipping price): 0 to
/// [`MAX_UNIT_PRICE`] minor units.
pub fn price(asked: i64) -> Result<Minor, Rejection> {
    if (0..=MAX_UNIT_PRICE).contains(&asked) {
        Ok(asked)
    } else {
        Err(Rejection::with_message(
            ErrorCode::ValidationFailed,
            format!("A price must be between 0 and {MAX_UNIT_PRICE} minor units."),
        ))
    }
}

/// A product's maximum per order an admin sets: a line's quantity, 1 to [`MAX_QUANTITY`].
pub fn max_quantity(asked: i64) -> Result<u32, Rejection> {
    crate::snapshot::line_quantity(asked).ok_or_else(|| {
        Rejection::with_message(
            ErrorCode::ValidationFailed,
            format!("A maximum per order must be between 1 and {MAX_QUANTITY}."),
        )
    })
}

fn unknown(what: &str, id: &str, why: &str) -> Rejection {
    Rejection::with_message(
        ErrorCode::ValidationFailed,
        format!("The {what} {id:?} {why}."),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::snapshot::{PromotionRule, VoucherDiscount};

    /// A small bakery offer for tests here and in `changes`.
    pub(crate) fn bakery() -> Offer {
        let product = |sku: &str, name: &str, price: Minor, class: &str| OfferedProduct {
            sku: sku.into(),
            name: name.into(),
            unit_price: price,
            tax_class: class.into(),
            max_quantity: 999,
        };
        Offer {
            currency: "USD".into(),
            products: vec![
                product("BRW-FUDGE", "Fudge brownie", 350, "food"),
                product("CAKE-CHOC", "Chocolate cake", 2_999, "standard"),
                product("CKE-OAT", "Oat cookie", 179, "food"),
            ],
            tax_rates: vec![
                TaxRate {
                    class: "food".into(),
                    country: None,
                    rate_bps: 500,
                },
                TaxRate {
                    class: "standard".into(),
                    country: None,
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
            vouchers: vec![Voucher {
                code: "SWEET5".into(),
                description: "$5 off orders of $20 or more".into(),
                discount: VoucherDiscount::AmountOff { amount: 500 },
                min_subtotal: 2_000,
            }],
            shipping_methods: vec![
                ShippingMethod {
                    id: "standard".into(),
                    name: "Standard delivery".into(),
                    price: 499,
                    free_from: Some(4_000),
                    tax_class: None,
                    countries: None,
                },
                ShippingMethod {
                    id: "express".into(),
                    name: "Express courier".into(),
                    price: 1_299,
                    free_from: None,
                    tax_class: None,
                    countries: None,
                },
            ],
            payment_methods: vec![PaymentMethod {
                id: "invoice".into(),
                name: "Invoice".into(),
            }],
            ..Offer::default()
        }
        .indexed()
    }

    #[test]
    fn capture_skips_what_is_not_on_sale_and_caps_quantities() {
        let mut offer = bakery();
        offer.products[1].max_quantity = 2;
        let cart = vec![
            ("CAKE-CHOC".to_owned(), 5),
            ("GONE".to_owned(), 1),
            ("BRW-FUDGE".to_owned(), 3),
        ];
        let input = offer.pricing_input(&cart).unwrap();
        let lines: Vec<(&str, u32)> = input
            .lines
            .iter()
            .map(|l| (l.sku.as_str(), l.quantity))
            .collect();
        assert_eq!(lines, vec![("CAKE-CHOC", 2), ("BRW-FUDGE", 3)]);
        assert_eq!(
            offer.pricing_input(&[("GONE".into(), 1)]).unwrap_err().code,
            ErrorCode::CartEmpty
        );
    }

    #[test]
    fn admin_values_have_ranges() {
        assert_eq!(price(0).unwrap(), 0);
        assert_eq!(price(MAX_UNIT_PRICE).unwrap(), MAX_UNIT_PRICE);
        assert!(
            price(-1).is_err() && price(MAX_UNIT_PRICE + 1).is_err() && price(i64::MIN).is_err()
        );
        assert_eq!(max_quantity(1).unwrap(), 1);
        assert!(
            max_quantity(0).is_err()
                && max_quantity(1_000).is_err()
                && max_quantity(i64::MAX).is_err()
        );
    }

    #[test]
    fn a_live_checkout_is_changed_only_from_its_catalog_or_one_in_the_same_money() {
        let mut captured_from = bakery();
        captured_from.version = Some(7);
        let input = captured_from
            .pricing_input(&[("BRW-FUDGE".into(), 1)])
            .unwrap();
        assert_eq!(input.catalog_version, Some(7));
        assert!(captured_from.may_change(&input).is_ok());
        // Version 7 is no longer kept: a later one in dollars serves, one in yen or with
        // tax included does not.
        let mut later = bakery();
        later.version = Some(30);
        assert!(later.may_change(&input).is_ok());
        later.currency = "JPY".into();
        assert_eq!(
            later.may_change(&input).unwrap_err().code,
            ErrorCode::ValidationFailed
        );
        later.currency = "USD".into();
        later.prices_include_tax = true;
        assert!(later.may_change(&input).is_err());
        // A checkout from before catalogs had versions is changed from today's.
        let mut old = input.clone();
        old.catalog_version = None;
        assert!(later.may_change(&old).is_ok());
        // Definitions as captured, while today still offers them.
        let mut today = bakery();
        today.shipping_methods[0].price = 9_999;
        today.vouchers.clear();
        let live = captured_from.live(&today);
        assert_eq!(live.shipping("standard").unwrap().price, 499);
        assert!(live.voucher("SWEET5").is_err(), "withdrawn since");
        today.shipping_methods.remove(1);
        assert!(captured_from.live(&today).shipping("express").is_err());
        assert!(captured_from.live(&bakery()).payment("invoice").is_ok());
    }

    #[test]
    fn ids_are_looked_up_in_what_is_offered() {
        let offer = bakery();
        assert_eq!(offer.voucher(" sweet5 ").unwrap().code, "SWEET5");
        assert_eq!(
            offer.voucher("NOPE").unwrap_err().code,
            ErrorCode::ValidationFailed
        );
        assert!(offer.shipping("express").is_ok());
        assert!(offer.shipping("pickup").is_err());
        assert!(offer.payment("card").is_err());
        assert!(offer.product_on_sale("GONE").is_err());
    }
}
