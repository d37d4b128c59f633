//! What each order action needs (CONTRACT §5a, §18): every order action needs a
//! shipping address and a shipping method; **Pay Now and Submit** needs the payment method `card` and a payment token and
//! is the only action that charges; **Place Order** takes a deferred method (such as
//! `invoice`) and refuses `card`; **Submit for Approval** needs only the shipping method,
//! since payment follows approval.
//!
//! The server refuses with [`check`] before an order action, and the browser module
//! disables the buttons [`check`] would refuse, so a shopper can never press a button
//! the server is going to refuse and the two never disagree.

use crate::{
    error::{ErrorCode, Rejection},
    verdict::Action,
};

/// The id of the payment method that charges a card at once (Pay Now). Every other
/// payment method is deferred: the order is placed and paid later (invoice, approval).
pub const CARD: &str = "card";

pub use crate::detail::Missing;

/// What an order action is judged on: the selections of the snapshot, and whether the
/// request carries a payment token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Choices<'a> {
    /// Whether a shipping address is given.
    pub shipping_address: bool,
    /// The selected shipping method's id.
    pub shipping_method: Option<&'a str>,
    /// The selected payment method's id.
    pub payment_method: Option<&'a str>,
    /// Whether a non-blank payment token comes with the request.
    pub payment_token: bool,
}

impl<'a> Choices<'a> {
    /// What the order-action rules judge in `snapshot`: its shipping and payment
    /// selections, with whether a payment token comes along.
    pub fn of(snapshot: &'a crate::snapshot::Snapshot, payment_token: bool) -> Choices<'a> {
        Choices {
            shipping_address: snapshot.shipping_address.is_some(),
            shipping_method: snapshot.shipping_method.as_ref().map(|m| m.id.as_str()),
            payment_method: snapshot.payment_method.as_ref().map(|m| m.id.as_str()),
            payment_token,
        }
    }
}

/// Everything `action` still needs, in the order a shopper would fix them (empty when
/// nothing is missing, and always empty for an action that places no order).
pub fn missing(action: Action, choices: Choices<'_>) -> Vec<Missing> {
    let mut missing = Vec::new();
    if !action.places_order() {
        return missing;
    }
    if !choices.shipping_address {
        missing.push(Missing::ShippingAddress);
    }
    if choices.shipping_method.is_none() {
        missing.push(Missing::ShippingMethod);
    }
    let card = choices.payment_method == Some(CARD);
    match action {
        Action::Pay => {
            if !card {
                missing.push(Missing::PaymentMethod);
            }
            if !choices.payment_token {
                missing.push(Missing::PaymentToken);
            }
        }
        Action::PlaceOrder if choices.payment_method.is_none() || card => {
            missing.push(Missing::PaymentMethod);
        }
        _ => {}
    }
    missing
}

/// Whether `action` may go ahead with these choices; when not, a `VALIDATION_FAILED`
/// rejection whose message says what to choose and whose `missing` lists it.
pub fn check(action: Action, choices: Choices<'_>) -> Result<(), Rejection> {
    let missing = missing(action, choices);
    if missing.is_empty() {
        return Ok(());
    }
    let mut rejection = Rejection::with_message(
        ErrorCode::ValidationFailed,
        message(action, choices, &missing),
    );
    rejection.missing = missing;
    Err(rejection)
}

/// The shopper's words for what is missing.
fn message(action: Action, choices: Choices<'_>, missing: &[Missing]) -> String {
    let card = choices.payment_method == Some(CARD);
    if action == Action::PlaceOrder && card {
        return "Card payments are made with Pay Now. Use Pay Now, or choose a payment method such as Invoice to place the order.".to_owned();
    }
    if action == Action::Pay && choices.payment_method.is_some() && !card {
        return "Pay Now charges a card. Choose Card to pay now, or use Place Order for the method you chose.".to_owned();
    }
    let what: Vec<&str> = missing
        .iter()
        .filter_map(|m| match m {
            Missing::ShippingAddress => None,
            Missing::ShippingMethod => Some("a shipping method"),
            Missing::PaymentMethod if action == Action::Pay => Some("Card as the payment method"),
            Missing::PaymentMethod => Some("a payment method"),
            Missing::PaymentToken => Some("your card details"),
        })
        .collect();
    // "a, b and c", written out (`join` linked a kilobyte into the browser module).
    let mut list = String::new();
    for (at, item) in what.iter().enumerate() {
        if at > 0 {
            list.push_str(if at + 1 == what.len() { " and " } else { ", " });
        }
        list.push_str(item);
    }
    let address = missing.contains(&Missing::ShippingAddress);
    let ask = match (address, list.is_empty()) {
        (true, true) => "Give a shipping address".to_owned(),
        (true, false) => format!("Give a shipping address and choose {list}"),
        _ => format!("Choose {list}"),
    };
    let verb = match action {
        Action::Pay => "pay",
        Action::SubmitForApproval => "submit the order for approval",
        _ => "place the order",
    };
    format!("{ask} to {verb}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choices(
        shipping: Option<&'static str>,
        payment: Option<&'static str>,
        token: bool,
    ) -> Choices<'static> {
        Choices {
            shipping_address: true,
            shipping_method: shipping,
            payment_method: payment,
            payment_token: token,
        }
    }

