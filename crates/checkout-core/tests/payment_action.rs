//! Payments that need the shopper (CONTRACT §20): every ordering of the shopper's
//! return, the webhook, reconciliation and the action timeout — with the challenge
//! approved, failed or abandoned, the first answer lost or not, the provider reachable
//! at the timeout or not — gives one order and one charge, or no charge and a release.
//! Driven only by `payment::resolve`, against a model of a provider.

use checkout_core::{
    lifecycle::Completion,
    payment::{
        action_release_message, resolve, ActionWindow, ProviderStatus, RefundReason, Report,
        Resolution, Source, Standing,
    },
    SessionStatus,
};

const KEY: &str = "pay_1";

/// The provider's side of one payment that asked for 3-D Secure.
#[derive(Debug, Clone)]
struct Provider {
    status: ProviderStatus,
    reachable: bool,
}

impl Provider {
    /// What a lookup (or a webhook made now) says.
    fn says(&self) -> ProviderStatus {
        if self.reachable {
            self.status
        } else {
            ProviderStatus::Unreachable
        }
    }

    /// The shopper clicks on the challenge page: only a payment still waiting changes.
    fn finish(&mut self, approved: bool) {
        if self.status == ProviderStatus::RequiresAction {
            self.status = if approved {
                ProviderStatus::Succeeded
            } else {
                ProviderStatus::Failed
            };
        }
    }

    /// The shop cancels: a payment still waiting is voided; any other stays as it is.
    fn cancel(&mut self) -> ProviderStatus {
        if !self.reachable {
            return ProviderStatus::Unreachable;
        }
        if self.status == ProviderStatus::RequiresAction {
            self.status = ProviderStatus::Canceled;
        }
        self.status
    }
}

/// The shop's side: the checkout and what was done to it.
#[derive(Debug, Clone)]
struct Shop {
    status: SessionStatus,
    waiting: bool,
    action: ActionWindow,
    orders: u32,
    refunds: u32,
    released: u32,
    messages: Vec<&'static str>,
}

