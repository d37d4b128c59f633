//! The checkout snapshot (CONTRACT §3): what the shopper is buying, priced once and then
//! frozen. [`PricingInput`] is what is captured from the cart and the catalog at
//! initiation; [`Snapshot::capture`] prices it with the rules below and seals the result
//! with a SHA-256 digest over a canonical encoding. Cart edits never reach a snapshot; a
//! new snapshot is captured only when the shopper changes the checkout itself (shipping,
//! payment, voucher, removing a line), and it gets a new digest.
//!
//! # Pricing rules (all integer minor units, see [`crate::money`])
//! Prices are in the catalog's terms: with tax when `prices_include_tax` (EU consumer
//! prices: the shelf price is what the shopper pays), without it otherwise.
//! 1. A line's subtotal is `unit_price × quantity`.
//! 2. Line promotions (`PercentOffSku`) take a percentage of that line's subtotal,
//!    rounded half away from zero, at most the line subtotal.
//! 3. Order promotions (`PercentOffOrder`, when the merchandise after line promotions is
//!    at least `min_subtotal`) and then vouchers, in the order applied, each take their
//!    amount from what is left of the merchandise (a percentage of the remainder,
//!    rounded; or a fixed amount, capped at the remainder). A voucher whose
//!    `min_subtotal` is not met is refused when applied.
//! 4. The order-level discount is spread over the lines in proportion to their amounts
//!    after line promotions by the largest-remainder method, so every cent is assigned.
//! 5. Tax is per line, rounded half away from zero once per line, at the rate of the
//!    line's class in the tax country (the shipping address's country; before there is
//!    one, or for a country the catalog names no rates for, the shop's origin country).
//!    Of the line's amount `a = subtotal − discount`: without tax included,
//!    `tax = round(a × rate)`, `net = a`, `gross = a + tax`; with tax included,
//!    `tax = round(a × rate / (1 + rate))`, `gross = a`, `net = a − tax`.
//! 6. Shipping is the selected method's price, or 0 when the merchandise net of all
//!    discounts reaches the method's `free_from`; it is split into net, tax and gross
//!    like a line, at the rate of the method's own tax class (untaxed without one).
//! 7. The totals are sums of the lines and the shipping: `tax = Σ tax`, `net = Σ net`,
//!    `grand_total = Σ gross`, so `net + tax = grand_total` always. Without tax
//!    included that is `subtotal − discount + shipping + tax`; with tax included,
//!    `subtotal − discount + shipping` (the tax is inside it).

mod digest;
mod edit;
mod price;
mod validate;

use serde::{Deserialize, Serialize};

pub use crate::address::Address;
use crate::money::{BasisPoints, Minor};

pub use self::edit::LineRemoved;

/// Most lines a checkout may hold (a shop's priced cart may send this many, CONTRACT
/// §24; a cart of ours holds fewer, [`crate::cart::MAX_CART_LINES`]).
pub const MAX_LINES: usize = 500;
/// Largest quantity of one line.
pub const MAX_QUANTITY: u32 = 999;

/// `asked` as a quantity a line may hold (1 to [`MAX_QUANTITY`]), if it is one.
pub fn line_quantity(asked: i64) -> Option<u32> {
    u32::try_from(asked)
        .ok()
        .filter(|q| (1..=MAX_QUANTITY).contains(q))
}
/// Largest unit price, in minor units (one million major units).
pub const MAX_UNIT_PRICE: Minor = 100_000_000;

/// One cart line as captured at initiation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    /// Stock keeping unit, unique within the checkout.
    pub sku: String,
    /// Display name at the time of capture.
    pub name: String,
    /// How many, 1..=999.
    pub quantity: u32,
    /// Price of one unit in minor units, before tax.
    pub unit_price: Minor,
    /// Tax class; must have a rate in [`PricingInput::tax_rates`].
    pub tax_class: String,
}

