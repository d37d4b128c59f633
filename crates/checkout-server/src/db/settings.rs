//! The shop's settings rows: the "Checkout Session Settings" group and the `Checkout`
//! order class. What a valid value is, is the core's (`CheckoutSettings`, `OrderClass`).

use checkout_core::{numbering::OrderClass, settings::CheckoutSettings};
use chrono::{DateTime, Utc};

use super::{query, Conn, DbError};
use crate::clock::to_ms;

/// The settings as stored.
pub async fn load(conn: impl Into<Conn<'_>>) -> Result<CheckoutSettings, DbError> {
    let row = query("SELECT enabled, timeout_minutes FROM settings WHERE id = 1")
        .fetch_one(conn)
        .await?;
    let minutes: i64 = row.try_get("timeout_minutes")?;
    Ok(CheckoutSettings {
        enabled: row.try_get::<i64>("enabled")? != 0,
        timeout_minutes: CheckoutSettings::validate_timeout(minutes)
            .map_err(|_| DbError::Corrupt("checkout timeout".into()))?,
    })
}

/// Stores new settings.
pub async fn save(
    conn: impl Into<Conn<'_>>,
    settings: &CheckoutSettings,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    query("UPDATE settings SET enabled = $1, timeout_minutes = $2, updated_at = $3 WHERE id = 1")
        .bind(i64::from(settings.enabled))
        .bind(i64::from(settings.timeout_minutes))
        .bind(to_ms(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// The `Checkout` order class as stored.
pub async fn order_class(conn: impl Into<Conn<'_>>) -> Result<OrderClass, DbError> {
    let row = query(
        "SELECT format, digit_length, next_number, time_zone FROM order_classes WHERE name = 'checkout'",
    )
    .fetch_one(conn)
    .await?;
    Ok(OrderClass {
        format: row.try_get("format")?,
        digit_length: u8::try_from(row.try_get::<i64>("digit_length")?)
            .map_err(|_| DbError::Corrupt("order class digit length".into()))?,
        next_number: row.try_get("next_number")?,
        time_zone: row.try_get("time_zone")?,
    })
}

/// Stores an edited order class, unless checkouts started meanwhile took numbers past
/// its `next_number` (the number only moves forward). Returns whether it was stored.
pub async fn save_order_class(
    conn: impl Into<Conn<'_>>,
    class: &OrderClass,
) -> Result<bool, DbError> {
    let done = query(
        "UPDATE order_classes SET format = $1, digit_length = $2, next_number = $3, time_zone = $4 \
         WHERE name = 'checkout' AND next_number <= $3",
    )
    .bind(&class.format)
    .bind(i64::from(class.digit_length))
    .bind(class.next_number)
    .bind(&class.time_zone)
    .execute(conn)
    .await?;
    Ok(done == 1)
}
