//! A provider that cannot be reached (CONTRACT §13, §22): the checkout waiting for its
//! payment is released once reconciliation asks after the pending bound, never before,
//! and a charge that turns up later is given back once.

use checkout_core::{
    payment::{
        release_message, resolve, watched_after_release, ActionWindow, ProviderStatus,
        RefundReason, Report, Resolution, Source, Standing,
    },
    SessionStatus,
};

const KEY: &str = "pay_1";

fn report(source: Source, status: ProviderStatus) -> Report {
    Report {
        source,
        payment_key: KEY.into(),
        status,
        amount: 1_000,
        currency: "EUR".into(),
    }
}

fn paying(status: SessionStatus) -> Standing<'static> {
    Standing {
        status,
        waiting_for: (status == SessionStatus::PaymentPending).then_some(KEY),
        total: (1_000, "EUR"),
        ordered_by_this_payment: false,
        refund_recorded: false,
        action: ActionWindow::None,
    }
}

#[test]
fn an_unreachable_provider_releases_the_checkout_only_at_reconciliation() {
    let waiting = paying(SessionStatus::PaymentPending);
    let down = |source| report(source, ProviderStatus::Unreachable);
    assert_eq!(resolve(&waiting, &down(Source::Answer)), Resolution::Wait);
    assert_eq!(resolve(&waiting, &down(Source::Webhook)), Resolution::Wait);
    assert_eq!(
        resolve(&waiting, &down(Source::Reconciliation)),
        Resolution::ReleaseUnpaid
    );
    assert!(watched_after_release(ProviderStatus::Unreachable));
    assert!(release_message(ProviderStatus::Unreachable).contains("cannot be reached"));
    // Released (active again), the provider comes back: it had charged after all.
    let released = paying(SessionStatus::Active);
    let late = report(Source::Reconciliation, ProviderStatus::Succeeded);
    assert_eq!(
        resolve(&released, &late),
        Resolution::Refund(RefundReason::NoLongerPaying)
    );
    let refunded = Standing {
        refund_recorded: true,
        ..released
    };
    assert_eq!(resolve(&refunded, &late), Resolution::Ignore);
    // An outage after the order changes nothing.
    let ordered = Standing {
        ordered_by_this_payment: true,
        ..paying(SessionStatus::Active)
    };
    assert_eq!(
        resolve(&ordered, &down(Source::Reconciliation)),
        Resolution::Ignore
    );
    assert_eq!(
        ProviderStatus::parse("unreachable"),
        None,
        "never a provider's word"
    );
}
