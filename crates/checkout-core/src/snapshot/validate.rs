//! The bounds a [`PricingInput`] must keep before it is priced, so that pricing itself
//! cannot overflow and every snapshot stays within what the contract allows.

use super::{
    PricingInput, PromotionRule, VoucherDiscount, MAX_LINES, MAX_QUANTITY, MAX_UNIT_PRICE,
};
use crate::{
    error::{ErrorCode, Rejection},
    money::{BasisPoints, FULL_BPS},
};

pub(super) fn invalid(message: impl Into<String>) -> Rejection {
    Rejection::with_message(ErrorCode::ValidationFailed, message)
}

fn check_bps(bps: BasisPoints, what: &str) -> Result<(), Rejection> {
    if bps > FULL_BPS {
        return Err(invalid(format!("{what}: percentage above 100 %")));
    }
    Ok(())
}

impl PricingInput {
    /// Checks every bound the pricing relies on, so that pricing itself cannot overflow.
    pub fn validate(&self) -> Result<(), Rejection> {
        let c = self.currency.as_bytes();
        if c.len() != 3 || !c.iter().all(u8::is_ascii_uppercase) {
            return Err(invalid("currency must be a three-letter ISO 4217 code"));
        }
        if self.lines.is_empty() {
            return Err(Rejection::new(ErrorCode::CartEmpty));
        }
        if self.lines.len() > MAX_LINES {
            return Err(invalid(format!("at most {MAX_LINES} lines")));
        }
        for (i, line) in self.lines.iter().enumerate() {
            if line.sku.is_empty() || line.sku.len() > 64 {
                return Err(invalid("sku must be 1 to 64 characters"));
            }
            if self.lines[..i].iter().any(|other| other.sku == line.sku) {
                return Err(invalid(format!("sku {} appears twice", line.sku)));
            }
            if !(1..=MAX_QUANTITY).contains(&line.quantity) {
                return Err(invalid(format!(
                    "quantity of {} must be between 1 and {MAX_QUANTITY}",
                    line.sku
                )));
            }
            if !(0..=MAX_UNIT_PRICE).contains(&line.unit_price) {
                return Err(invalid(format!("unit price of {} out of range", line.sku)));
            }
            if self.tax_rate(&line.tax_class).is_none() {
                return Err(invalid(format!("no tax rate for class {}", line.tax_class)));
            }
        }
        for rate in &self.tax_rates {
            check_bps(rate.rate_bps, "tax rate")?;
        }
        for promotion in &self.promotions {
            match &promotion.rule {
                PromotionRule::PercentOffSku { bps, .. } => check_bps(*bps, &promotion.id)?,
                PromotionRule::PercentOffOrder { bps, min_subtotal } => {
                    check_bps(*bps, &promotion.id)?;
                    if *min_subtotal < 0 {
                        return Err(invalid("promotion minimum must not be negative"));
                    }
                }
            }
        }
        for voucher in &self.vouchers {
            match voucher.discount {
                VoucherDiscount::PercentOff { bps } => check_bps(bps, &voucher.code)?,
                VoucherDiscount::AmountOff { amount }
                    if !(0..=MAX_UNIT_PRICE).contains(&amount) =>
                {
                    return Err(invalid("voucher amount out of range"))
                }
                VoucherDiscount::AmountOff { .. } => {}
            }
        }
        if let Some(shipping) = &self.shipping_method {
            if !(0..=MAX_UNIT_PRICE).contains(&shipping.price) {
                return Err(invalid("shipping price out of range"));
            }
            if let Some(class) = &shipping.tax_class {
                if self.tax_rate(class).is_none() {
                    return Err(invalid(format!("no tax rate for class {class}")));
                }
            }
        }
        Ok(())
    }

    /// The country whose tax applies: the shipping address's, else the shop's origin.
    pub fn tax_country(&self) -> Option<&str> {
        self.shipping_address
            .as_ref()
            .map(|a| a.country.as_str())
            .or(self.origin_country.as_deref())
    }

    /// The rate of `class` where the checkout is taxed ([`Self::tax_country`]): the rate
    /// for that country; for a country the catalog names no rates for, the origin
    /// country's; a rate without a country (captured before catalogs had countries)
    /// wherever no other applies.
    pub fn tax_rate(&self, class: &str) -> Option<BasisPoints> {
        let of = |country: Option<&str>| {
            self.tax_rates
                .iter()
                .find(|r| r.class == class && r.country.as_deref() == country)
                .map(|r| r.rate_bps)
        };
        let destination = self.tax_country();
        let known = |country: &str| {
            self.tax_rates
                .iter()
                .any(|r| r.country.as_deref() == Some(country))
        };
        match destination {
            Some(country) if known(country) => of(Some(country)),
            _ => self
                .origin_country
                .as_deref()
                .and_then(|origin| of(Some(origin)))
                .or_else(|| of(None)),
        }
    }
}
