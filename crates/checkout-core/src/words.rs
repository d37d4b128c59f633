//! What the storefront tells the shopper in the situations the rules define but no
//! verdict or problem carries: while an order action is on its way, when the shop or the
//! payment provider cannot be reached, while a choice is being saved. The words are
//! here, next to the rules they describe, so that a page never claims more than the
//! rules guarantee (a page of its own once said "nothing was charged" where a late charge
//! may still come and be refunded). The browser gets them through the wasm module's
//! `shopperText(situation)`; verdicts and problems carry their own `message`.

wire_enum! {
    /// A situation the page describes to the shopper, by its wire name (`shopperText`).
    pub enum Situation as "situation the page describes", in TypeScript "ShopperSituation" {
        /// The shop did not answer (a 5xx, a 429, a proxy's page, no connection): the
        /// checkout and any order action in flight are kept, and asked again by themselves.
        Outage = "outage",
        /// A payment is being confirmed with the bank (`PAYMENT_PENDING`): one steady word.
        ConfirmingPayment = "confirming_payment",
        /// The provider sent the shopper to their bank (3-D Secure): the page leaves.
        LeavingForBank = "leaving_for_bank",
        /// An order action was sent and its answer is awaited.
        SendingOrder = "sending_order",
        /// An order action sent before a reload or a lost connection is sent again with
        /// its key: the same order, never a second.
        ResumingOrder = "resuming_order",
        /// The server is still working on the order action (it answered "in progress").
        OrderStillRunning = "order_still_running",
        /// No answer to an order action yet; it is kept and sent again with its key.
        ConnectionLost = "connection_lost",
        /// A choice (address, shipping, payment, voucher) is on its way to the shop.
        Saving = "saving",
        /// The shop took the choice.
        Saved = "saved",
        /// The choice did not reach the shop: the page shows the one the shop has.
        NotSaved = "not_saved",
        /// The card could not be handed to the payment provider (before any payment was
        /// made: no payment exists that could charge).
        ProviderUnreachable = "provider_unreachable",
        /// The payment provider refused the card number itself (before any payment).
        CardNotAccepted = "card_not_accepted",
        /// The checkout cannot be used any more and the refusal carried no words of its own.
        CheckoutUnusable = "checkout_unusable",
        /// The browser's storage is unavailable: recovery after a refresh is off.
        StorageUnavailable = "storage_unavailable",
        /// The summary changed since the shopper confirmed it (`SNAPSHOT_MISMATCH`): the
        /// changes follow.
        SummaryChanged = "summary_changed",
        /// A checkout brought back by a recovery link, with what changed since: the
        /// changes follow.
        WelcomeBack = "welcome_back",
        /// The shop took the shipping address (what it changed follows, if anything).
        AddressSaved = "address_saved",
        /// The button beside [`NotSaved`](Self::NotSaved) that sends the choice again.
        TryAgain = "try_again",
        /// Something went wrong that no rule describes (a refusal without words).
        Unexpected = "unexpected",
    }
}

impl Situation {
    /// The words, in plain language: what happened, what is kept, what to do.
    pub fn text(self) -> &'static str {
        match self {
            Situation::Outage => {
                "The shop is briefly unreachable. Your checkout is kept and nothing was lost; \
                 we will try again by ourselves."
            }
            Situation::ConfirmingPayment => {
                "Confirming your payment with the bank — this can take up to a minute. \
                 Please don't pay again."
            }
            Situation::LeavingForBank => "Taking you to your bank to confirm the payment…",
            Situation::SendingOrder => "Sending your order…",
            Situation::ResumingOrder => "Finishing the order you already sent…",
            Situation::OrderStillRunning => "Your order is being finished. Please wait.",
            Situation::ConnectionLost => {
                "No answer from the shop yet. Your order is kept and sent again by itself \
                 — never twice."
            }
            Situation::Saving => "Saving…",
            Situation::Saved => "Saved.",
            Situation::NotSaved => {
                "Not saved: the shop could not be reached. The choice shown is the one the \
                 shop has. Please try again."
            }
            Situation::ProviderUnreachable => {
                "The payment provider cannot be reached, so no payment was started. Please \
                 try again."
            }
            Situation::CardNotAccepted => {
                "The card number was not accepted, so no payment was started. Please check it."
            }
            Situation::CheckoutUnusable => "This checkout can no longer be used.",
            Situation::StorageUnavailable => {
                "Recovery after a refresh is off (browser storage unavailable); checkout \
                 still works."
            }
            Situation::SummaryChanged => {
                "Your order summary changed (perhaps in another tab). Please check it:"
            }
            Situation::WelcomeBack => "Welcome back. A few things changed since you left:",
            Situation::AddressSaved => "Address saved.",
            Situation::TryAgain => "Try again",
            Situation::Unexpected => "Something went wrong. Please try again.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_situation_has_its_own_name_and_words() {
        let mut names = std::collections::HashSet::new();
        for s in Situation::ALL {
            assert!(names.insert(s.as_str()), "{s:?}: name used twice");
            assert_eq!(Situation::from_name(s.as_str()), Some(s));
            assert!(s.text().len() > 5, "{s:?}");
            assert!(
                !s.text().contains("  "),
                "{s:?}: a line break left two spaces"
            );
        }
        assert_eq!(Situation::from_name("OUTAGE"), None);
        assert_eq!(Situation::from_name(""), None);
    }

    #[test]
    fn no_words_claim_that_nothing_was_charged() {
        // Only a payment that was never started can promise that; where one may have
        // been, the core's release messages say a late charge is refunded.
        for s in Situation::ALL {
            assert!(
                !s.text().to_lowercase().contains("nothing was charged"),
                "{s:?}"
            );
        }
    }
}
