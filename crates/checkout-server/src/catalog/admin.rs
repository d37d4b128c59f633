//! Admin routes for the catalog (bearer token): read the whole document with its
//! version (`ETag`), replace it whole, or put or delete one product. Every change is
//! checked whole by the core before it is stored as the next version; `If-Match` (or a
//! `version` in the body) makes it conditional, so two admins editing at once cannot
//! overwrite each other unseen: the second gets `PRECONDITION_FAILED` (412). Checkouts
//! started from then on are priced from the new version on every instance; a live
//! checkout keeps the prices it was started with.

use std::sync::Arc;

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use checkout_core::{
    catalog::{CatalogDocument, Product},
    ErrorCode, Rejection,
};
use serde_json::Value;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    catalog::Catalog,
    db,
    http::{
        error::{ApiError, ApiResult},
        extract::{Admin, ApiJson},
    },
    state::AppState,
};

/// The admin catalog routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_catalog, put_catalog))
        .routes(routes!(put_product, delete_product))
}

/// What `If-Match` and the body's `version` ask for: `None` for no condition. If-Match
/// is compared strongly (RFC 9110 §13.1.1): `*`, or the one current tag `"N"`; a weak
/// tag, a list or anything else never matches. A body `version` must agree with it.
fn precondition(headers: &HeaderMap, body: Option<&Value>) -> Result<Option<i64>, Rejection> {
    let stale = || {
        Rejection::with_message(
            ErrorCode::PreconditionFailed,
            "If-Match does not name the current catalog version; read it again.",
        )
    };
    let from_header = match headers.get(header::IF_MATCH) {
        None => None,
        Some(value) => {
            let text = value.to_str().map_err(|_| stale())?.trim();
            if text == "*" {
                None
            } else {
                let digits = text
                    .strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .filter(|t| {
                        !t.is_empty() && t.len() <= 18 && t.bytes().all(|b| b.is_ascii_digit())
                    })
                    .ok_or_else(stale)?;
                // The tag as this server writes it: no sign, no leading zero.
                let n = digits.parse::<i64>().map_err(|_| stale())?;
                if n.to_string() != digits {
                    return Err(stale());
                }
                Some(n)
            }
        }
    };
    let from_body = match body.and_then(|b| b.get("version")) {
        None => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| {
            Rejection::invalid_fields(
                "The catalog's version must be an integer.",
                vec![checkout_core::error::FieldError::new(
                    "/version",
                    "must be an integer",
                )],
            )
        })?),
    };
    match (from_header, from_body) {
        (Some(a), Some(b)) if a != b => Err(stale()),
        (Some(v), _) | (None, Some(v)) => Ok(Some(v)),
        (None, None) => Ok(None),
    }
}

fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// The document with its `version`, and the version as `ETag`.
fn whole(catalog: &Catalog, status: StatusCode) -> ApiResult<Response> {
    let mut body =
        serde_json::to_value(&catalog.document).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Value::Object(map) = &mut body {
        map.insert("version".into(), Value::from(catalog.version));
    }
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag(catalog.version));
    Ok(response)
}

/// Stores `document` as the next version when `expected` (if any) is the current one.
async fn replace(
    state: &AppState,
    expected: Option<i64>,
    document: &CatalogDocument,
) -> ApiResult<Arc<Catalog>> {
    let text = serde_json::to_string(document).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut tx = state.db.begin_write().await?;
    let current = db::catalog::current_version(tx.conn()).await?.unwrap_or(0);
    if expected.is_some_and(|v| v != current) {
        return Err(precondition_failed(current));
    }
    let next = current + 1;
    if !db::catalog::store(tx.conn(), next, &text, state.clock.now()).await? {
        // Another admin (or instance) stored this version first.
        return Err(precondition_failed(current));
    }
    tx.commit().await?;
    let catalog = Arc::new(Catalog::new(next, document.clone()));
    state.catalog.offer_newer(Arc::clone(&catalog));
    tracing::info!(
        version = next,
        products = document.products.len(),
        "catalog changed"
    );
    Ok(catalog)
}

fn precondition_failed(current: i64) -> ApiError {
    Rejection::with_message(
        ErrorCode::PreconditionFailed,
        format!("The catalog changed meanwhile (it is at version {current} or later); read it again and reapply your change."),
    )
    .into()
}

/// The whole catalog document with its `version` (also the `ETag`).
#[utoipa::path(get, path = "/admin/catalog", tag = "admin", security(("admin" = [])),
    responses((status = 200, description = "The catalog document (CONTRACT §17) with `version`",
        body = Object, headers(("ETag" = String, description = "The version, quoted")))))]
pub async fn get_catalog(_: Admin, State(state): State<AppState>) -> ApiResult<Response> {
    let catalog = state.catalog_now(&state.db).await?;
    whole(&catalog, StatusCode::OK)
}

