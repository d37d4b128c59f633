//! What a refusal carries besides its code (a leaf: it names nothing else of the core):
//! what the shopper still has to give before an order action ([`Missing`], judged by
//! [`crate::requirements`]) and what changed in their checkout ([`ChangeItem`], found by
//! [`crate::changes`]).

use std::fmt::{self, Write};

use serde::{Deserialize, Serialize};

/// A value from outside, quoted for a message: at most 64 characters, control characters
/// shown as `?`. (`{:?}` would print a 10 KB value whole, and link Rust's escaping tables
/// into the browser module for a message.)
#[derive(Debug, Clone, Copy)]
pub struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for (at, c) in self.0.chars().enumerate() {
            if at == 64 {
                f.write_char('…')?;
                break;
            }
            f.write_char(if c.is_control() { '?' } else { c })?;
        }
        f.write_char('"')
    }
}

wire_enum! {
    /// Something the shopper still has to choose or give before an order action.
    pub enum Missing as "missing requirement", in TypeScript "Missing" {
        /// No shipping address is given.
        ShippingAddress = "shipping_address",
        /// No shipping method is selected.
        ShippingMethod = "shipping_method",
        /// No payment method is selected, or the selected one does not fit the action
        /// (`card` for Place Order, a deferred method for Pay Now).
        PaymentMethod = "payment_method",
        /// Pay Now was asked without a payment token (the tokenized card).
        PaymentToken = "payment_token",
    }
}

wire_enum! {
    /// The kind of a change.
    pub enum ChangeKind as "change kind", in TypeScript "ChangeKind" {
        /// A line's unit price went up.
        PriceUp = "price_up",
        /// A line's unit price went down.
        PriceDown = "price_down",
        /// A product is no longer sold: its line is gone.
        ItemGone = "item_gone",
        /// A line is no longer in the checkout (removed in another tab).
        ItemRemoved = "item_removed",
        /// A line is new in the checkout.
        ItemAdded = "item_added",
        /// A line holds fewer than before: the product's maximum per order is lower.
        QuantityCapped = "quantity_capped",
        /// A line's quantity is different.
        QuantityChanged = "quantity_changed",
        /// A promotion that applied no longer does (ended, or its condition is not met).
        PromotionEnded = "promotion_ended",
        /// A promotion applies that did not.
        PromotionAdded = "promotion_added",
        /// A voucher no longer applies: withdrawn, or its minimum is not met.
        VoucherInvalid = "voucher_invalid",
        /// A voucher is no longer applied.
        VoucherRemoved = "voucher_removed",
        /// A voucher was applied.
        VoucherAdded = "voucher_added",
        /// The chosen shipping method is no longer offered: choose again.
        ShippingGone = "shipping_gone",
        /// The shipping charged is different.
        ShippingRepriced = "shipping_repriced",
        /// Another shipping method is chosen.
        ShippingChanged = "shipping_changed",
        /// The chosen payment method is no longer offered: choose again.
        PaymentGone = "payment_gone",
        /// Another payment method is chosen.
        PaymentChanged = "payment_changed",
        /// The total to pay is different.
        TotalChanged = "total_changed",
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify), tsify(missing_as_null))]
pub struct ChangeItem {
    /// What kind of change.
    pub kind: ChangeKind,
    /// What it is about: a SKU, promotion id, voucher code, method id, or `total`.
    pub subject: String,
    /// The number before (money in minor units, or a quantity), where there is one.
    pub before: Option<i64>,
    /// The number after, where there is one.
    pub after: Option<i64>,
    /// What the shopper reads.
    pub message: String,
}
