//! The checkout snapshot (CONTRACT §3): what the shopper is buying, priced once and then
//! frozen. [`PricingInput`] is what is captured from the cart and the catalog at
//! initiation; [`Snapshot::capture`] prices it with the rules below and seals the result
//! with a SHA-256 digest over a canonical encoding. Cart edits never reach a snapshot; a
//! new snapshot is captured only when the shopper changes the checkout itself (shipping,
//! payment, voucher, removing a line), and it gets a new digest.
//!
//! # Pricing rules (all integer minor units, see [`crate::money`])
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
//! 5. Tax is exclusive and per line: `round(net line × rate)` with the line's tax class.
//! 6. Shipping is the selected method's price, or 0 when the merchandise net of all
//!    discounts reaches the method's `free_from`; shipping is not taxed.
//! 7. `grand_total = subtotal − discount + shipping + tax`.

mod digest;
mod edit;
mod validate;

use self::validate::invalid;

use serde::{Deserialize, Serialize};

use crate::{
    error::Rejection,
    money::{self, BasisPoints, Minor},
};

pub use self::edit::LineRemoved;

/// Most lines a checkout may hold.
pub const MAX_LINES: usize = 100;
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

/// The rate of one tax class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRate {
    /// Tax class name, e.g. `food` or `standard`.
    pub class: String,
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
    pub free_from: Option<Minor>,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Tax on the net line.
    pub tax: Minor,
    /// `subtotal − discount + tax`.
    pub total: Minor,
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
    /// Charged price (0 when free).
    pub price: Minor,
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
    /// All tax.
    pub tax: Minor,
    /// What the shopper pays.
    pub grand_total: Minor,
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
    /// Totals.
    pub totals: Totals,
    /// `sha256:` + hex SHA-256 of the canonical encoding of every field above.
    pub digest: String,
}

impl Snapshot {
    /// Prices `input` by the rules of this module and seals it with its digest.
    /// A voucher whose minimum is not met is refused with `VALIDATION_FAILED`.
    pub fn capture(input: &PricingInput) -> Result<Snapshot, Rejection> {
        input.validate()?;

        // 1–2: line subtotals and line promotions.
        let mut subtotals = Vec::with_capacity(input.lines.len());
        let mut line_discounts = vec![0; input.lines.len()];
        let mut promotions = Vec::new();
        for line in &input.lines {
            subtotals.push(money::times(line.unit_price, line.quantity)?);
        }
        for promotion in &input.promotions {
            if let PromotionRule::PercentOffSku { sku, bps } = &promotion.rule {
                let mut amount = 0;
                for (i, line) in input.lines.iter().enumerate() {
                    if &line.sku == sku {
                        let left = subtotals[i] - line_discounts[i];
                        let off = money::percent_of(subtotals[i], *bps).min(left);
                        line_discounts[i] += off;
                        amount += off;
                    }
                }
                if amount > 0 {
                    promotions.push(AppliedDiscount {
                        id: promotion.id.clone(),
                        description: promotion.description.clone(),
                        amount,
                    });
                }
            }
        }
        let after_line: Vec<Minor> = subtotals
            .iter()
            .zip(&line_discounts)
            .map(|(s, d)| s - d)
            .collect();
        let merchandise: Minor = after_line.iter().sum();

        // 3: order promotions, then vouchers, each on what is left.
        let mut remaining = merchandise;
        for promotion in &input.promotions {
            if let PromotionRule::PercentOffOrder { min_subtotal, bps } = &promotion.rule {
                if merchandise >= *min_subtotal {
                    let off = money::percent_of(remaining, *bps).min(remaining);
                    if off > 0 {
                        remaining -= off;
                        promotions.push(AppliedDiscount {
                            id: promotion.id.clone(),
                            description: promotion.description.clone(),
                            amount: off,
                        });
                    }
                }
            }
        }
        let mut vouchers = Vec::with_capacity(input.vouchers.len());
        for voucher in &input.vouchers {
            if merchandise < voucher.min_subtotal {
                return Err(invalid(format!(
                    "voucher {} needs merchandise of at least {} minor units",
                    voucher.code, voucher.min_subtotal
                )));
            }
            let off = match voucher.discount {
                VoucherDiscount::PercentOff { bps } => money::percent_of(remaining, bps),
                VoucherDiscount::AmountOff { amount } => amount,
            }
            .min(remaining);
            remaining -= off;
            vouchers.push(AppliedDiscount {
                id: voucher.code.clone(),
                description: voucher.description.clone(),
                amount: off,
            });
        }
        let order_discount = merchandise - remaining;

        // 4–5: spread the order discount, then tax each net line.
        let shares = money::allocate(order_discount, &after_line);
        let mut lines = Vec::with_capacity(input.lines.len());
        let mut totals = Totals::default();
        for (i, line) in input.lines.iter().enumerate() {
            let rate = input.tax_rate(&line.tax_class).unwrap_or(0);
            let discount = line_discounts[i] + shares[i];
            let net = subtotals[i] - discount;
            let tax = money::percent_of(net, rate);
            totals.subtotal = money::add(totals.subtotal, subtotals[i])?;
            totals.discount = money::add(totals.discount, discount)?;
            totals.tax = money::add(totals.tax, tax)?;
            lines.push(SnapshotLine {
                sku: line.sku.clone(),
                name: line.name.clone(),
                quantity: line.quantity,
                unit_price: line.unit_price,
                tax_class: line.tax_class.clone(),
                tax_rate_bps: rate,
                subtotal: subtotals[i],
                discount,
                tax,
                total: net + tax,
            });
        }

        // 6–7: shipping and the grand total.
        let shipping_method = input.shipping_method.as_ref().map(|m| ChargedShipping {
            id: m.id.clone(),
            name: m.name.clone(),
            price: match m.free_from {
                Some(from) if remaining >= from => 0,
                _ => m.price,
            },
        });
        totals.shipping = shipping_method.as_ref().map_or(0, |s| s.price);
        totals.grand_total = money::add(
            money::add(totals.subtotal - totals.discount, totals.shipping)?,
            totals.tax,
        )?;

        let mut snapshot = Snapshot {
            currency: input.currency.clone(),
            lines,
            promotions,
            vouchers,
            shipping_method,
            payment_method: input.payment_method.clone(),
            totals,
            digest: String::new(),
        };
        snapshot.digest = snapshot.compute_digest();
        Ok(snapshot)
    }
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
                    rate_bps: 500,
                },
                TaxRate {
                    class: "standard".into(),
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
            vouchers: vec![],
            shipping_method: None,
            payment_method: None,
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
            }
        );
        assert!(s.is_sealed());
        assert!(s.digest.starts_with("sha256:") && s.digest.len() == 71);
    }

    #[test]
    fn free_shipping_threshold_uses_merchandise_net_of_discounts() {
        let mut input = bakery_input();
        input.shipping_method = Some(ShippingMethod {
            id: "courier".into(),
            name: "Courier".into(),
            price: 499,
            free_from: Some(3_944),
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
