//! What a viewer wants to do with a checkout, and what each order action leads to.

use crate::lifecycle::{Completion, Transition};

wire_enum! {
    /// What the viewer wants to do.
    pub enum Action as "action", in TypeScript "CheckoutAction" {
        /// Show the checkout page (load, refresh, back/forward, tab switch).
        View = "view",
        /// Resume through a recovery token.
        Resume = "resume",
        /// "Place Order".
        PlaceOrder = "place_order",
        /// "Pay Now and Submit".
        Pay = "pay",
        /// "Submit for Approval".
        SubmitForApproval = "submit_for_approval",
        /// Choose or change the shipping method.
        SelectShipping = "select_shipping",
        /// Choose or change the payment method.
        SelectPayment = "select_payment",
        /// Apply a voucher code.
        ApplyVoucher = "apply_voucher",
        /// Remove a line from the order summary.
        RemoveItem = "remove_item",
        /// Give or change the shipping or billing address.
        SetAddress = "set_address",
    }
}

impl Action {
    /// The actions that create an order: the digest the shopper saw is mandatory.
    pub fn places_order(self) -> bool {
        matches!(
            self,
            Action::PlaceOrder | Action::Pay | Action::SubmitForApproval
        )
    }

    /// The last path segment of an order action's endpoint
    /// (`POST /api/v1/checkouts/{id}/<segment>`), shared by the server's routes and the
    /// browser module's requests.
    pub fn order_segment(self) -> Option<&'static str> {
        match self {
            Action::PlaceOrder => Some("place-order"),
            Action::Pay => Some("pay"),
            Action::SubmitForApproval => Some("submit-for-approval"),
            _ => None,
        }
    }

    /// What an order action does to the session when it succeeds: the transition into
    /// `COMPLETED` and the completion it records (`None` for other actions). Pay reaches
    /// it from `PAYMENT_PENDING`, the others from `ACTIVE`.
    pub fn completion(self) -> Option<(Transition, Completion)> {
        match self {
            Action::PlaceOrder => Some((Transition::PlaceOrder, Completion::OrderPlaced)),
            Action::Pay => Some((Transition::CompletePayment, Completion::Paid)),
            Action::SubmitForApproval => Some((
                Transition::SubmitForApproval,
                Completion::SubmittedForApproval,
            )),
            _ => None,
        }
    }

    /// The actions that change the checkout without creating an order.
    pub fn modifies(self) -> bool {
        matches!(
            self,
            Action::SelectShipping
                | Action::SelectPayment
                | Action::ApplyVoucher
                | Action::RemoveItem
                | Action::SetAddress
        )
    }
}
