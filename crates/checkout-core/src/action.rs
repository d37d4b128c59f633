//! What a viewer wants to do with a checkout, and what each order action leads to.

use crate::lifecycle::{Completion, Transition};

/// What the viewer wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Show the checkout page (load, refresh, back/forward, tab switch).
    View,
    /// Resume through a recovery token.
    Resume,
    /// "Place Order".
    PlaceOrder,
    /// "Pay Now and Submit".
    Pay,
    /// "Submit for Approval".
    SubmitForApproval,
    /// Choose or change the shipping method.
    SelectShipping,
    /// Choose or change the payment method.
    SelectPayment,
    /// Apply a voucher code.
    ApplyVoucher,
    /// Remove a line from the order summary.
    RemoveItem,
}

serde_by_name!(Action, "action");

impl Action {
    /// Every action.
    pub const ALL: [Action; 9] = [
        Action::View,
        Action::Resume,
        Action::PlaceOrder,
        Action::Pay,
        Action::SubmitForApproval,
        Action::SelectShipping,
        Action::SelectPayment,
        Action::ApplyVoucher,
        Action::RemoveItem,
    ];

    /// The action's wire name (`"place_order"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::Resume => "resume",
            Action::PlaceOrder => "place_order",
            Action::Pay => "pay",
            Action::SubmitForApproval => "submit_for_approval",
            Action::SelectShipping => "select_shipping",
            Action::SelectPayment => "select_payment",
            Action::ApplyVoucher => "apply_voucher",
            Action::RemoveItem => "remove_item",
        }
    }

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
        )
    }
}