/// The rate of one tax class in one country.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRate {
    /// Tax class name, e.g. `food` or `standard`.
    pub class: String,
    /// ISO 3166-1 alpha-2 country it applies in. Every catalog names one; a rate without
    /// one (captured before catalogs had countries) applies wherever no other does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Rate in basis points (725 = 7.25 %).
    pub rate_bps: BasisPoints,
}

/// What a promotion does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PromotionRule {
    /// A percentage off every unit of one SKU.
    PercentOffSku {
        /// The SKU it applies to.
        sku: String,
        /// Discount in basis points.
        bps: BasisPoints,
    },
    /// A percentage off the whole order from a minimum merchandise amount.
    PercentOffOrder {
        /// Merchandise (after line promotions) needed to qualify.
        min_subtotal: Minor,
        /// Discount in basis points.
        bps: BasisPoints,
    },
}

/// An automatic promotion, captured with the checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promotion {
    /// Stable identifier.
    pub id: String,
    /// What the shopper reads.
    pub description: String,
    /// The rule.
    pub rule: PromotionRule,
}

/// What a voucher takes off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VoucherDiscount {
    /// A percentage of the remaining merchandise.
    PercentOff {
        /// Discount in basis points.
        bps: BasisPoints,
    },
    /// A fixed amount, capped at the remaining merchandise.
    AmountOff {
        /// Amount in minor units.
        amount: Minor,
    },
}

/// A voucher code the shopper applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voucher {
    /// The code as typed (normalised to upper case by the catalog).
    pub code: String,
    /// What the shopper reads.
    pub description: String,
    /// The discount.
    pub discount: VoucherDiscount,
    /// Merchandise (after line promotions) needed to use it.
    pub min_subtotal: Minor,
}

/// A shipping method as offered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingMethod {
    /// Stable identifier.
    pub id: String,
    /// What the shopper reads.
    pub name: String,
    /// Price in minor units.
    pub price: Minor,
    /// Merchandise net of discounts from which shipping is free.
    #[serde(default)]
    pub free_from: Option<Minor>,
    /// Tax class of the shipping charge; untaxed when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_class: Option<String>,
    /// ISO 3166-1 alpha-2 countries it delivers to; everywhere when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub countries: Option<Vec<String>>,
}

impl ShippingMethod {
    /// Whether it delivers to `country`.
    pub fn delivers_to(&self, country: &str) -> bool {
        self.countries
            .as_ref()
            .is_none_or(|list| list.iter().any(|c| c == country))
    }
}

/// A payment method as offered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethod {
    /// Stable identifier.
    pub id: String,
    /// What the shopper reads.
    pub name: String,
}

/// Everything a snapshot is priced from. The server stores it with the session so a
/// change to the checkout re-prices the same captured lines under the same rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricingInput {
    /// ISO 4217 code, three upper-case letters.
    pub currency: String,
    /// The captured cart lines.
    pub lines: Vec<CartLine>,
    /// Tax rates by class.
    pub tax_rates: Vec<TaxRate>,
    /// Automatic promotions in force at capture.
    pub promotions: Vec<Promotion>,
    /// Vouchers applied, in order.
    pub vouchers: Vec<Voucher>,
    /// The selected shipping method.
    pub shipping_method: Option<ShippingMethod>,
    /// The selected payment method.
    pub payment_method: Option<PaymentMethod>,
    /// Whether prices (unit prices, discounts, shipping) include tax.
    #[serde(default, skip_serializing_if = "is_false")]
    pub prices_include_tax: bool,
    /// Where the shop is: the tax country before a shipping address is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_country: Option<String>,
    /// Where it is delivered: its country decides the tax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Address>,
    /// Who is billed; the shipping address when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Address>,
    /// The stored catalog version it was captured from: a change to the checkout (a
    /// shipping or payment method, a voucher) is looked up in that version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_version: Option<i64>,
    /// For a checkout made from the shop's own priced cart (CONTRACT §24): the methods
    /// it offers. Such a checkout has no catalog: its changes and its restore read these
    /// (see [`crate::offer::Offer::own`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_offer: Option<OwnOffer>,
}

