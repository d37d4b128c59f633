//! The cart's rules: which quantities a line may hold, how many lines a cart may hold,
//! what a line costs, and what an order leaves in the cart. The cart is independent of
//! checkout (CONTRACT §3): editing it never touches a live snapshot.

use crate::{
    error::{ErrorCode, Rejection},
    money::{self, Minor},
    offer::OfferedProduct,
    snapshot::MAX_QUANTITY,
};

/// Most lines a cart holds (a checkout may hold more when the shop prices the cart
/// itself, [`crate::snapshot::MAX_LINES`]).
pub const MAX_CART_LINES: usize = 100;

/// A line's quantity as asked for: 1 to [`MAX_QUANTITY`].
pub fn quantity(asked: i64) -> Result<u32, Rejection> {
    crate::snapshot::line_quantity(asked).ok_or_else(|| {
        Rejection::with_message(
            ErrorCode::ValidationFailed,
            format!("The quantity must be between 1 and {MAX_QUANTITY}."),
        )
    })
}

/// The quantity of a line after adding `added` to it: `existing` is what the line holds
/// (`None`: a new line, in a cart of `lines` lines). A new line beyond [`MAX_CART_LINES`], or
/// a total above [`MAX_QUANTITY`], is refused.
pub fn add(existing: Option<u32>, lines: usize, added: i64) -> Result<u32, Rejection> {
    let added = quantity(added)?;
    if existing.is_none() && lines >= MAX_CART_LINES {
        return Err(Rejection::with_message(
            ErrorCode::ValidationFailed,
            format!("A cart holds at most {MAX_CART_LINES} different items."),
        ));
    }
    quantity(i64::from(existing.unwrap_or(0)) + i64::from(added))
}

/// A line's quantity within what one order may hold of `product` today.
pub fn within_limit(quantity: u32, product: &OfferedProduct) -> Result<u32, Rejection> {
    if quantity > product.limit() {
        return Err(Rejection::with_message(
            ErrorCode::ValidationFailed,
            format!("At most {} × {} per order.", product.limit(), product.name),
        ));
    }
    Ok(quantity)
}

/// What a line costs before promotions: `unit_price × quantity`, refused if it would
/// not fit the money type (never wraps).
pub fn line_subtotal(unit_price: Minor, quantity: u32) -> Result<Minor, Rejection> {
    money::times(unit_price, quantity)
}

/// What an order leaves of a cart line: the line held `in_cart`, the order took
/// `ordered` (the quantity in its snapshot). Quantities added to the cart after the
/// checkout started stay; `None` means the line leaves the cart.
pub fn left_after_order(in_cart: u32, ordered: u32) -> Option<u32> {
    in_cart.checked_sub(ordered).filter(|left| *left > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_stay_within_bounds() {
        assert_eq!(quantity(1).unwrap(), 1);
        assert_eq!(quantity(i64::from(MAX_QUANTITY)).unwrap(), MAX_QUANTITY);
        for bad in [0, -1, i64::from(MAX_QUANTITY) + 1, i64::MAX, i64::MIN] {
            assert_eq!(
                quantity(bad).unwrap_err().code,
                ErrorCode::ValidationFailed,
                "{bad}"
            );
        }
    }

    #[test]
    fn adding_respects_the_line_and_quantity_caps() {
        assert_eq!(add(None, 0, 2).unwrap(), 2);
        assert_eq!(
            add(Some(3), MAX_CART_LINES, 2).unwrap(),
            5,
            "an existing line may grow"
        );
        assert!(
            add(None, MAX_CART_LINES, 1).is_err(),
            "no new line in a full cart"
        );
        assert!(add(Some(MAX_QUANTITY), 1, 1).is_err());
        assert!(add(Some(1), 1, 0).is_err());
    }

    #[test]
    fn a_product_limit_caps_its_line() {
        let product = OfferedProduct {
            sku: "CAKE".into(),
            name: "Cake".into(),
            unit_price: 100,
            tax_class: "food".into(),
            max_quantity: 2,
        };
        assert_eq!(within_limit(2, &product).unwrap(), 2);
        let refused = within_limit(3, &product).unwrap_err();
        assert_eq!(refused.message, "At most 2 × Cake per order.");
    }

    #[test]
    fn line_subtotals_never_wrap() {
        assert_eq!(line_subtotal(250, 4).unwrap(), 1_000);
        assert!(line_subtotal(Minor::MAX / 2, 3).is_err());
    }

    #[test]
    fn an_order_takes_what_it_priced() {
        assert_eq!(left_after_order(2, 2), None);
        assert_eq!(
            left_after_order(5, 2),
            Some(3),
            "added since the checkout began"
        );
        assert_eq!(left_after_order(1, 2), None, "reduced since: the line goes");
    }
}
