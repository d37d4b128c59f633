//! Tests of `changes`: every kind of change, exact money, and the property that today's
//! unchanged offer changes nothing.

use proptest::prelude::*;

use super::*;
use crate::{
    offer::{tests::bakery, Offer},
    restore::reprice,
    snapshot::PricingInput,
    ErrorCode,
};

fn checkout(
    offer: &Offer,
    cart: &[(&str, u32)],
    voucher: Option<&str>,
    shipping: Option<&str>,
) -> (PricingInput, Snapshot) {
    let cart: Vec<(String, u32)> = cart.iter().map(|(s, q)| ((*s).to_owned(), *q)).collect();
    let mut input = offer.pricing_input(&cart).unwrap();
    if let Some(code) = voucher {
        input.apply_voucher(offer.voucher(code).unwrap()).unwrap();
    }
    if let Some(id) = shipping {
        input.choose_shipping(offer.shipping(id).unwrap()).unwrap();
    }
    input.choose_payment(offer.payment("invoice").unwrap());
    let snapshot = Snapshot::capture(&input).unwrap();
    (input, snapshot)
}

fn kinds(changes: &[ChangeItem]) -> Vec<(ChangeKind, &str)> {
    changes
        .iter()
        .map(|c| (c.kind, c.subject.as_str()))
        .collect()
}

#[test]
fn an_unchanged_offer_changes_nothing() {
    let offer = bakery();
    let (input, snapshot) = checkout(
        &offer,
        &[("BRW-FUDGE", 3), ("CAKE-CHOC", 1)],
        Some("SWEET5"),
        Some("standard"),
    );
    let again = reprice(&input, &snapshot, &offer).unwrap();
    assert!(again.changes.is_empty(), "{:?}", again.changes);
    assert_eq!(again.snapshot.digest, snapshot.digest);
}

#[test]
fn prices_up_and_down_with_exact_money_and_the_total() {
    let offer = bakery();
    let (input, snapshot) = checkout(
        &offer,
        &[("BRW-FUDGE", 3), ("CAKE-CHOC", 1)],
        None,
        Some("express"),
    );
    let mut today = bakery();
    today.products[0].unit_price = 385; // fudge 3.50 → 3.85
    today.products[1].unit_price = 2_899; // cake 29.99 → 28.99
    let r = reprice(&input, &snapshot, &today).unwrap();
    assert_eq!(
        kinds(&r.changes),
        vec![
            (ChangeKind::PriceUp, "BRW-FUDGE"),
            (ChangeKind::PriceDown, "CAKE-CHOC"),
            (ChangeKind::TotalChanged, "total"),
        ]
    );
    assert_eq!(
        r.changes[0].message,
        "Fudge brownie now costs $3.85 (was $3.50)."
    );
    assert_eq!(
        (r.changes[0].before, r.changes[0].after),
        (Some(350), Some(385))
    );
    assert_eq!(
        r.changes[1].message,
        "Chocolate cake now costs $28.99 (was $29.99)."
    );
    // Fudge: 3 × 3.85 = 11.55, 10 % off = 1.16 (1.155 rounds up) → 10.39, tax 5 % = 0.52.
    // Cake 28.99, tax 8.25 % = 2.39. Express 12.99. Total 10.39 + .52 + 28.99 + 2.39 + 12.99.
    let total = 1_039 + 52 + 2_899 + 239 + 1_299;
    assert_eq!(r.snapshot.totals.grand_total, total);
    let last = r.changes.last().unwrap();
    assert_eq!(
        (last.before, last.after),
        (Some(snapshot.totals.grand_total), Some(total))
    );
    assert_eq!(
        last.message,
        format!(
            "Your total is now $55.28 (was {}).",
            money::format(snapshot.totals.grand_total, "USD")
        )
    );
}

