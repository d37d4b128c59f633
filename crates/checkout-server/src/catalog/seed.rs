//! The first catalog: on a database without one, the file given with `--catalog` (or
//! the demo bakery shipped in `catalogs/bakery.json`) is stored as version 1, with the
//! admin's changes of the previous release (`catalog_overrides`) folded in, so an
//! upgraded shop keeps its prices. `checkout-server catalog import|export` read and
//! write the stored catalog from the command line.

use std::path::Path;

use checkout_core::catalog::CatalogDocument;

use super::Catalog;
use crate::db::{self, catalog::OldOverride, Db};

/// The demo bakery's catalog, stored when a database has none and no file is given.
pub const BAKERY: &str = include_str!("../../../../catalogs/bakery.json");

/// The catalog document in a file, checked whole; the error lists every problem.
pub fn read_file(path: &Path) -> Result<CatalogDocument, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read the catalog {}: {e}", path.display()))?;
    parse(&bytes).map_err(|e| format!("the catalog {} is refused: {e}", path.display()))
}

/// A catalog document, checked whole; the error lists every problem with its place.
pub fn parse(bytes: &[u8]) -> Result<CatalogDocument, String> {
    CatalogDocument::from_json(bytes).map_err(|refused| {
        let mut said = refused.message.clone();
        for e in &refused.errors {
            said.push_str(&format!(
                "\n  {}: {}",
                if e.pointer.is_empty() {
                    "/"
                } else {
                    &e.pointer
                },
                e.detail
            ));
        }
        said
    })
}

/// The stored catalog, after storing the first one when there is none: `seed` (or the
/// bakery) with the previous release's changes folded in. Several instances starting
/// at once store one version 1 between them.
pub async fn ensure(db: &Db, seed: Option<&Path>) -> Result<Catalog, String> {
    let fail = |e: db::DbError| format!("cannot read the catalog: {e}");
    if let Some((version, text)) = db::catalog::latest(db).await.map_err(fail)? {
        if let Some(file) = seed {
            tracing::warn!(
                file = %file.display(),
                version,
                "a catalog is stored already: --catalog seeds only an empty database \
                 (replace it with `checkout-server catalog import` or the admin API)"
            );
        }
        return Catalog::stored(version, &text).map_err(fail);
    }
    let mut document = match seed {
        Some(file) => read_file(file)?,
        None => parse(BAKERY.as_bytes())?,
    };
    let overrides = db::catalog::old_overrides(db).await.map_err(fail)?;
    fold(&mut document, &overrides);
    let document = parse(&serde_json::to_vec(&document).map_err(|e| e.to_string())?)
        .map_err(|e| format!("the previous release's catalog changes do not fit: {e}"))?;
    store(db, 1, &document).await?;
    let (version, text) = db::catalog::latest(db)
        .await
        .map_err(fail)?
        .ok_or("the catalog was not stored")?;
    tracing::info!(
        version,
        products = document.products.len(),
        "catalog seeded"
    );
    Catalog::stored(version, &text).map_err(fail)
}

/// Stores `document` as `version` in one write; `false` when that version was taken.
pub async fn store(db: &Db, version: i64, document: &CatalogDocument) -> Result<bool, String> {
    let fail = |e: db::DbError| format!("cannot store the catalog: {e}");
    let text = serde_json::to_string(document).map_err(|e| e.to_string())?;
    let mut tx = db.begin_write().await.map_err(fail)?;
    let stored = db::catalog::store(tx.conn(), version, &text, chrono::Utc::now())
        .await
        .map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    Ok(stored)
}

/// Applies the previous release's admin changes to `document`: prices, maxima and
/// products off sale; promotions, vouchers and shipping methods withdrawn; shipping
/// prices.
pub fn fold(document: &mut CatalogDocument, overrides: &[OldOverride]) {
    let withdrawn = |kind: &str, id: &str| {
        overrides
            .iter()
            .any(|o| o.kind == kind && o.id == id && !o.active)
    };
    for o in overrides.iter().filter(|o| o.kind == "product") {
        if let Some(p) = document.products.iter_mut().find(|p| p.sku == o.id) {
            p.unit_price = o.price.unwrap_or(p.unit_price);
            p.max_quantity = o
                .max_quantity
                .and_then(|q| u32::try_from(q).ok())
                .unwrap_or(p.max_quantity);
            p.active = o.active;
        }
    }
    for o in overrides.iter().filter(|o| o.kind == "shipping") {
        if let Some(m) = document.shipping_methods.iter_mut().find(|m| m.id == o.id) {
            m.price = o.price.unwrap_or(m.price);
        }
    }
    document
        .promotions
        .retain(|p| !withdrawn("promotion", &p.id));
    document.vouchers.retain(|v| !withdrawn("voucher", &v.code));
    document
        .shipping_methods
        .retain(|m| !withdrawn("shipping", &m.id));
}

/// `checkout-server catalog import FILE`: stores the file as the next version.
pub async fn import(db: &Db, file: &Path) -> Result<String, String> {
    let document = read_file(file)?;
    let fail = |e: db::DbError| format!("cannot read the catalog: {e}");
    for _ in 0..3 {
        let next = db::catalog::current_version(db)
            .await
            .map_err(fail)?
            .unwrap_or(0)
            + 1;
        if store(db, next, &document).await? {
            return Ok(format!(
                "catalog version {next} stored from {} ({} products)",
                file.display(),
                document.products.len()
            ));
        }
    }
    Err("the catalog kept changing meanwhile; try again".into())
}

/// `checkout-server catalog export FILE`: writes the stored catalog (`-` for stdout).
pub async fn export(db: &Db, file: &Path) -> Result<String, String> {
    let fail = |e: db::DbError| format!("cannot read the catalog: {e}");
    let Some((version, text)) = db::catalog::latest(db).await.map_err(fail)? else {
        return Err("no catalog is stored yet".into());
    };
    let document = Catalog::stored(version, &text).map_err(fail)?.document;
    let pretty = serde_json::to_string_pretty(&document).map_err(|e| e.to_string())? + "\n";
    if file == Path::new("-") {
        print!("{pretty}");
    } else {
        std::fs::write(file, pretty)
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    }
    Ok(format!(
        "catalog version {version} written to {}",
        file.display()
    ))
}
