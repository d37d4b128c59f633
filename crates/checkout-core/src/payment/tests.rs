use super::*;
use crate::lifecycle::Completion;
use proptest::prelude::*;

const KEY: &str = "pay_1";

/// A checkout and what has been done to it, driven only by [`resolve`].
#[derive(Debug, Clone)]
struct Model {
    status: SessionStatus,
    waiting_for: Option<String>,
    orders: u32,
    refunds: u32,
    released: u32,
}

impl Model {
    fn paying() -> Model {
        Model {
            status: SessionStatus::PaymentPending,
            waiting_for: Some(KEY.into()),
            orders: 0,
            refunds: 0,
            released: 0,
        }
    }

    fn apply(&mut self, report: &Report) -> Resolution {
        let standing = Standing {
            status: self.status,
            waiting_for: self.waiting_for.as_deref(),
            total: (1_000, "EUR"),
            ordered_by_this_payment: self.orders > 0,
            refund_recorded: self.refunds > 0,
            action: ActionWindow::None,
        };
        let resolution = resolve(&standing, report);
        match resolution {
            Resolution::PlaceOrder => {
                self.status = SessionStatus::Completed(Completion::Paid);
                self.waiting_for = None;
                self.orders += 1;
            }
            Resolution::ReleaseUnpaid => {
                self.status = SessionStatus::Active;
                self.waiting_for = None;
                self.released += 1;
            }
            Resolution::Refund(_) => self.refunds += 1,
            Resolution::Wait | Resolution::Cancel | Resolution::Ignore => {}
        }
        resolution
    }
}

fn report(source: Source, status: ProviderStatus) -> Report {
    Report {
        source,
        payment_key: KEY.into(),
        status,
        amount: 1_000,
        currency: "EUR".into(),
    }
}

fn permutations(items: &[Source]) -> Vec<Vec<Source>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut all = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first);
            all.push(tail);
        }
    }
    all
}

#[test]
fn a_charge_reported_in_every_order_and_twice_makes_one_order_and_no_refund() {
    let sources = [Source::Answer, Source::Webhook, Source::Reconciliation];
    let orders = permutations(&sources);
    assert_eq!(orders.len(), 6);
    for order in orders {
        for times in [1, 2] {
            let mut model = Model::paying();
            for source in &order {
                for _ in 0..times {
                    model.apply(&report(*source, ProviderStatus::Succeeded));
                }
            }
            assert_eq!((model.orders, model.refunds), (1, 0), "{order:?} x{times}");
        }
    }
}

#[test]
fn processing_before_or_after_the_charge_never_undoes_it() {
    let mut model = Model::paying();
    assert_eq!(
        model.apply(&report(Source::Answer, ProviderStatus::Processing)),
        Resolution::Wait
    );
    assert_eq!(
        model.apply(&report(Source::Webhook, ProviderStatus::Succeeded)),
        Resolution::PlaceOrder
    );
    // The `processing` webhook sent first arrives last.
    assert_eq!(
        model.apply(&report(Source::Webhook, ProviderStatus::Processing)),
        Resolution::Ignore
    );
    assert_eq!(model.status, SessionStatus::Completed(Completion::Paid));
}

#[test]
fn a_request_that_never_arrived_is_released_by_reconciliation_only() {
    let mut model = Model::paying();
    assert_eq!(
        model.apply(&report(Source::Answer, ProviderStatus::NotFound)),
        Resolution::Wait
    );
    assert_eq!(
        model.apply(&report(Source::Reconciliation, ProviderStatus::NotFound)),
        Resolution::ReleaseUnpaid
    );
    // The request arrives after all and is charged: given back once.
    let late = report(Source::Webhook, ProviderStatus::Succeeded);
    assert_eq!(
        model.apply(&late),
        Resolution::Refund(RefundReason::NoLongerPaying)
    );
    assert_eq!(model.apply(&late), Resolution::Ignore);
    assert_eq!((model.orders, model.refunds), (0, 1));
}

#[test]
fn a_created_but_unconfirmed_payment_is_cancelled_by_reconciliation() {
    let mut model = Model::paying();
    assert_eq!(
        model.apply(&report(
            Source::Reconciliation,
            ProviderStatus::RequiresConfirmation
        )),
        Resolution::Cancel
    );
    assert_eq!(
        model.apply(&report(Source::Reconciliation, ProviderStatus::Canceled)),
        Resolution::ReleaseUnpaid
    );
}

#[test]
fn a_charge_for_a_checkout_that_cannot_take_it_is_refunded_with_its_reason() {
    let cases = [
        (SessionStatus::Expired, RefundReason::Expired),
        (
            SessionStatus::Inactive(InactiveReason::Superseded),
            RefundReason::Superseded,
        ),
        (
            SessionStatus::Completed(Completion::Paid),
            RefundReason::AlreadyCompleted,
        ),
        (SessionStatus::Active, RefundReason::NoLongerPaying),
        (
            SessionStatus::Inactive(InactiveReason::SignedOut),
            RefundReason::NoLongerPaying,
        ),
    ];
    for (status, reason) in cases {
        let standing = Standing {
            status,
            waiting_for: None,
            total: (1_000, "EUR"),
            ordered_by_this_payment: false,
            refund_recorded: false,
            action: ActionWindow::None,
        };
        let charged = report(Source::Webhook, ProviderStatus::Succeeded);
        assert_eq!(resolve(&standing, &charged), Resolution::Refund(reason));
        // Paying with another key: this key's charge is not the awaited one.
        let other = Standing {
            status: SessionStatus::PaymentPending,
            waiting_for: Some("pay_2"),
            ..standing
        };
        assert_eq!(
            resolve(&other, &charged),
            Resolution::Refund(RefundReason::NoLongerPaying)
        );
    }
}

