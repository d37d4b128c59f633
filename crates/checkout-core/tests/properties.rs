//! Property tests of the core: the snapshot digest changes when and only when a captured
//! field changes, and no sequence of lifecycle operations breaks the session invariants.

use checkout_core::{
    lifecycle::{plan_initiation, LiveSession},
    snapshot::{
        Address, CartLine, PaymentMethod, PricingInput, Promotion, PromotionRule, ShippingMethod,
        Snapshot, TaxRate, Voucher, VoucherDiscount,
    },
    InactiveReason, SessionStatus, Transition,
};
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

fn arb_line(index: usize) -> impl Strategy<Value = CartLine> {
    (1u32..=20, 0i64..=50_000, "[A-Za-z ]{1,12}", 0usize..2).prop_map(
        move |(quantity, unit_price, name, class)| CartLine {
            sku: format!("SKU-{index}"),
            name,
            quantity,
            unit_price,
            tax_class: ["food", "standard"][class].to_owned(),
        },
    )
}

fn arb_input() -> impl Strategy<Value = PricingInput> {
    (1usize..6)
        .prop_flat_map(|n| {
            let lines: Vec<_> = (0..n).map(arb_line).collect();
            (
                lines,
                0u32..=2_000,
                0u32..=3_000,
                proptest::option::of(0i64..=3_000),
                proptest::option::of((0i64..=1_500, proptest::option::of(0i64..=20_000))),
                any::<bool>(),
                (any::<bool>(), 0usize..3, 0usize..3, 0u32..=2_700),
            )
        })
        .prop_map(
            |(lines, sku_bps, order_bps, voucher, shipping, pay, (included, currency, to, odd))| {
                PricingInput {
                    // 0, 2 and 3 minor digits: amounts are minor units whatever the currency.
                    currency: ["JPY", "EUR", "KWD"][currency].into(),
                    lines,
                    tax_rates: vec![
                        rate("food", "DE", 700),
                        rate("standard", "DE", 1_900),
                        rate("food", "FR", 550),
                        rate("standard", "FR", 2_000),
                        rate("food", "HU", odd),
                        rate("standard", "HU", 2_700),
                    ],
                    prices_include_tax: included,
                    origin_country: Some("DE".into()),
                    // Taxed at home, in France, or in a country without rates (as at home).
                    shipping_address: [None, Some("FR"), Some("HU"), Some("US")][to].map(address),
                    promotions: vec![
                        Promotion {
                            id: "p-sku".into(),
                            description: "SKU-0 off".into(),
                            rule: PromotionRule::PercentOffSku {
                                sku: "SKU-0".into(),
                                bps: sku_bps,
                            },
                        },
                        Promotion {
                            id: "p-order".into(),
                            description: "order off".into(),
                            rule: PromotionRule::PercentOffOrder {
                                min_subtotal: 10_000,
                                bps: order_bps,
                            },
                        },
                    ],
                    vouchers: voucher
                        .map(|amount| Voucher {
                            code: "SAVE".into(),
                            description: "save".into(),
                            discount: VoucherDiscount::AmountOff { amount },
                            min_subtotal: 0,
                        })
                        .into_iter()
                        .collect(),
                    shipping_method: shipping.map(|(price, free_from)| ShippingMethod {
                        id: "std".into(),
                        name: "Standard".into(),
                        price,
                        free_from,
                        tax_class: Some("standard".into()),
                        countries: None,
                    }),
                    payment_method: pay.then(|| PaymentMethod {
                        id: "card".into(),
                        name: "Card".into(),
                    }),
                    billing_address: None,
                    catalog_version: None,
                    own_offer: None,
                }
            },
        )
}

fn rate(class: &str, country: &str, rate_bps: u32) -> TaxRate {
    TaxRate {
        class: class.into(),
        country: Some(country.into()),
        rate_bps,
    }
}

fn address(country: &str) -> Address {
    Address {
        name: "A. Shopper".into(),
        line1: "1 Main St".into(),
        line2: None,
        city: "Town".into(),
        postal_code: "12345".into(),
        region: None,
        country: country.into(),
        phone: None,
    }
}