/// What a checkout made from the shop's own priced cart offers: the shop's shipping and
/// payment methods, sent with the cart. Vouchers and promotions are the shop's own
/// business there: its prices already carry them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnOffer {
    /// The shipping methods offered.
    pub shipping_methods: Vec<ShippingMethod>,
    /// The payment methods offered.
    pub payment_methods: Vec<PaymentMethod>,
    /// Where the shopper returns to the shop after ordering (`{CHECKOUT_ID}` is
    /// replaced by the checkout's id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_url: Option<String>,
    /// Where the shopper goes back to the shop's cart without ordering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_url: Option<String>,
}

// Serde's `skip_serializing_if` passes a reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_false(b: &bool) -> bool {
    !*b
}

/// A priced line of the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotLine {
    /// SKU.
    pub sku: String,
    /// Display name.
    pub name: String,
    /// Quantity.
    pub quantity: u32,
    /// Unit price.
    pub unit_price: Minor,
    /// Tax class.
    pub tax_class: String,
    /// Tax rate applied, basis points.
    pub tax_rate_bps: BasisPoints,
    /// `unit_price × quantity`.
    pub subtotal: Minor,
    /// Line promotions plus this line's share of order discounts.
    pub discount: Minor,
    /// Tax on the line.
    pub tax: Minor,
    /// What the line costs: `gross` (kept under its first name).
    pub total: Minor,
    /// The line without tax.
    #[serde(default)]
    pub net: Minor,
    /// The line with tax: `net + tax`.
    #[serde(default)]
    pub gross: Minor,
}

/// A promotion or voucher as it affected the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedDiscount {
    /// Promotion id or voucher code.
    pub id: String,
    /// What the shopper reads.
    pub description: String,
    /// Amount taken off, minor units.
    pub amount: Minor,
}

/// The selected shipping method with the price actually charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargedShipping {
    /// Method id.
    pub id: String,
    /// Method name.
    pub name: String,
    /// Charged price (0 when free), with or without tax as the catalog's prices are.
    pub price: Minor,
    /// Tax class of the charge, when it is taxed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_class: Option<String>,
    /// Tax rate applied, basis points.
    #[serde(default)]
    pub tax_rate_bps: BasisPoints,
    /// The charge without tax.
    #[serde(default)]
    pub net: Minor,
    /// Tax on the charge.
    #[serde(default)]
    pub tax: Minor,
    /// The charge with tax.
    #[serde(default)]
    pub gross: Minor,
}

/// The order totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Sum of line subtotals.
    pub subtotal: Minor,
    /// All discounts.
    pub discount: Minor,
    /// Shipping charged.
    pub shipping: Minor,
    /// All tax (of the lines and of shipping), included in `grand_total` in both modes.
    pub tax: Minor,
    /// What the shopper pays.
    pub grand_total: Minor,
    /// Everything without tax: `grand_total − tax`.
    #[serde(default)]
    pub net: Minor,
}

