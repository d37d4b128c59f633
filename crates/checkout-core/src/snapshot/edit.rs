//! The changes a shopper makes to a checkout (CONTRACT §3): each is judged here, on the
//! [`PricingInput`], and [`Snapshot::capture`](super::Snapshot::capture) then prices the
//! result into the next snapshot.

use super::{Address, PaymentMethod, PricingInput, ShippingMethod, Voucher};
use crate::error::{ErrorCode, Rejection};

/// What is left after a line was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineRemoved {
    /// Other lines remain: the checkout is priced again.
    Remaining,
    /// That was the last line: the checkout ends (`INACTIVE/EMPTIED`).
    Emptied,
}

impl PricingInput {
    /// Chooses the shipping method (replacing any chosen before); one that does not
    /// deliver to the shipping address is refused (`VALIDATION_FAILED`).
    pub fn choose_shipping(&mut self, method: ShippingMethod) -> Result<(), Rejection> {
        if let Some(address) = &self.shipping_address {
            if !method.delivers_to(&address.country) {
                return Err(Rejection::with_message(
                    ErrorCode::ValidationFailed,
                    format!(
                        "{} does not deliver to {}. Choose another shipping method or address.",
                        method.name, address.country
                    ),
                ));
            }
        }
        self.shipping_method = Some(method);
        Ok(())
    }

    /// Gives the shipping address (checked and trimmed: [`Address::normalized`]). Tax
    /// follows its country from now on; a chosen shipping method that does not deliver
    /// there is dropped, and returned.
    pub fn set_shipping_address(
        &mut self,
        address: &Address,
    ) -> Result<Option<ShippingMethod>, Rejection> {
        let address = address.normalized()?;
        let dropped = self
            .shipping_method
            .take_if(|m| !m.delivers_to(&address.country));
        self.shipping_address = Some(address);
        Ok(dropped)
    }

    /// Gives the billing address (checked and trimmed); without one, the shipping
    /// address is billed.
    pub fn set_billing_address(&mut self, address: &Address) -> Result<(), Rejection> {
        self.billing_address = Some(address.normalized()?);
        Ok(())
    }

    /// Chooses the payment method (replacing any chosen before).
    pub fn choose_payment(&mut self, method: PaymentMethod) {
        self.payment_method = Some(method);
    }

    /// Applies a voucher after those already applied. The same code twice is refused
    /// (`VALIDATION_FAILED`): it would discount the order twice.
    pub fn apply_voucher(&mut self, voucher: Voucher) -> Result<(), Rejection> {
        if self.vouchers.iter().any(|v| v.code == voucher.code) {
            return Err(Rejection::with_message(
                ErrorCode::ValidationFailed,
                format!(
                    "The voucher {} is already applied to this order.",
                    voucher.code
                ),
            ));
        }
        self.vouchers.push(voucher);
        Ok(())
    }

    /// Removes the line of `sku`; a SKU the checkout does not hold is refused
    /// (`VALIDATION_FAILED`). Removing the last line empties the checkout.
    pub fn remove_line(&mut self, sku: &str) -> Result<LineRemoved, Rejection> {
        let before = self.lines.len();
        self.lines.retain(|l| l.sku != sku);
        if self.lines.len() == before {
            return Err(Rejection::with_message(
                ErrorCode::ValidationFailed,
                "That item is not in this checkout (it may have been removed in another tab).",
            ));
        }
        Ok(if self.lines.is_empty() {
            LineRemoved::Emptied
        } else {
            LineRemoved::Remaining
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{tests::bakery_input, Snapshot, VoucherDiscount};

    fn voucher(code: &str) -> Voucher {
        Voucher {
            code: code.into(),
            description: "5 off".into(),
            discount: VoucherDiscount::AmountOff { amount: 500 },
            min_subtotal: 0,
        }
    }

    #[test]
    fn a_voucher_applies_once() {
        let mut input = bakery_input();
        input.vouchers.clear();
        input.apply_voucher(voucher("FIVE")).unwrap();
        let once = Snapshot::capture(&input).unwrap();
        let err = input.apply_voucher(voucher("FIVE")).unwrap_err();
        assert_eq!(err.code, ErrorCode::ValidationFailed);
        assert_eq!(input.vouchers.len(), 1);
        assert_eq!(Snapshot::capture(&input).unwrap().digest, once.digest);
        input.apply_voucher(voucher("OTHER")).unwrap();
        assert_eq!(input.vouchers.len(), 2);
    }

    #[test]
    fn removing_lines_ends_with_an_empty_checkout() {
        let mut input = bakery_input();
        let skus: Vec<String> = input.lines.iter().map(|l| l.sku.clone()).collect();
        assert!(skus.len() >= 2, "the fixture has several lines");
        let err = input.remove_line("NO-SUCH-SKU").unwrap_err();
        assert_eq!(err.code, ErrorCode::ValidationFailed);
        assert_eq!(input.lines.len(), skus.len());
        for (i, sku) in skus.iter().enumerate() {
            let expected = if i + 1 == skus.len() {
                LineRemoved::Emptied
            } else {
                LineRemoved::Remaining
            };
            assert_eq!(input.remove_line(sku).unwrap(), expected);
            assert!(input.lines.iter().all(|l| &l.sku != sku));
        }
        assert!(input.remove_line(&skus[0]).is_err(), "a line goes once");
    }
}
