//! The shop's catalog (CONTRACT §17): a document stored in the database (`db::catalog`),
//! checked by the core (`checkout_core::catalog`), replaced by the admin
//! ([`admin`]) and seeded on the first start ([`seed`]). Every instance keeps the
//! current version in memory ([`CatalogCache`]) and asks the database, in the
//! request's own transaction, whether it is still current: one indexed lookup, so a
//! change is seen by every instance at its next request. `GET /products`
//! ([`products`]) lists what is on sale.

pub mod admin;
pub mod products;
pub mod seed;

use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use checkout_core::{catalog::CatalogDocument, offer::Offer};

use crate::db::{self, Conn, DbError};

/// One version of the catalog, ready to price from.
#[derive(Debug)]
pub struct Catalog {
    /// Its stored version (0: none stored yet).
    pub version: i64,
    /// The document.
    pub document: CatalogDocument,
    /// What is on sale, as pricing reads it.
    pub offer: Offer,
    /// `GET /products`'s body, made once per version.
    pub listing: Bytes,
}

impl Catalog {
    /// Version `version` of `document`.
    pub fn new(version: i64, document: CatalogDocument) -> Catalog {
        let mut offer = document.offer();
        offer.version = Some(version);
        let listing = products::listing(&document);
        Catalog {
            version,
            document,
            offer,
            listing,
        }
    }

    /// A stored document (checked when it was stored).
    pub fn stored(version: i64, text: &str) -> Result<Catalog, DbError> {
        let document: CatalogDocument = serde_json::from_str(text)
            .map_err(|e| DbError::Corrupt(format!("catalog version {version}: {e}")))?;
        Ok(Catalog::new(version, document))
    }
}

/// How many earlier versions an instance keeps in memory for live checkouts.
const EARLIER_HELD: usize = 4;

/// The current catalog of this instance, checked against the database on use.
#[derive(Debug)]
pub struct CatalogCache {
    current: RwLock<Arc<Catalog>>,
    /// A few earlier versions that live checkouts were captured from (most recent last).
    earlier: std::sync::Mutex<Vec<Arc<Catalog>>>,
    /// One reload at a time: the requests that find a new version wait for it.
    reload: tokio::sync::Mutex<()>,
}

impl CatalogCache {
    /// A cache holding `catalog`.
    pub fn new(catalog: Catalog) -> CatalogCache {
        CatalogCache {
            current: RwLock::new(Arc::new(catalog)),
            earlier: std::sync::Mutex::new(Vec::new()),
            reload: tokio::sync::Mutex::new(()),
        }
    }

    /// The catalog in memory (possibly stale: see [`CatalogCache::now`]).
    pub fn cached(&self) -> Arc<Catalog> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Keeps `catalog` when it is newer than the one held.
    pub fn offer_newer(&self, catalog: Arc<Catalog>) {
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        if catalog.version > current.version {
            *current = catalog;
        }
    }

    /// The current catalog as `conn` (the request's transaction, where it has one) sees
    /// it: the cached one while its version is the stored one, else the stored one,
    /// read and kept.
    pub async fn now(&self, conn: impl Into<Conn<'_>>) -> Result<Arc<Catalog>, DbError> {
        let mut conn = conn.into();
        let stored = db::catalog::current_version(&mut conn).await?;
        let cached = self.cached();
        if stored.is_none_or(|v| v == cached.version) {
            return Ok(cached);
        }
        let _one = self.reload.lock().await;
        let cached = self.cached();
        if stored == Some(cached.version) {
            return Ok(cached);
        }
        let Some((version, text)) = db::catalog::latest(&mut conn).await? else {
            return Ok(cached);
        };
        let fresh = Arc::new(Catalog::stored(version, &text)?);
        // A database restored to an older catalog is followed too.
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::clone(&fresh);
        Ok(fresh)
    }

    /// The catalog a live checkout was captured from (`version`; `None` for checkouts
    /// from before catalogs had versions), for changes to it: that version while it is
    /// kept (`db::catalog::KEPT_VERSIONS`), else the current one. The core decides
    /// whether a later version may serve (`Offer::may_change`). With it, the current
    /// catalog, read in the same lookup: `(captured, current)`.
    pub async fn captured(
        &self,
        conn: impl Into<Conn<'_>>,
        version: Option<i64>,
    ) -> Result<(Arc<Catalog>, Arc<Catalog>), DbError> {
        let mut conn = conn.into();
        let current = self.now(&mut conn).await?;
        let Some(version) = version.filter(|v| *v != current.version) else {
            return Ok((Arc::clone(&current), current));
        };
        let held = |list: &Vec<Arc<Catalog>>| list.iter().find(|c| c.version == version).cloned();
        if let Some(found) = held(&self.earlier.lock().unwrap_or_else(|e| e.into_inner())) {
            return Ok((found, current));
        }
        let Some(text) = db::catalog::document(&mut conn, version).await? else {
            return Ok((Arc::clone(&current), current));
        };
        let found = Arc::new(Catalog::stored(version, &text)?);
        let mut list = self.earlier.lock().unwrap_or_else(|e| e.into_inner());
        if held(&list).is_none() {
            list.push(Arc::clone(&found));
            if list.len() > EARLIER_HELD {
                list.remove(0);
            }
        }
        Ok((found, current))
    }
}