#[test]
fn a_charge_of_another_amount_is_refunded_not_ordered() {
    let mut wrong = report(Source::Webhook, ProviderStatus::Succeeded);
    wrong.amount = 1;
    let mut model = Model::paying();
    assert_eq!(
        model.apply(&wrong),
        Resolution::Refund(RefundReason::WrongAmount)
    );
    wrong.currency = "USD".into();
    wrong.amount = 1_000;
    assert_eq!(model.apply(&wrong), Resolution::Ignore);
    assert_eq!(model.orders, 0);
}

#[test]
fn tokens_are_plain_and_card_numbers_are_refused_without_being_echoed() {
    assert!(PaymentToken::parse("tok_1a2B-c_3").is_ok());
    for bad in [
        "",
        "tok 1",
        "tok_é",
        "<script>",
        &"t".repeat(MAX_TOKEN_LEN + 1),
    ] {
        assert_eq!(
            PaymentToken::parse(bad).unwrap_err().code,
            ErrorCode::ValidationFailed
        );
    }
    for card in [
        "4242424242424242",
        "4242 4242 4242 4242",
        "4242-4242-4242-4242",
        "378282246310005",
    ] {
        let refused = PaymentToken::parse(card).unwrap_err();
        assert_eq!(refused.code, ErrorCode::ValidationFailed);
        assert!(!refused.message.contains("4242"), "{refused:?}");
    }
}

#[test]
fn card_numbers_are_masked_and_nothing_else() {
    let masked = |t: &str| mask_card_numbers(t);
    assert_eq!(
        masked("invalid type: integer `4000056655665556`"),
        format!("invalid type: integer `{MASK}`")
    );
    assert_eq!(
        masked("4242 4242 4242 4242 and 378282246310005"),
        format!("{MASK} and {MASK}")
    );
    assert_eq!(masked("code 4000-0566-5566-5556."), format!("code {MASK}."));
    assert_eq!(
        masked("/api/v1/checkouts/4000056655665556?card=4242424242424242"),
        format!("/api/v1/checkouts/{MASK}?card={MASK}")
    );
    // Glued to letters, negative, dotted, underscored, in a request id: still masked.
    for glued in [
        "-4242424242424242",
        "a4242424242424242",
        "x-4242424242424242",
        "4242_4242_4242_4242",
        "4242.4242.4242.4242",
        "req-4242-4242-4242-4242",
        "id 4242424242424242 1",
        "424242424242424212345678",
    ] {
        assert!(
            !masked(glued).contains("4242424242"),
            "{glued}: {}",
            masked(glued)
        );
    }
    for kept in [
        "CO-05122026-000042",
        "checkout 01a2459d-c0b5-7564-9636-834b6de6c377",
        "12345678901",
        "$1,234.56 for 3 items",
        "request 1733400000000",
        "évènement 2026-12-05",
    ] {
        assert_eq!(masked(kept), kept);
    }
    assert!(PaymentToken::parse("tok_4242424242424242").is_err());
    // Hex tokens hold long digit runs glued to letters: taken, whatever they hold.
    assert!(PaymentToken::parse("tok_01a245b5a3927250b4242424242424242c6927").is_ok());
    assert!(PaymentToken::parse("tok_0a4242424242424242").is_ok());
    assert!(PaymentToken::parse("4242_4242_4242_4242").is_err());
    assert!(PaymentToken::parse("-4242_4242_4242_4242").is_err());
    assert!(PaymentToken::parse("tok_1NabCDefGhij42").is_ok());
}

/// `body` with the Luhn check digit appended (a card number's shape).
pub(super) fn with_check_digit(body: &str) -> String {
    (0..10)
        .map(|d| format!("{body}{d}"))
        .find(|n| crate::card::luhn(n.as_bytes()))
        .unwrap_or_default()
}

fn any_status() -> impl Strategy<Value = ProviderStatus> {
    prop_oneof![
        Just(ProviderStatus::RequiresConfirmation),
        Just(ProviderStatus::RequiresAction),
        Just(ProviderStatus::Processing),
        Just(ProviderStatus::Succeeded),
        Just(ProviderStatus::Failed),
        Just(ProviderStatus::Canceled),
        Just(ProviderStatus::NotFound),
        Just(ProviderStatus::Unreachable),
    ]
}

fn any_source() -> impl Strategy<Value = Source> {
    prop_oneof![
        Just(Source::Answer),
        Just(Source::Webhook),
        Just(Source::Reconciliation),
        Just(Source::Shopper)
    ]
}

