//! Cart lines: `(shopper, sku) → quantity`, in the order they were first added. Which
//! quantities are allowed is the core's (`checkout_core::cart`).

use chrono::{DateTime, Utc};

use super::{query, Conn, DbError};
use crate::clock::to_ms;

/// The shopper's cart: `(sku, quantity)` in the order the lines were added.
pub async fn lines(
    conn: impl Into<Conn<'_>>,
    user_id: &str,
) -> Result<Vec<(String, u32)>, DbError> {
    query("SELECT sku, quantity FROM cart_items WHERE user_id = $1 ORDER BY added_at, sku")
        .bind(user_id)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            let quantity = u32::try_from(r.try_get::<i64>("quantity")?)
                .map_err(|_| DbError::Corrupt("cart quantity".into()))?;
            Ok((r.try_get("sku")?, quantity))
        })
        .collect()
}

/// The quantity of one line, and how many lines the cart has.
pub async fn line_and_count(
    conn: impl Into<Conn<'_>>,
    user_id: &str,
    sku: &str,
) -> Result<(Option<u32>, usize), DbError> {
    let row = query(
        "SELECT (SELECT quantity FROM cart_items WHERE user_id = $1 AND sku = $2) AS quantity, \
         (SELECT COUNT(*) FROM cart_items WHERE user_id = $1) AS lines",
    )
    .bind(user_id)
    .bind(sku)
    .fetch_one(conn)
    .await?;
    let quantity = row
        .try_get::<Option<i64>>("quantity")?
        .map(|q| u32::try_from(q).map_err(|_| DbError::Corrupt("cart quantity".into())))
        .transpose()?;
    let lines = usize::try_from(row.try_get::<i64>("lines")?).unwrap_or(usize::MAX);
    Ok((quantity, lines))
}

/// Sets a line's quantity, adding the line if it is new.
pub async fn put(
    conn: impl Into<Conn<'_>>,
    user_id: &str,
    sku: &str,
    quantity: u32,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    query(
        "INSERT INTO cart_items (user_id, sku, quantity, added_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, sku) DO UPDATE SET quantity = excluded.quantity",
    )
    .bind(user_id)
    .bind(sku)
    .bind(i64::from(quantity))
    .bind(to_ms(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets the quantity of an existing line; returns whether the line exists.
pub async fn set_quantity(
    conn: impl Into<Conn<'_>>,
    user_id: &str,
    sku: &str,
    quantity: u32,
) -> Result<bool, DbError> {
    let done = query("UPDATE cart_items SET quantity = $3 WHERE user_id = $1 AND sku = $2")
        .bind(user_id)
        .bind(sku)
        .bind(i64::from(quantity))
        .execute(conn)
        .await?;
    Ok(done == 1)
}

/// Removes a line (nothing if it is not there).
pub async fn remove(conn: impl Into<Conn<'_>>, user_id: &str, sku: &str) -> Result<(), DbError> {
    query("DELETE FROM cart_items WHERE user_id = $1 AND sku = $2")
        .bind(user_id)
        .bind(sku)
        .execute(conn)
        .await?;
    Ok(())
}