/// Changes exactly one captured field of the snapshot, chosen by `selector`.
/// Returns a description of the change (for failure messages).
fn mutate(s: &mut Snapshot, selector: usize, nudge: i64) -> String {
    let nudge = if nudge == 0 { 1 } else { nudge };
    let line_fields = 12;
    let n = s.lines.len();
    if selector < n * line_fields {
        let line = &mut s.lines[selector / line_fields];
        let field = selector % line_fields;
        match field {
            0 => line.sku.push('x'),
            1 => line.name.push('x'),
            2 => line.quantity = line.quantity.wrapping_add(1),
            3 => line.unit_price += nudge,
            4 => line.tax_class.push('x'),
            5 => line.tax_rate_bps += 1,
            6 => line.subtotal += nudge,
            7 => line.discount += nudge,
            8 => line.tax += nudge,
            9 => line.net += nudge,
            10 => line.gross += nudge,
            _ => line.total += nudge,
        }
        return format!("line {} field {field}", selector / line_fields);
    }
    match selector - n * line_fields {
        0 => s.currency = "USD".into(),
        1 => s.totals.subtotal += nudge,
        2 => s.totals.discount += nudge,
        3 => s.totals.shipping += nudge,
        4 => s.totals.tax += nudge,
        5 => s.totals.grand_total += nudge,
        6 => {
            s.shipping_method = match s.shipping_method.take() {
                Some(mut m) => {
                    m.price += nudge;
                    Some(m)
                }
                None => Some(checkout_core::snapshot::ChargedShipping {
                    id: "x".into(),
                    name: "x".into(),
                    price: 0,
                    tax_class: None,
                    tax_rate_bps: 0,
                    net: 0,
                    tax: 0,
                    gross: 0,
                }),
            }
        }
        7 => {
            s.payment_method = match s.payment_method.take() {
                Some(_) => None,
                None => Some(PaymentMethod {
                    id: "card".into(),
                    name: "Card".into(),
                }),
            }
        }
        10 => s.prices_include_tax = !s.prices_include_tax,
        11 => s.totals.net += nudge,
        12 => {
            let mut a = s.shipping_address.take().unwrap_or_else(|| address("AT"));
            a.postal_code.push('9');
            s.shipping_address = Some(a);
        }
        13 => s.billing_address = Some(address("BE")),
        8 => s.promotions.push(checkout_core::snapshot::AppliedDiscount {
            id: "new".into(),
            description: String::new(),
            amount: 0,
        }),
        _ => s.vouchers.push(checkout_core::snapshot::AppliedDiscount {
            id: "NEW".into(),
            description: String::new(),
            amount: 0,
        }),
    }
    format!("order field {}", selector - n * line_fields)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn digest_is_stable_for_equal_fields(input in arb_input()) {
        let a = Snapshot::capture(&input).unwrap();
        let b = Snapshot::capture(&input.clone()).unwrap();
        prop_assert_eq!(&a.digest, &b.digest);
        let json = serde_json::to_string(&a).unwrap();
        let back: Snapshot = serde_json::from_str(&json).unwrap();
        prop_assert!(back.is_sealed());
        prop_assert_eq!(back.compute_digest(), a.digest);
    }

    #[test]
    fn digest_changes_when_any_captured_field_changes(
        input in arb_input(),
        selector in 0usize..100,
        nudge in -5i64..5,
    ) {
        let original = Snapshot::capture(&input).unwrap();
        let mut changed = original.clone();
        let fields = changed.lines.len() * 12 + 14;
        let what = mutate(&mut changed, selector % fields, nudge);
        prop_assert_ne!(changed.compute_digest(), original.digest, "{}", what);
        prop_assert!(!changed.is_sealed());
    }

    #[test]
    fn totals_add_up_and_never_go_negative(input in arb_input()) {
        let s = Snapshot::capture(&input).unwrap();
        let t = s.totals;
        if input.prices_include_tax {
            prop_assert_eq!(t.grand_total, t.subtotal - t.discount + t.shipping);
        } else {
            prop_assert_eq!(t.grand_total, t.subtotal - t.discount + t.shipping + t.tax);
        }
        prop_assert_eq!(t.subtotal, s.lines.iter().map(|l| l.subtotal).sum::<i64>());
        prop_assert_eq!(t.discount, s.lines.iter().map(|l| l.discount).sum::<i64>());
        let applied: i64 = s.promotions.iter().chain(&s.vouchers).map(|d| d.amount).sum();
        prop_assert_eq!(applied, t.discount);
        for line in &s.lines {
            prop_assert!(line.discount >= 0 && line.discount <= line.subtotal);
            prop_assert!(line.tax >= 0);
        }
        prop_assert!(t.grand_total >= 0);
    }

    /// Net + tax = gross for every line, the shipping and the totals, in both modes and
    /// in 0-, 2- and 3-digit currencies; the totals are the sums of the parts; each tax
    /// is the line's amount at its destination rate, rounded once.
    #[test]
    fn net_and_tax_make_gross_everywhere(input in arb_input()) {
        let s = Snapshot::capture(&input).unwrap();
        let country = input.shipping_address.as_ref().map_or("DE", |a| a.country.as_str());
        let country = if ["DE", "FR", "HU"].contains(&country) { country } else { "DE" };
        let (mut net, mut tax, mut gross) = (0, 0, 0);
        for line in &s.lines {
            prop_assert_eq!(line.net + line.tax, line.gross);
            prop_assert_eq!(line.total, line.gross);
            let amount = line.subtotal - line.discount;
            prop_assert_eq!(if input.prices_include_tax { line.gross } else { line.net }, amount);
            let expected = input.tax_rates.iter()
                .find(|r| r.class == line.tax_class && r.country.as_deref() == Some(country))
                .unwrap().rate_bps;
            prop_assert_eq!(line.tax_rate_bps, expected);
            // Rounded half away from zero: within half a minor unit of the exact tax.
            let exact2 = if input.prices_include_tax {
                (2 * i128::from(amount) * i128::from(expected), 10_000 + i128::from(expected))
            } else {
                (2 * i128::from(amount) * i128::from(expected), 10_000)
            };
            let diff = (2 * i128::from(line.tax) * exact2.1 - exact2.0).abs();
            prop_assert!(diff <= exact2.1, "tax {} of {} at {}", line.tax, amount, expected);
            net += line.net;
            tax += line.tax;
            gross += line.gross;
        }
        if let Some(m) = &s.shipping_method {
            prop_assert_eq!(m.net + m.tax, m.gross);
            prop_assert_eq!(if input.prices_include_tax { m.gross } else { m.net }, m.price);
            net += m.net;
            tax += m.tax;
            gross += m.gross;
        }
        prop_assert_eq!((s.totals.net, s.totals.tax, s.totals.grand_total), (net, tax, gross));
        prop_assert_eq!(s.totals.net + s.totals.tax, s.totals.grand_total);
    }
}