    #[test]
    fn every_order_action_needs_a_shipping_address_first() {
        for (action, payment, token) in [
            (Action::PlaceOrder, Some("invoice"), false),
            (Action::Pay, Some(CARD), true),
            (Action::SubmitForApproval, None, false),
        ] {
            let mut without = choices(Some("standard"), payment, token);
            without.shipping_address = false;
            let refused = check(action, without).unwrap_err();
            assert_eq!(
                refused.missing,
                vec![Missing::ShippingAddress],
                "{action:?}"
            );
            assert!(
                refused.message.contains("a shipping address"),
                "{}",
                refused.message
            );
        }
        let none = missing(Action::PlaceOrder, Choices::default());
        assert_eq!(
            none[..2],
            [Missing::ShippingAddress, Missing::ShippingMethod]
        );
    }

    #[test]
    fn every_order_action_needs_a_shipping_method() {
        for (action, payment, token) in [
            (Action::PlaceOrder, Some("invoice"), false),
            (Action::Pay, Some(CARD), true),
            (Action::SubmitForApproval, None, false),
        ] {
            let refused = check(action, choices(None, payment, token)).unwrap_err();
            assert_eq!(refused.code, ErrorCode::ValidationFailed);
            assert_eq!(refused.missing, vec![Missing::ShippingMethod], "{action:?}");
            assert!(
                refused.message.contains("shipping method"),
                "{}",
                refused.message
            );
            assert!(check(action, choices(Some("standard"), payment, token)).is_ok());
        }
    }

    #[test]
    fn pay_now_needs_card_and_a_token_and_refuses_invoice() {
        let refused = check(
            Action::Pay,
            choices(Some("standard"), Some("invoice"), true),
        )
        .unwrap_err();
        assert_eq!(refused.missing, vec![Missing::PaymentMethod]);
        assert!(
            refused.message.contains("Choose Card"),
            "{}",
            refused.message
        );
        let refused = check(Action::Pay, choices(Some("standard"), Some(CARD), false)).unwrap_err();
        assert_eq!(refused.missing, vec![Missing::PaymentToken]);
        let refused = check(Action::Pay, choices(None, None, false)).unwrap_err();
        assert_eq!(
            refused.missing,
            vec![
                Missing::ShippingMethod,
                Missing::PaymentMethod,
                Missing::PaymentToken
            ]
        );
        assert_eq!(
            refused.message,
            "Choose a shipping method, Card as the payment method and your card details to pay."
        );
    }

    #[test]
    fn place_order_takes_a_deferred_method_and_points_card_to_pay_now() {
        let refused = check(
            Action::PlaceOrder,
            choices(Some("standard"), Some(CARD), true),
        )
        .unwrap_err();
        assert_eq!(refused.missing, vec![Missing::PaymentMethod]);
        assert!(refused.message.contains("Pay Now"), "{}", refused.message);
        let refused =
            check(Action::PlaceOrder, choices(Some("standard"), None, false)).unwrap_err();
        assert_eq!(refused.missing, vec![Missing::PaymentMethod]);
        assert_eq!(
            refused.message,
            "Choose a payment method to place the order."
        );
        assert!(check(
            Action::PlaceOrder,
            choices(Some("standard"), Some("invoice"), false)
        )
        .is_ok());
    }

    #[test]
    fn approval_needs_no_payment_and_other_actions_need_nothing() {
        assert!(check(
            Action::SubmitForApproval,
            choices(Some("standard"), None, false)
        )
        .is_ok());
        assert!(check(
            Action::SubmitForApproval,
            choices(Some("standard"), Some(CARD), false)
        )
        .is_ok());
        for action in Action::ALL.into_iter().filter(|a| !a.places_order()) {
            assert!(missing(action, Choices::default()).is_empty(), "{action:?}");
        }
    }

    #[test]
    fn the_missing_list_travels_in_the_problem() {
        let refused = check(Action::PlaceOrder, Choices::default()).unwrap_err();
        let problem = serde_json::to_value(refused.to_problem()).unwrap();
        assert_eq!(problem["code"], "VALIDATION_FAILED");
        assert_eq!(
            problem["missing"],
            serde_json::json!(["shipping_address", "shipping_method", "payment_method"])
        );
        let plain =
            serde_json::to_value(Rejection::new(ErrorCode::CartEmpty).to_problem()).unwrap();
        assert!(plain.get("missing").is_none(), "{plain}");
    }
}