#[test]
fn items_gone_and_quantities_capped() {
    let offer = bakery();
    let (input, snapshot) = checkout(
        &offer,
        &[("BRW-FUDGE", 3), ("CAKE-CHOC", 4), ("CKE-OAT", 2)],
        None,
        None,
    );
    let mut today = bakery();
    today.products.retain(|p| p.sku != "CKE-OAT");
    today.products[1].max_quantity = 2;
    let r = reprice(&input, &snapshot, &today).unwrap();
    assert_eq!(
        kinds(&r.changes),
        vec![
            (ChangeKind::QuantityCapped, "CAKE-CHOC"),
            (ChangeKind::ItemGone, "CKE-OAT"),
            (ChangeKind::TotalChanged, "total"),
        ]
    );
    assert_eq!(
        r.changes[0].message,
        "Chocolate cake: at most 2 per order now, so you have 2 (was 4)."
    );
    assert_eq!(
        r.changes[1].message,
        "Oat cookie is no longer sold, so it was left out."
    );
    assert_eq!(r.input.lines.len(), 2);

    today.products.clear();
    assert_eq!(
        reprice(&input, &snapshot, &today).unwrap_err().code,
        ErrorCode::CartEmpty
    );
}

#[test]
fn promotions_ended_or_no_longer_met_and_vouchers_invalid() {
    let offer = bakery();
    // 2 cakes = 59.98: the big-order promotion applies, and SWEET5.
    let (input, snapshot) = checkout(
        &offer,
        &[("BRW-FUDGE", 2), ("CAKE-CHOC", 2)],
        Some("SWEET5"),
        None,
    );
    assert_eq!(snapshot.promotions.len(), 2);
    let mut today = bakery();
    today.promotions.retain(|p| p.id != "fudge-friday");
    today.vouchers.clear();
    let r = reprice(&input, &snapshot, &today).unwrap();
    assert_eq!(
        kinds(&r.changes),
        vec![
            (ChangeKind::PromotionEnded, "fudge-friday"),
            (ChangeKind::VoucherInvalid, "SWEET5"),
            (ChangeKind::TotalChanged, "total"),
        ]
    );
    assert_eq!(
        r.changes[0].message,
        "The promotion “10 % off fudge brownies” has ended."
    );
    assert_eq!(
        r.changes[1].message,
        "The voucher SWEET5 has been withdrawn, so it was taken off."
    );

    // Cheaper cakes push the order below both minimums.
    let mut cheaper = bakery();
    cheaper.products[1].unit_price = 500;
    let r = reprice(&input, &snapshot, &cheaper).unwrap();
    let k = kinds(&r.changes);
    assert!(
        k.contains(&(ChangeKind::PromotionEnded, "big-order")),
        "{k:?}"
    );
    assert!(k.contains(&(ChangeKind::VoucherInvalid, "SWEET5")), "{k:?}");
    let big = r.changes.iter().find(|c| c.subject == "big-order").unwrap();
    assert_eq!(
        big.message,
        "The promotion “5 % off orders of $50 or more” no longer applies."
    );
    let sweet = r.changes.iter().find(|c| c.subject == "SWEET5").unwrap();
    assert_eq!(
        sweet.message,
        "The voucher SWEET5 needs a larger order now, so it was taken off."
    );
}

#[test]
fn shipping_and_payment_gone_or_repriced() {
    let offer = bakery();
    let (input, snapshot) = checkout(&offer, &[("BRW-FUDGE", 2)], None, Some("express"));
    let mut today = bakery();
    today.shipping_methods[1].price = 1_499;
    let r = reprice(&input, &snapshot, &today).unwrap();
    assert_eq!(
        kinds(&r.changes)[0],
        (ChangeKind::ShippingRepriced, "express")
    );
    assert_eq!(
        r.changes[0].message,
        "Express courier now costs $14.99 (was $12.99)."
    );

    today.shipping_methods.truncate(1);
    today.payment_methods.clear();
    let r = reprice(&input, &snapshot, &today).unwrap();
    assert_eq!(
        kinds(&r.changes),
        vec![
            (ChangeKind::ShippingGone, "express"),
            (ChangeKind::PaymentGone, "invoice"),
            (ChangeKind::TotalChanged, "total"),
        ]
    );
    assert!(r.snapshot.shipping_method.is_none() && r.snapshot.payment_method.is_none());
    assert_eq!(
        r.changes[0].message,
        "Express courier is no longer offered: please choose a shipping method."
    );
}

