//! The stored catalog (`catalogs`): each version of the whole document; the highest is
//! the catalog. Reading the current version is one indexed lookup, so every request
//! can ask whether its cached catalog is still the current one. The admin's changes
//! of the previous release (`catalog_overrides`) are read once, to fold them into the
//! first stored catalog.

use chrono::{DateTime, Utc};

use super::{query, Conn, DbError};
use crate::clock::to_ms;

/// How many versions are kept (older ones are deleted when a new one is stored).
pub const KEPT_VERSIONS: i64 = 20;

/// The current version, if a catalog is stored.
pub async fn current_version(conn: impl Into<Conn<'_>>) -> Result<Option<i64>, DbError> {
    let row = query("SELECT MAX(version) AS v FROM catalogs")
        .fetch_optional(conn)
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<Option<i64>>("v")?,
        None => None,
    })
}

/// The current version and its document, if a catalog is stored.
pub async fn latest(conn: impl Into<Conn<'_>>) -> Result<Option<(i64, String)>, DbError> {
    query("SELECT version, document FROM catalogs ORDER BY version DESC LIMIT 1")
        .fetch_optional(conn)
        .await?
        .map(|r| Ok((r.try_get("version")?, r.try_get("document")?)))
        .transpose()
}

/// The document of `version`, while it is kept.
pub async fn document(conn: impl Into<Conn<'_>>, version: i64) -> Result<Option<String>, DbError> {
    query("SELECT document FROM catalogs WHERE version = $1")
        .bind(version)
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get("document"))
        .transpose()
}

/// Stores `document` as `version`; `false` when that version exists already (another
/// admin or instance stored it first). Versions older than the last
/// [`KEPT_VERSIONS`] are deleted.
pub async fn store(
    conn: impl Into<Conn<'_>>,
    version: i64,
    document: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let mut conn = conn.into();
    let stored = query(
        "INSERT INTO catalogs (version, document, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (version) DO NOTHING",
    )
    .bind(version)
    .bind(document)
    .bind(to_ms(now))
    .execute(&mut conn)
    .await?
        == 1;
    if stored {
        query("DELETE FROM catalogs WHERE version <= $1")
            .bind(version - KEPT_VERSIONS)
            .execute(&mut conn)
            .await?;
    }
    Ok(stored)
}

/// One change the admin made with the previous release: a product's price, maximum or
/// sale, a promotion, voucher or shipping method withdrawn, a shipping price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldOverride {
    /// `product`, `promotion`, `voucher` or `shipping`.
    pub kind: String,
    /// The SKU, promotion id, voucher code or shipping method id.
    pub id: String,
    /// A new price, when changed.
    pub price: Option<i64>,
    /// A new maximum per order, when changed.
    pub max_quantity: Option<i64>,
    /// Whether it is still on sale or offered.
    pub active: bool,
}

/// The previous release's changes (none on a database that never had them).
pub async fn old_overrides(conn: impl Into<Conn<'_>>) -> Result<Vec<OldOverride>, DbError> {
    query("SELECT kind, id, price, max_quantity, active FROM catalog_overrides ORDER BY kind, id")
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok(OldOverride {
                kind: r.try_get("kind")?,
                id: r.try_get("id")?,
                price: r.try_get("price")?,
                max_quantity: r.try_get("max_quantity")?,
                active: r.try_get::<i64>("active")? != 0,
            })
        })
        .collect()
}