proptest! {
    /// A token the way providers make them (a prefix, then random hex or base62) is
    /// never refused as a card number.
    #[test]
    fn random_tokens_are_taken(hex in "[0-9a-f]{24,40}", base62 in "[0-9A-Za-z]{24}") {
        let (hex, base62) = (format!("tok_{hex}"), format!("tok_{base62}"));
        prop_assert!(PaymentToken::parse(&hex).is_ok(), "{}", hex);
        prop_assert!(PaymentToken::parse(&base62).is_ok(), "{}", base62);
    }


    /// Whatever surrounds it, a card number standing apart is masked (and any text is
    /// taken without a panic).
    #[test]
    fn masking_any_text(text in "\\PC{0,60}", body in "[0-9]{12,18}") {
        let card = with_check_digit(&body);
        let with = format!("{text} {card} {text}");
        let masked = mask_card_numbers(&with);
        prop_assert!(!masked.contains(&card));
    }


    /// Whatever reports arrive, about a payment that did take the money: at most one
    /// order, at most one refund, never both, and once its `succeeded` is reported the
    /// money is accounted for (ordered or refunded).
    #[test]
    fn any_sequence_of_reports_orders_or_refunds_a_charge_exactly_once(
        reports in proptest::collection::vec((any_source(), any_status()), 0..12),
        charged_at in 0usize..12,
    ) {
        let mut model = Model::paying();
        let mut charged = false;
        for (i, (source, status)) in reports.iter().enumerate() {
            // A charged payment is never reported failed or not found afterwards.
            let status = if charged && matches!(status, ProviderStatus::Failed
                | ProviderStatus::Canceled | ProviderStatus::NotFound
                | ProviderStatus::RequiresConfirmation | ProviderStatus::RequiresAction) {
                ProviderStatus::Processing
            } else {
                *status
            };
            if i == charged_at {
                charged = true;
                model.apply(&report(*source, ProviderStatus::Succeeded));
            }
            model.apply(&report(*source, status));
            if status == ProviderStatus::Succeeded {
                charged = true;
            }
        }
        prop_assert!(model.orders <= 1 && model.refunds <= 1);
        prop_assert!(model.orders + model.refunds <= 1);
        if charged {
            prop_assert_eq!(model.orders + model.refunds, 1);
        }
        if model.orders == 1 {
            prop_assert_eq!(model.status, SessionStatus::Completed(Completion::Paid));
        }
    }
}

#[test]
fn without_a_checkout_a_charge_goes_back_once_and_a_watch_ends_when_the_provider_knows() {
    let charged = report(Source::Webhook, ProviderStatus::Succeeded);
    assert_eq!(
        resolve_without_checkout(&charged, false),
        Resolution::Refund(RefundReason::UnknownCheckout)
    );
    assert_eq!(resolve_without_checkout(&charged, true), Resolution::Ignore);
    let failed = report(Source::Webhook, ProviderStatus::Failed);
    assert_eq!(resolve_without_checkout(&failed, false), Resolution::Ignore);
    assert!(watched_after_release(ProviderStatus::NotFound));
    assert!(!watched_after_release(ProviderStatus::Failed));
    assert!(!watch_ends(None));
    assert!(!watch_ends(Some(ProviderStatus::Processing)));
    assert!(watch_ends(Some(ProviderStatus::Succeeded)));
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    assert_eq!(next_try(true, 1, now, now), None, "a refusal is final");
    assert!(next_try(false, 1, now, now).is_some());
    assert_eq!(
        next_try(false, 1, now - chrono::Duration::hours(73), now),
        None
    );
}

/// The separators a security probe got past the log's masking: a GET form's `+`,
/// commas, slashes, colons, tabs, double spaces, dashes of every width, no-break
/// spaces; one rule for problems, logs, reasons and names.
#[test]
fn card_numbers_are_masked_whatever_sets_their_groups_apart() {
    for sep in [
        " ", "+", ",", "/", ":", "\t", "  ", "\u{2013}", "\u{2014}", " - ", "\u{a0}", ", ", "_",
        ".",
    ] {
        let card = ["4242", "4242", "4242", "4242"].join(sep);
        let text = format!("reason: card {card} was used");
        let masked = mask_card_numbers(&text);
        assert!(!masked.contains("4242"), "{sep:?}: {masked}");
        assert!(holds_standalone_card_number(&text), "{sep:?}");
        let amex = ["3782", "822463", "10005"].join(sep);
        assert!(!mask_card_numbers(&amex).contains("822463"), "{sep:?}");
    }
    // Dates, times and prices in a log line are not card numbers.
    for plain in [
        "2026-12-06T15:23:42.123Z GET /api/v1/orders/42 200 1.25 ms",
        "total 19,99 EUR, 3 items, 12:30",
    ] {
        assert_eq!(mask_card_numbers(plain), plain);
    }
    // Four separators in a row are not one gap.
    let apart = "4242 ,:/ 4242 4242 4242";
    assert!(mask_card_numbers(apart).contains("4242 ,:/"));
}