/// The frozen, priced checkout with its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Currency code.
    pub currency: String,
    /// Priced lines.
    pub lines: Vec<SnapshotLine>,
    /// Promotions that took effect.
    pub promotions: Vec<AppliedDiscount>,
    /// Vouchers that took effect.
    pub vouchers: Vec<AppliedDiscount>,
    /// Selected shipping.
    pub shipping_method: Option<ChargedShipping>,
    /// Selected payment method.
    pub payment_method: Option<PaymentMethod>,
    /// Whether the prices shown include tax.
    #[serde(default)]
    pub prices_include_tax: bool,
    /// Where it is delivered (and taxed).
    #[serde(default)]
    pub shipping_address: Option<Address>,
    /// Who is billed (the shipping address when absent).
    #[serde(default)]
    pub billing_address: Option<Address>,
    /// Totals.
    pub totals: Totals,
    /// `sha256:` + hex SHA-256 of the canonical encoding of every field above.
    pub digest: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    pub(crate) fn bakery_input() -> PricingInput {
        PricingInput {
            currency: "USD".into(),
            lines: vec![
                CartLine {
                    sku: "BRW-FUDGE".into(),
                    name: "Fudge brownie".into(),
                    quantity: 3,
                    unit_price: 350,
                    tax_class: "food".into(),
                },
                CartLine {
                    sku: "CAKE-CHOC".into(),
                    name: "Chocolate cake".into(),
                    quantity: 1,
                    unit_price: 2_999,
                    tax_class: "standard".into(),
                },
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
            promotions: vec![Promotion {
                id: "brownie-10".into(),
                description: "10 % off fudge brownies".into(),
                rule: PromotionRule::PercentOffSku {
                    sku: "BRW-FUDGE".into(),
                    bps: 1_000,
                },
            }],
            ..PricingInput::default()
        }
    }

    #[test]
    fn worked_example_matches_the_written_rules() {
        let mut input = bakery_input();
        input.vouchers.push(Voucher {
            code: "SWEET5".into(),
            description: "5.00 off".into(),
            discount: VoucherDiscount::AmountOff { amount: 500 },
            min_subtotal: 2_000,
        });
        input.shipping_method = Some(ShippingMethod {
            id: "courier".into(),
            name: "Courier".into(),
            price: 499,
            free_from: Some(5_000),
            tax_class: None,
            countries: None,
        });
        let s = Snapshot::capture(&input).unwrap();
        // Brownies: 1050, 10 % off = 105 → 945. Cake: 2999. Merchandise 3944.
        // Voucher 500 spread 945:2999 → 119.8.. / 380.1.. → floor 119/380, the spare
        // cent goes to the larger remainder (brownies .83 vs cake .16): 120 / 380.
        assert_eq!(s.lines[0].discount, 105 + 120);
        assert_eq!(s.lines[1].discount, 380);
        // Tax: brownies 825 × 5 % = 41.25 → 41; cake 2619 × 8.25 % = 216.07 → 216.
        assert_eq!(s.lines[0].tax, 41);
        assert_eq!(s.lines[1].tax, 216);
        assert_eq!(
            s.totals,
            Totals {
                subtotal: 4_049,
                discount: 605,
                shipping: 499,
                tax: 257,
                grand_total: 4_049 - 605 + 499 + 257,
                net: 4_049 - 605 + 499,
            }
        );
        assert!(s.is_sealed());
        assert!(s.digest.starts_with("sha256:") && s.digest.len() == 71);
    }

    fn eur(class: &str, rate_bps: BasisPoints) -> TaxRate {
        TaxRate {
            class: class.into(),
            country: Some("DE".into()),
            rate_bps,
        }
    }

    /// The worked example of docs/catalog.md: a bookstore in EUR, prices with VAT.
    #[test]
    fn worked_eur_example_with_tax_included() {
        let line = |sku: &str, quantity, unit_price, class: &str| CartLine {
            sku: sku.into(),
            name: sku.into(),
            quantity,
            unit_price,
            tax_class: class.into(),
        };
        let input = PricingInput {
            currency: "EUR".into(),
            lines: vec![
                line("BK-1", 2, 1_999, "reduced"),
                line("TOTE", 1, 1_290, "standard"),
            ],
            tax_rates: vec![eur("reduced", 700), eur("standard", 1_900)],
            vouchers: vec![Voucher {
                code: "READ5".into(),
                description: "€5 off".into(),
                discount: VoucherDiscount::AmountOff { amount: 500 },
                min_subtotal: 2_000,
            }],
            shipping_method: Some(ShippingMethod {
                id: "dhl".into(),
                name: "DHL".into(),
                price: 499,
                free_from: Some(6_000),
                tax_class: Some("standard".into()),
                countries: None,
            }),
            prices_include_tax: true,
            origin_country: Some("DE".into()),
            ..PricingInput::default()
        };
        let s = Snapshot::capture(&input).unwrap();
        let parts = |l: &SnapshotLine| (l.discount, l.net, l.tax, l.gross);
        // Voucher 500 over 3998 : 1290 = 378.02… : 121.97… → 378 : 122.
        // Books: 3620 with 7 % inside = 236.82… → 237, net 3383.
        assert_eq!(parts(&s.lines[0]), (378, 3_383, 237, 3_620));
        // Tote: 1168 with 19 % inside = 186.48… → 186, net 982.
        assert_eq!(parts(&s.lines[1]), (122, 982, 186, 1_168));
        // Shipping 4.99 with 19 % inside = 79.67… → 80, net 419.
        let m = s.shipping_method.as_ref().unwrap();
        assert_eq!((m.price, m.net, m.tax, m.gross), (499, 419, 80, 499));
        assert_eq!(
            s.totals,
            Totals {
                subtotal: 5_288,
                discount: 500,
                shipping: 499,
                tax: 503,
                grand_total: 5_287,
                net: 4_784,
            }
        );
        // The same catalog without tax included adds the tax on top.
        let mut net = input.clone();
        net.prices_include_tax = false;
        let n = Snapshot::capture(&net).unwrap();
        // 3620 × 7 % = 253.4 → 253; 1168 × 19 % = 221.92 → 222; 499 × 19 % = 94.81 → 95.
        assert_eq!(n.totals.tax, 253 + 222 + 95);
        assert_eq!(n.totals.grand_total, 5_288 - 500 + 499 + 570);
        assert_ne!(n.digest, s.digest);
        // Delivered to France (no French rates here): taxed as at home.
        let mut fr = input;
        fr.shipping_address = Some(crate::address::Address {
            name: "A".into(),
            line1: "1 rue".into(),
            line2: None,
            city: "Paris".into(),
            postal_code: "75001".into(),
            region: None,
            country: "FR".into(),
            phone: None,
        });
        let f = Snapshot::capture(&fr).unwrap();
        assert_eq!(f.totals, s.totals);
        fr.tax_rates.push(TaxRate {
            class: "reduced".into(),
            country: Some("FR".into()),
            rate_bps: 550,
        });
        fr.tax_rates.push(TaxRate {
            class: "standard".into(),
            country: Some("FR".into()),
            rate_bps: 2_000,
        });
        let f = Snapshot::capture(&fr).unwrap();
        assert_eq!(f.lines[0].tax_rate_bps, 550);
        assert_eq!(
            f.totals.grand_total, 5_287,
            "the shelf price is what is paid"
        );
        assert_ne!(f.totals.tax, 503);
    }

    #[test]
    fn free_shipping_threshold_uses_merchandise_net_of_discounts() {
        let mut input = bakery_input();
        input.shipping_method = Some(ShippingMethod {
            id: "courier".into(),
            name: "Courier".into(),
            price: 499,
            free_from: Some(3_944),
            tax_class: None,
            countries: None,
        });
        assert_eq!(Snapshot::capture(&input).unwrap().totals.shipping, 0);
        input.shipping_method.as_mut().unwrap().free_from = Some(3_945);
        assert_eq!(Snapshot::capture(&input).unwrap().totals.shipping, 499);
    }

    #[test]
    fn bad_input_is_refused_with_a_clear_code() {
        let mut empty = bakery_input();
        empty.lines.clear();
        assert_eq!(
            Snapshot::capture(&empty).unwrap_err().code,
            ErrorCode::CartEmpty
        );
        let mut zero = bakery_input();
        zero.lines[0].quantity = 0;
        assert_eq!(
            Snapshot::capture(&zero).unwrap_err().code,
            ErrorCode::ValidationFailed
        );
        let mut currency = bakery_input();
        currency.currency = "usd".into();
        assert!(Snapshot::capture(&currency).is_err());
        let mut minimum = bakery_input();
        minimum.vouchers.push(Voucher {
            code: "BIG".into(),
            description: "needs more".into(),
            discount: VoucherDiscount::PercentOff { bps: 1_000 },
            min_subtotal: 10_000,
        });
        assert!(Snapshot::capture(&minimum).is_err());
    }
}
