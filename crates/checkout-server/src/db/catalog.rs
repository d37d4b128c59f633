//! The admin's changes to the catalog (`catalog_overrides`): read whole, since the
//! table holds at most one row per product, promotion, voucher and shipping method;
//! written one row at a time, a field left out keeping what was stored.

use chrono::{DateTime, Utc};

use super::{query, Conn, DbError};
use crate::{
    catalog::{Override, OverrideKind},
    clock::to_ms,
};

/// Every change the admin made.
pub async fn overrides(conn: impl Into<Conn<'_>>) -> Result<Vec<Override>, DbError> {
    query("SELECT kind, id, price, max_quantity, active FROM catalog_overrides ORDER BY kind, id")
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            let corrupt = || DbError::Corrupt("catalog override".into());
            let kind: String = r.try_get("kind")?;
            Ok(Override {
                kind: OverrideKind::from_name(&kind).ok_or_else(corrupt)?,
                id: r.try_get("id")?,
                price: r.try_get("price")?,
                max_quantity: r
                    .try_get::<Option<i64>>("max_quantity")?
                    .map(|q| u32::try_from(q).map_err(|_| corrupt()))
                    .transpose()?,
                active: r.try_get::<i64>("active")? != 0,
            })
        })
        .collect()
}

/// Stores a change; `None` fields keep what was stored (or the catalog's own value).
pub async fn save(
    conn: impl Into<Conn<'_>>,
    change: &Override,
    active: Option<bool>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    query(
        "INSERT INTO catalog_overrides (kind, id, price, max_quantity, active, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (kind, id) DO UPDATE SET \
         price = COALESCE(excluded.price, catalog_overrides.price), \
         max_quantity = COALESCE(excluded.max_quantity, catalog_overrides.max_quantity), \
         active = CASE WHEN $7 = 1 THEN excluded.active ELSE catalog_overrides.active END, \
         updated_at = excluded.updated_at",
    )
    .bind(change.kind.as_str())
    .bind(&change.id)
    .bind(change.price)
    .bind(change.max_quantity.map(i64::from))
    .bind(i64::from(active.unwrap_or(true)))
    .bind(to_ms(now))
    .bind(i64::from(active.is_some()))
    .execute(conn)
    .await?;
    Ok(())
}