#[test]
fn between_two_summaries_of_one_checkout() {
    let offer = bakery();
    let (mut input, confirmed) = checkout(
        &offer,
        &[("BRW-FUDGE", 2), ("CAKE-CHOC", 1)],
        None,
        Some("standard"),
    );
    input.remove_line("CAKE-CHOC").unwrap();
    input
        .choose_shipping(offer.shipping("express").unwrap())
        .unwrap();
    let current = Snapshot::capture(&input).unwrap();
    let changes = between(&confirmed, &current);
    assert_eq!(
        kinds(&changes),
        vec![
            (ChangeKind::ItemRemoved, "CAKE-CHOC"),
            (ChangeKind::ShippingChanged, "express"),
            (ChangeKind::TotalChanged, "total"),
        ]
    );
    assert!(between(&confirmed, &confirmed).is_empty());
    let added = between(&current, &confirmed);
    assert_eq!(added[0].kind, ChangeKind::ItemAdded);
    assert_eq!(
        added[0].message,
        "1 × Chocolate cake was added to your order."
    );
}

fn cart_strategy() -> impl Strategy<Value = Vec<(usize, u32)>> {
    proptest::collection::vec((0usize..3, 1u32..=40), 1..4)
}

proptest! {
    #[test]
    fn reprice_with_the_same_offer_is_the_identity(
        cart in cart_strategy(),
        voucher in any::<bool>(),
        shipping in proptest::option::of(0usize..2),
    ) {
        let offer = bakery();
        let mut seen = Vec::new();
        let lines: Vec<(&str, u32)> = cart
            .iter()
            .map(|(i, q)| (offer.products[*i].sku.as_str(), *q))
            .filter(|(s, _)| if seen.contains(s) { false } else { seen.push(*s); true })
            .collect();
        let cart: Vec<(String, u32)> = lines.iter().map(|(s, q)| ((*s).to_owned(), *q)).collect();
        let mut input = offer.pricing_input(&cart).unwrap();
        if voucher {
            input.apply_voucher(offer.voucher("SWEET5").unwrap()).unwrap();
        }
        if let Some(i) = shipping {
            input.choose_shipping(offer.shipping_methods[i].clone()).unwrap();
        }
        let Ok(snapshot) = Snapshot::capture(&input) else {
            return Err(TestCaseError::reject("voucher minimum not met"));
        };
        let r = reprice(&input, &snapshot, &offer).unwrap();
        prop_assert!(r.changes.is_empty(), "{:?}", r.changes);
        prop_assert_eq!(r.snapshot.digest, snapshot.digest);
    }

    #[test]
    fn one_changed_price_is_one_price_change_in_its_direction(
        cart in cart_strategy(),
        which in 0usize..3,
        delta in -170i64..300,
    ) {
        prop_assume!(delta != 0);
        let offer = bakery();
        let mut cart: Vec<(String, u32)> = cart.iter().map(|(i, q)| (offer.products[*i].sku.clone(), *q)).collect();
        cart.dedup_by(|a, b| a.0 == b.0);
        let mut unique = Vec::new();
        for line in cart {
            if !unique.iter().any(|(s, _): &(String, u32)| *s == line.0) {
                unique.push(line);
            }
        }
        let input = offer.pricing_input(&unique).unwrap();
        let snapshot = Snapshot::capture(&input).unwrap();
        let mut today = bakery();
        today.products[which].unit_price += delta;
        let r = reprice(&input, &snapshot, &today).unwrap();
        let sku = today.products[which].sku.as_str();
        let prices: Vec<&ChangeItem> = r.changes.iter().filter(|c| matches!(c.kind, ChangeKind::PriceUp | ChangeKind::PriceDown)).collect();
        if input.lines.iter().any(|l| l.sku == sku) {
            prop_assert_eq!(prices.len(), 1);
            let expected = if delta > 0 { ChangeKind::PriceUp } else { ChangeKind::PriceDown };
            prop_assert_eq!(prices[0].kind, expected);
            prop_assert_eq!(prices[0].after.unwrap() - prices[0].before.unwrap(), delta);
            prop_assert_ne!(r.snapshot.digest, snapshot.digest);
        } else {
            prop_assert!(r.changes.is_empty());
        }
    }
}

#[test]
fn kind_names_round_trip() {
    for kind in ChangeKind::ALL {
        assert_eq!(ChangeKind::from_name(kind.as_str()), Some(kind));
    }
}