/// One step a shopper (or the system) can take.
#[derive(Debug, Clone)]
enum Op {
    Initiate { managed: bool },
    Transition { pick: usize, transition: Transition },
    Advance { minutes: i64 },
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Initiate { managed: true }),
        1 => Just(Op::Initiate { managed: false }),
        6 => (0usize..16, 0usize..Transition::ALL.len())
            .prop_map(|(pick, t)| Op::Transition { pick, transition: Transition::ALL[t] }),
        1 => (0i64..15).prop_map(|minutes| Op::Advance { minutes }),
    ]
}

struct Model {
    sessions: Vec<(LiveSession, bool)>,
    now: DateTime<Utc>,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn any_sequence_keeps_the_lifecycle_invariants(ops in proptest::collection::vec(arb_op(), 1..60)) {
        let mut m = Model {
            sessions: Vec::new(),
            now: DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z").unwrap().with_timezone(&Utc),
        };
        for op in ops {
            let before: Vec<SessionStatus> = m.sessions.iter().map(|(s, _)| s.status).collect();
            match op {
                Op::Initiate { managed } => {
                    let live: Vec<LiveSession> = m
                        .sessions
                        .iter()
                        .filter(|(s, _)| s.status.is_live())
                        .map(|(s, _)| s.clone())
                        .collect();
                    match plan_initiation(&live, managed, m.now) {
                        Ok(plan) => {
                            for (id, transition) in plan {
                                let entry = m.sessions.iter_mut().find(|(s, _)| s.id == id).unwrap();
                                entry.0.status = entry.0.status.apply(transition).unwrap();
                            }
                            let id = format!("s{}", m.sessions.len());
                            m.sessions.push((
                                LiveSession {
                                    id,
                                    status: SessionStatus::Active,
                                    managed,
                                    expires_at: managed.then(|| m.now + Duration::minutes(10)),
                                    // A login that ends before the window, so both ends occur.
                                    login_expires_at: managed.then(|| m.now + Duration::minutes(7)),
                                },
                                managed,
                            ));
                        }
                        Err(rejection) => {
                            // Refused only to protect a payment in flight.
                            prop_assert!(managed);
                            prop_assert!(live.iter().any(|s| s.status == SessionStatus::PaymentPending));
                            prop_assert_eq!(rejection.code, checkout_core::ErrorCode::PaymentInProgress);
                        }
                    }
                }
                Op::Transition { pick, transition } => {
                    if m.sessions.is_empty() {
                        continue;
                    }
                    let i = pick % m.sessions.len();
                    let from = m.sessions[i].0.status;
                    match from.apply(transition) {
                        Ok(next) => {
                            prop_assert!(from.is_live(), "left terminal state {:?}", from);
                            m.sessions[i].0.status = next;
                        }
                        Err(_) => prop_assert!(
                            from.is_terminal()
                                || (from == SessionStatus::PaymentPending
                                    && !matches!(transition, Transition::ReleasePayment | Transition::LapsePayment | Transition::CompletePayment))
                                || (from == SessionStatus::Active
                                    && matches!(transition, Transition::ReleasePayment | Transition::LapsePayment | Transition::CompletePayment))
                        ),
                    }
                }
                Op::Advance { minutes } => m.now += Duration::minutes(minutes),
            }
            // Terminal states never change.
            for (old, (s, _)) in before.iter().zip(&m.sessions) {
                if old.is_terminal() {
                    prop_assert_eq!(*old, s.status);
                }
                // A payment in flight is never superseded.
                if *old == SessionStatus::PaymentPending {
                    prop_assert_ne!(s.status, SessionStatus::Inactive(InactiveReason::Superseded));
                }
            }
            // At most one live managed session at any time.
            let live_managed = m.sessions.iter().filter(|(s, managed)| *managed && s.status.is_live()).count();
            prop_assert!(live_managed <= 1, "{} live managed sessions", live_managed);
        }
    }
}
