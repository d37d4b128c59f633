//! Pricing: [`Snapshot::capture`] by the rules written in the module above.

use super::{
    validate::invalid, AppliedDiscount, ChargedShipping, PricingInput, PromotionRule, Snapshot,
    SnapshotLine, Totals, VoucherDiscount,
};
use crate::{
    error::Rejection,
    money::{self, BasisPoints, Minor},
};

/// An amount split into net, tax and gross.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taxed {
    /// Without tax.
    pub net: Minor,
    /// The tax.
    pub tax: Minor,
    /// With tax: `net + tax`.
    pub gross: Minor,
}

/// `amount` (in the catalog's terms: with tax when `included`) taxed at `rate`, rounded
/// half away from zero once, for this amount.
pub fn split(amount: Minor, rate: BasisPoints, included: bool) -> Taxed {
    if included {
        let tax = money::tax_included(amount, rate);
        Taxed {
            net: amount - tax,
            tax,
            gross: amount,
        }
    } else {
        let tax = money::percent_of(amount, rate);
        Taxed {
            net: amount,
            tax,
            gross: amount + tax,
        }
    }
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

        // 4–5: spread the order discount, then tax each line.
        let included = input.prices_include_tax;
        let shares = money::allocate(order_discount, &after_line);
        let mut lines = Vec::with_capacity(input.lines.len());
        let mut totals = Totals::default();
        for (i, line) in input.lines.iter().enumerate() {
            let rate = input.tax_rate(&line.tax_class).unwrap_or(0);
            let discount = line_discounts[i] + shares[i];
            let taxed = split(subtotals[i] - discount, rate, included);
            totals.subtotal = money::add(totals.subtotal, subtotals[i])?;
            totals.discount = money::add(totals.discount, discount)?;
            add_taxed(&mut totals, taxed)?;
            lines.push(SnapshotLine {
                sku: line.sku.clone(),
                name: line.name.clone(),
                quantity: line.quantity,
                unit_price: line.unit_price,
                tax_class: line.tax_class.clone(),
                tax_rate_bps: rate,
                subtotal: subtotals[i],
                discount,
                tax: taxed.tax,
                total: taxed.gross,
                net: taxed.net,
                gross: taxed.gross,
            });
        }

        // 6–7: shipping, taxed by its own class, and the totals.
        let shipping_method = match &input.shipping_method {
            Some(m) => {
                let price = match m.free_from {
                    Some(from) if remaining >= from => 0,
                    _ => m.price,
                };
                let rate = m
                    .tax_class
                    .as_deref()
                    .map_or(0, |class| input.tax_rate(class).unwrap_or(0));
                let taxed = split(price, rate, included);
                totals.shipping = price;
                add_taxed(&mut totals, taxed)?;
                Some(ChargedShipping {
                    id: m.id.clone(),
                    name: m.name.clone(),
                    price,
                    tax_class: m.tax_class.clone(),
                    tax_rate_bps: rate,
                    net: taxed.net,
                    tax: taxed.tax,
                    gross: taxed.gross,
                })
            }
            None => None,
        };

        let mut snapshot = Snapshot {
            currency: input.currency.clone(),
            lines,
            promotions,
            vouchers,
            shipping_method,
            payment_method: input.payment_method.clone(),
            prices_include_tax: included,
            shipping_address: input.shipping_address.clone(),
            billing_address: input.billing_address.clone(),
            totals,
            digest: String::new(),
        };
        snapshot.digest = snapshot.compute_digest();
        Ok(snapshot)
    }
}

/// Adds one taxed amount (a line or the shipping) to the totals.
fn add_taxed(totals: &mut Totals, taxed: Taxed) -> Result<(), Rejection> {
    totals.net = money::add(totals.net, taxed.net)?;
    totals.tax = money::add(totals.tax, taxed.tax)?;
    totals.grand_total = money::add(totals.grand_total, taxed.gross)?;
    Ok(())
}
