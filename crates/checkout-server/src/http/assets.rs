//! The storefront's files, served so that a returning browser asks for none of them again:
//! every page names its scripts, styles and the wasm module under `/v/<version>/…`, where
//! the version is a hash of the files themselves, and those answers may be cached for a
//! year (`immutable`). A new release has new files, so a new version and new addresses;
//! the pages themselves are revalidated on every use (`no-cache`), so a page never names
//! files of another release. The plain addresses (`/assets/…`, `/pkg/…`) keep working,
//! revalidated, for anything that names them directly.
//!
//! Without this, every reload revalidated the checkout page's seven files (seven round
//! trips before the first local verdict), and the browser could not use its compiled
//! copy of the wasm module without asking first.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode, Uri},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use tower_http::services::ServeDir;

use crate::http::error::ApiError;

/// The folders whose files carry the version in their address.
const VERSIONED: [&str; 2] = ["assets", "pkg"];

/// The largest page the server rewrites (the demo's are a few KiB).
const MAX_PAGE_BYTES: usize = 1 << 20;

const FOR_A_YEAR: &str = "public, max-age=31536000, immutable";

/// A hash of every file under the versioned folders (names and contents), 12 hex digits.
pub fn version_of(dir: &Path) -> String {
    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut all = Vec::new();
    for folder in VERSIONED {
        files(&dir.join(folder), &mut all);
    }
    all.sort();
    let mut hash = Sha256::new();
    for path in all {
        hash.update(
            path.strip_prefix(dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .as_bytes(),
        );
        hash.update([0]);
        hash.update(std::fs::read(&path).unwrap_or_default());
        hash.update([0]);
    }
    hash.finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Clone)]
struct Storefront {
    dir: Arc<Path>,
    version: Arc<str>,
}

/// The storefront's files from `dir`, with the versioned addresses.
pub fn storefront(dir: &Path) -> Router {
    let state = Storefront {
        dir: dir.into(),
        version: version_of(dir).into(),
    };
    Router::new()
        .route("/v/{version}/{*path}", get(versioned))
        .fallback(plain)
        .layer(middleware::from_fn_with_state(state.clone(), name_versions))
        .with_state(state)
}

/// `/v/<version>/<path>`: the file at `<path>` (in a versioned folder only), cached for a
/// year when `<version>` is this release's. Another release's version (a page of an
/// instance not yet upgraded, behind the same balancer) gets this release's file,
/// revalidated like a plain address.
async fn versioned(
    State(site): State<Storefront>,
    axum::extract::Path((version, path)): axum::extract::Path<(String, String)>,
    request: Request,
) -> Response {
    if !VERSIONED.iter().any(|f| path.starts_with(&format!("{f}/"))) {
        return ApiError::RouteNotFound.into_response();
    }
    let (mut parts, body) = request.into_parts();
    let Ok(uri) = format!("/{path}").parse::<Uri>() else {
        return ApiError::RouteNotFound.into_response();
    };
    parts.uri = uri;
    let current = version == *site.version;
    let mut response = serve(&site.dir, Request::from_parts(parts, body)).await;
    if current && response.status() == StatusCode::OK {
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(FOR_A_YEAR));
        headers.remove(header::LAST_MODIFIED);
    }
    response
}

async fn plain(State(site): State<Storefront>, request: Request) -> Response {
    serve(&site.dir, request).await
}

/// A file or page of the storefront; a path that is none of them is a problem+json 404,
/// so a misconfigured probe or a scanner never gets the demo's index page.
async fn serve(dir: &Path, request: Request) -> Response {
    use axum::handler::HandlerWithoutStateExt;
    let files = ServeDir::new(dir)
        .append_index_html_on_directories(true)
        .fallback((|| async { ApiError::RouteNotFound }).into_service());
    match files.oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    }
}

/// An HTML page names the versioned addresses of its files: `"/assets/…` and `"/pkg/…`
/// become `"/v/<version>/assets/…` and `"/v/<version>/pkg/…`. The rewritten page has no
/// validators of its file (its bytes depend on the version too); pages are small.
async fn name_versions(State(site): State<Storefront>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if !html || response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_PAGE_BYTES).await else {
        return ApiError::Internal("a storefront page over 1 MiB".into()).into_response();
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut page = text.into_owned();
    for folder in VERSIONED {
        page = page.replace(
            &format!("\"/{folder}/"),
            &format!("\"/v/{}/{folder}/", site.version),
        );
    }
    for stale in [header::CONTENT_LENGTH, header::LAST_MODIFIED, header::ETAG] {
        parts.headers.remove(stale);
    }
    Response::from_parts(parts, Body::from(page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_follows_the_files() {
        let dir = std::env::temp_dir().join(format!("assets-version-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        std::fs::create_dir_all(dir.join("pkg")).unwrap();
        std::fs::write(dir.join("assets/app.js"), "one").unwrap();
        std::fs::write(dir.join("index.html"), "page").unwrap();
        let first = version_of(&dir);
        assert_eq!(first.len(), 12);
        assert_eq!(version_of(&dir), first, "the same files, the same version");
        // A page is not versioned: changing it keeps the version.
        std::fs::write(dir.join("index.html"), "another page").unwrap();
        assert_eq!(version_of(&dir), first);
        std::fs::write(dir.join("pkg/checkout_guard_bg.wasm"), "module").unwrap();
        let second = version_of(&dir);
        assert_ne!(second, first, "a new file, a new version");
        std::fs::write(dir.join("assets/app.js"), "two").unwrap();
        assert_ne!(version_of(&dir), second, "a changed file, a new version");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