/// Replace the whole catalog. Checked whole first: `VALIDATION_FAILED` lists every
/// problem at its JSON Pointer (`errors`) and nothing is stored. With `If-Match: "<v>"`
/// (or `"version": v` in the body) it is stored only if `v` is still the current
/// version, else `PRECONDITION_FAILED`.
#[utoipa::path(put, path = "/admin/catalog", tag = "admin", security(("admin" = [])),
    request_body(content = Object, description = "The catalog document (CONTRACT §17); at most 8 MiB"),
    params(("If-Match" = Option<String>, Header, description = "The version read, quoted")),
    responses((status = 200, description = "Stored: the document with its new `version`", body = Object),
        (status = 412, description = "PRECONDITION_FAILED: the catalog changed meanwhile"),
        (status = 413, description = "PAYLOAD_TOO_LARGE"),
        (status = 422, description = "VALIDATION_FAILED with `errors`")))]
pub async fn put_catalog(
    _: Admin,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(mut body): ApiJson<Value>,
) -> ApiResult<Response> {
    let expected = precondition(&headers, Some(&body))?;
    if let Value::Object(map) = &mut body {
        map.remove("version");
    }
    let document = CatalogDocument::parse(&body)?;
    let catalog = replace(&state, expected, &document).await?;
    whole(&catalog, StatusCode::OK)
}

fn no_product(sku: &str) -> Rejection {
    Rejection::with_message(
        ErrorCode::NotFound,
        format!(
            "There is no product {} in the catalog.",
            checkout_core::detail::Quoted(sku)
        ),
    )
}

/// The catalog with one product put in (replaced, or added at the end) or taken out,
/// checked whole and stored as the next version.
async fn change_product(
    state: &AppState,
    headers: &HeaderMap,
    sku: &str,
    product: Option<Value>,
) -> ApiResult<(Arc<Catalog>, bool)> {
    let expected = precondition(headers, None)?;
    let current = state.catalog_now(&state.db).await?;
    if expected.is_some_and(|v| v != current.version) {
        return Err(precondition_failed(current.version));
    }
    let mut body =
        serde_json::to_value(&current.document).map_err(|e| ApiError::Internal(e.to_string()))?;
    let products = body
        .get_mut("products")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| ApiError::Internal("catalog without products".into()))?;
    let at = products
        .iter()
        .position(|p| p.get("sku").and_then(Value::as_str) == Some(sku));
    let created = at.is_none();
    match (product, at) {
        (Some(p), Some(i)) => products[i] = p,
        (Some(p), None) => products.push(p),
        (None, Some(i)) => {
            products.remove(i);
        }
        (None, None) => return Err(no_product(sku).into()),
    }
    let document = CatalogDocument::parse(&body)?;
    // Stored only over the version it was made from.
    let catalog = replace(state, Some(current.version), &document).await?;
    Ok((catalog, created))
}

/// Put one product (the document's product shape): replaced when its SKU exists,
/// added otherwise (201). The SKU in the body, if given, must be the one in the path.
#[utoipa::path(put, path = "/admin/catalog/products/{sku}", tag = "admin", security(("admin" = [])),
    params(("sku" = String, Path, description = "The product's SKU"),
        ("If-Match" = Option<String>, Header, description = "The catalog version read, quoted")),
    request_body(content = Object, description = "A product: sku, name, description, category, unit_price, tax_class, max_quantity, active"),
    responses((status = 200, description = "Replaced", body = Object),
        (status = 201, description = "Added", body = Object),
        (status = 412, description = "PRECONDITION_FAILED"),
        (status = 422, description = "VALIDATION_FAILED with `errors` (pointers into the whole catalog)")))]
pub async fn put_product(
    _: Admin,
    State(state): State<AppState>,
    Path(sku): Path<String>,
    headers: HeaderMap,
    ApiJson(mut product): ApiJson<Value>,
) -> ApiResult<Response> {
    match product.get("sku") {
        None => {
            product["sku"] = Value::from(sku.as_str());
        }
        Some(given) if given.as_str() == Some(sku.as_str()) => {}
        Some(_) => {
            return Err(Rejection::with_message(
                ErrorCode::ValidationFailed,
                "The sku in the body is not the one in the path.",
            )
            .into())
        }
    }
    let (catalog, created) = change_product(&state, &headers, &sku, Some(product)).await?;
    let stored: Option<&Product> = catalog.document.product(&sku);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = (status, Json(stored)).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag(catalog.version));
    Ok(response)
}

/// Delete one product from the catalog (a live checkout holding it keeps it and can
/// still be ordered; new checkouts leave it out). A promotion naming it must go first.
#[utoipa::path(delete, path = "/admin/catalog/products/{sku}", tag = "admin", security(("admin" = [])),
    params(("sku" = String, Path, description = "The product's SKU"),
        ("If-Match" = Option<String>, Header, description = "The catalog version read, quoted")),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "NOT_FOUND: no such product"),
        (status = 412, description = "PRECONDITION_FAILED"),
        (status = 422, description = "VALIDATION_FAILED: something still names it")))]
pub async fn delete_product(
    _: Admin,
    State(state): State<AppState>,
    Path(sku): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (catalog, _) = change_product(&state, &headers, &sku, None).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag(catalog.version));
    Ok(response)
}
