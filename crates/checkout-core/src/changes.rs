//! What changed, in the shopper's words (CONTRACT §16): between the summary a shopper
//! confirmed and the checkout's current one ([`between`], sent with
//! `SNAPSHOT_MISMATCH`), and between an ended checkout and the same lines priced with
//! today's offer (`restore::reprice`, shown before a restored checkout can be ordered).
//!
//! Each change names its kind (for code), its subject (a SKU, promotion id, voucher
//! code, method id, or `total`), the numbers before and after where there are numbers
//! (minor units for money, units for quantities) and a sentence for the shopper. The
//! order is the summary's: lines, promotions, vouchers, shipping, payment, then the
//! total.

use crate::{
    money::{self, Minor},
    snapshot::Snapshot,
};

pub use crate::detail::{ChangeItem, ChangeKind};

fn item(
    kind: ChangeKind,
    subject: &str,
    before: Option<i64>,
    after: Option<i64>,
    message: String,
) -> ChangeItem {
    ChangeItem {
        kind,
        subject: subject.to_owned(),
        before,
        after,
        message,
    }
}

/// Everything that differs between the summary the shopper confirmed and the current
/// one, in summary order; empty when the two are the same.
pub fn between(confirmed: &Snapshot, current: &Snapshot) -> Vec<ChangeItem> {
    let cur = current.currency.as_str();
    let m = |amount: Minor| money::format(amount, cur);
    // What was, in the money it was in (a catalog may change its currency).
    let old = |amount: Minor| money::format(amount, &confirmed.currency);
    let mut out = Vec::new();
    for was in &confirmed.lines {
        let Some(now) = current.lines.iter().find(|l| l.sku == was.sku) else {
            let message = format!("{} is no longer in your order.", was.name);
            out.push(item(
                ChangeKind::ItemRemoved,
                &was.sku,
                Some(i64::from(was.quantity)),
                None,
                message,
            ));
            continue;
        };
        if now.unit_price != was.unit_price {
            let kind = if now.unit_price > was.unit_price {
                ChangeKind::PriceUp
            } else {
                ChangeKind::PriceDown
            };
            let message = format!(
                "{} now costs {} (was {}).",
                now.name,
                m(now.unit_price),
                old(was.unit_price)
            );
            out.push(item(
                kind,
                &now.sku,
                Some(was.unit_price),
                Some(now.unit_price),
                message,
            ));
        }
        if now.quantity != was.quantity {
            let message = format!(
                "You now have {} × {} (was {}).",
                now.quantity, now.name, was.quantity
            );
            out.push(item(
                ChangeKind::QuantityChanged,
                &now.sku,
                Some(i64::from(was.quantity)),
                Some(i64::from(now.quantity)),
                message,
            ));
        }
    }
    for now in current
        .lines
        .iter()
        .filter(|l| !confirmed.lines.iter().any(|w| w.sku == l.sku))
    {
        let message = format!("{} × {} was added to your order.", now.quantity, now.name);
        out.push(item(
            ChangeKind::ItemAdded,
            &now.sku,
            None,
            Some(i64::from(now.quantity)),
            message,
        ));
    }
    for (was_list, now_list, ended, added, noun) in [
        (
            &confirmed.promotions,
            &current.promotions,
            ChangeKind::PromotionEnded,
            ChangeKind::PromotionAdded,
            "promotion",
        ),
        (
            &confirmed.vouchers,
            &current.vouchers,
            ChangeKind::VoucherRemoved,
            ChangeKind::VoucherAdded,
            "voucher",
        ),
    ] {
        for was in was_list
            .iter()
            .filter(|w| !now_list.iter().any(|n| n.id == w.id))
        {
            let message = format!("The {noun} “{}” no longer applies.", was.description);
            out.push(item(ended, &was.id, Some(was.amount), None, message));
        }
        for now in now_list
            .iter()
            .filter(|n| !was_list.iter().any(|w| w.id == n.id))
        {
            let message = format!(
                "The {noun} “{}” now takes {} off.",
                now.description,
                m(now.amount)
            );
            out.push(item(added, &now.id, None, Some(now.amount), message));
        }
    }
    match (&confirmed.shipping_method, &current.shipping_method) {
        (Some(was), Some(now)) if was.id != now.id => {
            let message = format!("Shipping is now {} (was {}).", now.name, was.name);
            out.push(item(
                ChangeKind::ShippingChanged,
                &now.id,
                Some(was.price),
                Some(now.price),
                message,
            ));
        }
        (Some(was), Some(now)) if was.price != now.price => {
            let message = format!(
                "{} now costs {} (was {}).",
                now.name,
                m(now.price),
                old(was.price)
            );
            out.push(item(
                ChangeKind::ShippingRepriced,
                &now.id,
                Some(was.price),
                Some(now.price),
                message,
            ));
        }
        (None, Some(now)) => {
            let message = format!("Shipping: {} was chosen.", now.name);
            out.push(item(
                ChangeKind::ShippingChanged,
                &now.id,
                None,
                Some(now.price),
                message,
            ));
        }
        (Some(was), None) => {
            let message = format!(
                "{} is no longer offered: please choose a shipping method.",
                was.name
            );
            out.push(item(
                ChangeKind::ShippingGone,
                &was.id,
                Some(was.price),
                None,
                message,
            ));
        }
        _ => {}
    }
    match (&confirmed.payment_method, &current.payment_method) {
        (Some(was), Some(now)) if was.id != now.id => {
            let message = format!("Payment is now {} (was {}).", now.name, was.name);
            out.push(item(
                ChangeKind::PaymentChanged,
                &now.id,
                None,
                None,
                message,
            ));
        }
        (None, Some(now)) => {
            let message = format!("Payment: {} was chosen.", now.name);
            out.push(item(
                ChangeKind::PaymentChanged,
                &now.id,
                None,
                None,
                message,
            ));
        }
        (Some(was), None) => {
            let message = format!(
                "{} is no longer offered: please choose how to pay.",
                was.name
            );
            out.push(item(ChangeKind::PaymentGone, &was.id, None, None, message));
        }
        _ => {}
    }
    let (was, now) = (confirmed.totals.grand_total, current.totals.grand_total);
    if was != now || confirmed.currency != current.currency {
        let message = format!("Your total is now {} (was {}).", m(now), old(was));
        out.push(item(
            ChangeKind::TotalChanged,
            "total",
            Some(was),
            Some(now),
            message,
        ));
    }
    out
}

#[cfg(test)]
#[path = "changes_tests.rs"]
mod tests;
