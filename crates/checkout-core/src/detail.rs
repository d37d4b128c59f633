//! What a refusal carries besides its code (a leaf: it names nothing else of the core):
//! what the shopper still has to give before an order action ([`Missing`], judged by
//! [`crate::requirements`]) and what changed in their checkout ([`ChangeItem`], found by
//! [`crate::changes`]).

use serde::{Deserialize, Serialize};

/// Something the shopper still has to choose or give before an order action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Missing {
    /// No shipping method is selected.
    ShippingMethod,
    /// No payment method is selected, or the selected one does not fit the action
    /// (`card` for Place Order, a deferred method for Pay Now).
    PaymentMethod,
    /// Pay Now was asked without a payment token (the tokenized card).
    PaymentToken,
}

serde_by_name!(Missing, "missing requirement");

impl Missing {
    /// Every requirement.
    pub const ALL: [Missing; 3] = [
        Missing::ShippingMethod,
        Missing::PaymentMethod,
        Missing::PaymentToken,
    ];

    /// The wire name: the request or snapshot field the shopper has to fill.
    pub fn as_str(self) -> &'static str {
        match self {
            Missing::ShippingMethod => "shipping_method",
            Missing::PaymentMethod => "payment_method",
            Missing::PaymentToken => "payment_token",
        }
    }
}

/// The kind of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// A line's unit price went up.
    PriceUp,
    /// A line's unit price went down.
    PriceDown,
    /// A product is no longer sold: its line is gone.
    ItemGone,
    /// A line is no longer in the checkout (removed in another tab).
    ItemRemoved,
    /// A line is new in the checkout.
    ItemAdded,
    /// A line holds fewer than before: the product's maximum per order is lower.
    QuantityCapped,
    /// A line's quantity is different.
    QuantityChanged,
    /// A promotion that applied no longer does (ended, or its condition is not met).
    PromotionEnded,
    /// A promotion applies that did not.
    PromotionAdded,
    /// A voucher no longer applies: withdrawn, or its minimum is not met.
    VoucherInvalid,
    /// A voucher is no longer applied.
    VoucherRemoved,
    /// A voucher was applied.
    VoucherAdded,
    /// The chosen shipping method is no longer offered: choose again.
    ShippingGone,
    /// The shipping charged is different.
    ShippingRepriced,
    /// Another shipping method is chosen.
    ShippingChanged,
    /// The chosen payment method is no longer offered: choose again.
    PaymentGone,
    /// Another payment method is chosen.
    PaymentChanged,
    /// The total to pay is different.
    TotalChanged,
}

serde_by_name!(ChangeKind, "change kind");

impl ChangeKind {
    /// Every kind.
    pub const ALL: [ChangeKind; 18] = [
        ChangeKind::PriceUp,
        ChangeKind::PriceDown,
        ChangeKind::ItemGone,
        ChangeKind::ItemRemoved,
        ChangeKind::ItemAdded,
        ChangeKind::QuantityCapped,
        ChangeKind::QuantityChanged,
        ChangeKind::PromotionEnded,
        ChangeKind::PromotionAdded,
        ChangeKind::VoucherInvalid,
        ChangeKind::VoucherRemoved,
        ChangeKind::VoucherAdded,
        ChangeKind::ShippingGone,
        ChangeKind::ShippingRepriced,
        ChangeKind::ShippingChanged,
        ChangeKind::PaymentGone,
        ChangeKind::PaymentChanged,
        ChangeKind::TotalChanged,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::PriceUp => "price_up",
            ChangeKind::PriceDown => "price_down",
            ChangeKind::ItemGone => "item_gone",
            ChangeKind::ItemRemoved => "item_removed",
            ChangeKind::ItemAdded => "item_added",
            ChangeKind::QuantityCapped => "quantity_capped",
            ChangeKind::QuantityChanged => "quantity_changed",
            ChangeKind::PromotionEnded => "promotion_ended",
            ChangeKind::PromotionAdded => "promotion_added",
            ChangeKind::VoucherInvalid => "voucher_invalid",
            ChangeKind::VoucherRemoved => "voucher_removed",
            ChangeKind::VoucherAdded => "voucher_added",
            ChangeKind::ShippingGone => "shipping_gone",
            ChangeKind::ShippingRepriced => "shipping_repriced",
            ChangeKind::ShippingChanged => "shipping_changed",
            ChangeKind::PaymentGone => "payment_gone",
            ChangeKind::PaymentChanged => "payment_changed",
            ChangeKind::TotalChanged => "total_changed",
        }
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