impl Shop {
    fn report(&mut self, provider: &mut Provider, source: Source, status: ProviderStatus) {
        let standing = Standing {
            status: self.status,
            waiting_for: self.waiting.then_some(KEY),
            total: (1_000, "EUR"),
            ordered_by_this_payment: self.orders > 0,
            refund_recorded: self.refunds > 0,
            action: self.action,
        };
        let report = Report {
            source,
            payment_key: KEY.into(),
            status,
            amount: 1_000,
            currency: "EUR".into(),
        };
        match resolve(&standing, &report) {
            Resolution::PlaceOrder => {
                self.status = SessionStatus::Completed(Completion::Paid);
                self.waiting = false;
                self.orders += 1;
            }
            Resolution::ReleaseUnpaid => {
                if let Some(message) = action_release_message(status, self.action) {
                    self.messages.push(message);
                }
                self.status = SessionStatus::Active;
                self.waiting = false;
                self.released += 1;
            }
            Resolution::Refund(reason) => {
                assert_eq!(reason, RefundReason::NoLongerPaying);
                self.refunds += 1;
            }
            Resolution::Cancel => {
                let after = provider.cancel();
                self.report(provider, Source::Reconciliation, after);
            }
            Resolution::Wait => {
                // The first word of an action records it (whoever brings it).
                if status == ProviderStatus::RequiresAction && self.action == ActionWindow::None {
                    self.action = ActionWindow::Open;
                }
            }
            Resolution::Ignore => {}
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Event {
    /// The shopper clicks Approve or Fail (or, abandoning, nothing: not in the list).
    Finish,
    /// The provider's webhook, saying what the payment is at that moment.
    Webhook,
    /// The shopper comes back and the page asks the server to look.
    Return,
    /// Reconciliation looks, the action still open.
    Reconcile,
    /// The action's deadline passes and reconciliation looks.
    Timeout,
}

fn permutations(items: &[Event]) -> Vec<Vec<Event>> {
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

fn run(order: &[Event], approved: bool, answer_lost: bool, down_at_timeout: bool) -> (Shop, bool) {
    let mut provider = Provider {
        status: ProviderStatus::RequiresAction,
        reachable: true,
    };
    let mut shop = Shop {
        status: SessionStatus::PaymentPending,
        waiting: true,
        action: ActionWindow::None,
        orders: 0,
        refunds: 0,
        released: 0,
        messages: Vec::new(),
    };
    if !answer_lost {
        shop.report(
            &mut provider,
            Source::Answer,
            ProviderStatus::RequiresAction,
        );
    }
    let timeout = |shop: &mut Shop, provider: &mut Provider| {
        if shop.action == ActionWindow::Open {
            shop.action = ActionWindow::Overdue;
        }
        provider.reachable = !down_at_timeout;
        let says = provider.says();
        shop.report(provider, Source::Reconciliation, says);
        provider.reachable = true;
    };
    for event in order {
        match event {
            Event::Finish => provider.finish(approved),
            Event::Webhook => {
                let says = provider.says();
                shop.report(&mut provider, Source::Webhook, says);
            }
            Event::Return => {
                let says = provider.says();
                shop.report(&mut provider, Source::Shopper, says);
            }
            Event::Reconcile => {
                let says = provider.says();
                shop.report(&mut provider, Source::Reconciliation, says);
            }
            Event::Timeout => timeout(&mut shop, &mut provider),
        }
    }
    // Later: the webhook retried, the watch over a released payment, one more timeout.
    let says = provider.says();
    shop.report(&mut provider, Source::Webhook, says);
    timeout(&mut shop, &mut provider);
    let says = provider.says();
    shop.report(&mut provider, Source::Reconciliation, says);
    (shop, provider.status == ProviderStatus::Succeeded)
}

#[test]
fn every_ordering_gives_one_order_and_one_charge_or_none_and_a_release() {
    let mut runs = 0;
    for finished in [true, false] {
        let events: Vec<Event> = [
            Event::Finish,
            Event::Webhook,
            Event::Return,
            Event::Reconcile,
            Event::Timeout,
        ]
        .into_iter()
        .filter(|e| finished || *e != Event::Finish)
        .collect();
        for order in permutations(&events) {
            for approved in [true, false] {
                for answer_lost in [false, true] {
                    for down in [false, true] {
                        let (shop, charged) = run(&order, approved, answer_lost, down);
                        let case = format!(
                            "{order:?} approved={approved} lost={answer_lost} down={down}: {shop:?}"
                        );
                        runs += 1;
                        assert!(shop.orders <= 1 && shop.refunds <= 1, "{case}");
                        assert!(shop.orders + shop.refunds <= 1, "{case}");
                        if charged {
                            // The money is accounted for: ordered, or — only when the
                            // provider could not be reached to cancel at the timeout
                            // and the shopper approved afterwards — given back.
                            assert_eq!(shop.orders + shop.refunds, 1, "{case}");
                            if shop.refunds == 1 {
                                assert!(down && shop.released == 1, "{case}");
                            }
                        } else {
                            assert_eq!((shop.orders, shop.refunds), (0, 0), "{case}");
                            assert_eq!(shop.released, 1, "{case}");
                            assert_eq!(shop.status, SessionStatus::Active, "{case}");
                        }
                        if shop.orders == 1 {
                            assert_eq!(
                                shop.status,
                                SessionStatus::Completed(Completion::Paid),
                                "{case}"
                            );
                            assert_eq!(shop.released, 0, "{case}");
                        }
                    }
                }
            }
        }
    }
    assert_eq!(runs, (120 + 24) * 8);
}

#[test]
fn the_checkout_waits_for_the_shopper_until_the_deadline_and_no_longer() {
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let deadline = checkout_core::payment::action_deadline(now, 900);
    assert_eq!((deadline - now).num_seconds(), 900);
    // Bounded: not shorter than a minute, not longer than a day.
    assert_eq!(
        (checkout_core::payment::action_deadline(now, 1) - now).num_seconds(),
        60
    );
    assert_eq!(
        (checkout_core::payment::action_deadline(now, u64::MAX) - now).num_seconds(),
        86_400
    );
    assert_eq!(ActionWindow::at(None, now), ActionWindow::None);
    assert_eq!(ActionWindow::at(Some(deadline), now), ActionWindow::Open);
    let just_before = deadline - chrono::Duration::milliseconds(1);
    assert_eq!(
        ActionWindow::at(Some(deadline), just_before),
        ActionWindow::Open
    );
    assert_eq!(
        ActionWindow::at(Some(deadline), deadline),
        ActionWindow::Overdue
    );

    let standing = |action| Standing {
        status: SessionStatus::PaymentPending,
        waiting_for: Some(KEY),
        total: (1_000, "EUR"),
        ordered_by_this_payment: false,
        refund_recorded: false,
        action,
    };
    let report = |source, status| Report {
        source,
        payment_key: KEY.into(),
        status,
        amount: 1_000,
        currency: "EUR".into(),
    };
    let waiting = ProviderStatus::RequiresAction;
    use ActionWindow::{Open, Overdue};
    use ProviderStatus::{Canceled, Failed, NotFound, Succeeded, Unreachable};
    use Source::{Answer, Reconciliation, Shopper, Webhook};
    let mut cases = Vec::new();
    // Waiting for the shopper: every source waits while the action is open; past the
    // deadline reconciliation cancels, and the shopper's own lookup never gives up.
    for source in [Answer, Webhook, Shopper, Reconciliation] {
        cases.push((Open, source, waiting, Resolution::Wait));
    }
    cases.push((Overdue, Reconciliation, waiting, Resolution::Cancel));
    cases.push((Overdue, Shopper, waiting, Resolution::Wait));
    // An outage while the shopper is at their bank releases nothing; after the
    // deadline it does (and the payment stays watched for a late charge).
    for silent in [Unreachable, NotFound] {
        cases.push((Open, Reconciliation, silent, Resolution::Wait));
        cases.push((Overdue, Reconciliation, silent, Resolution::ReleaseUnpaid));
        cases.push((Open, Shopper, silent, Resolution::Wait));
    }
    // Succeeded, failed or cancelled: as for any payment.
    for source in [Webhook, Shopper, Reconciliation] {
        cases.push((Open, source, Succeeded, Resolution::PlaceOrder));
        cases.push((Open, source, Failed, Resolution::ReleaseUnpaid));
        cases.push((Open, source, Canceled, Resolution::ReleaseUnpaid));
    }
    for (window, source, status, expected) in cases {
        assert_eq!(
            resolve(&standing(window), &report(source, status)),
            expected,
            "{window:?}, {source:?}, {status:?}"
        );
    }
    assert_eq!(ProviderStatus::parse("requires_action"), Some(waiting));
    assert_eq!(waiting.as_str(), "requires_action");
}

#[test]
fn the_shopper_is_told_why_in_plain_words() {
    let timed_out =
        action_release_message(ProviderStatus::Canceled, ActionWindow::Overdue).unwrap();
    assert!(
        timed_out.contains("not finished in time") && timed_out.contains("Nothing was charged")
    );
    let failed = action_release_message(ProviderStatus::Failed, ActionWindow::Open).unwrap();
    assert!(failed.contains("your bank did not confirm"));
    let cancelled = action_release_message(ProviderStatus::Canceled, ActionWindow::Open).unwrap();
    assert!(cancelled.contains("nothing was charged"));
    let unreachable =
        action_release_message(ProviderStatus::Unreachable, ActionWindow::Overdue).unwrap();
    assert!(unreachable.contains("refunded by itself"));
    // No action: the plain messages apply.
    assert_eq!(
        action_release_message(ProviderStatus::Failed, ActionWindow::None),
        None
    );
}

#[test]
fn only_web_addresses_are_sent_to_the_browser() {
    use checkout_core::payment::action::{is_web_address, MAX_ACTION_URL};
    for ok in [
        "https://bank.example/3ds?pi=pi_1&secret=abc",
        "http://127.0.0.1:8081/challenge/pi_1",
    ] {
        assert!(is_web_address(ok, MAX_ACTION_URL), "{ok}");
    }
    let long = format!("https://bank.example/{}", "a".repeat(MAX_ACTION_URL));
    for refused in [
        "javascript:alert(1)",
        "data:text/html,<script>",
        "https://user:pass@bank.example/",
        "https:///path",
        "https://bank.example/a b",
        "https://bänk.example/",
        "//bank.example/",
        "",
        long.as_str(),
    ] {
        assert!(!is_web_address(refused, MAX_ACTION_URL), "{refused}");
    }
}

#[test]
fn the_shopper_cancels_only_a_payment_that_waits_for_them() {
    use checkout_core::payment::action::{shopper_may_cancel, voided_on_cancel};
    assert!(shopper_may_cancel(true).is_ok());
    let refused = shopper_may_cancel(false).unwrap_err();
    assert_eq!(refused.code, checkout_core::ErrorCode::PaymentInProgress);
    assert!(voided_on_cancel(ProviderStatus::RequiresAction));
    for decided in [
        ProviderStatus::Succeeded,
        ProviderStatus::Failed,
        ProviderStatus::Canceled,
    ] {
        assert!(
            !voided_on_cancel(decided),
            "{decided:?} is taken as decided"
        );
    }
}
