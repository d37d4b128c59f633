//! The storefront's files, served so that a returning browser asks for none of them again:
//! every page names its scripts, styles and the wasm module under `/v/<version>/…`, where
//! the version is a hash of the files themselves, and those answers may be cached for a
//! year (`immutable`). A new release has new files, so a new version and new addresses;
//! the pages themselves are revalidated on every use (`no-cache`), so a page never names
//! files of another release. The plain addresses (`/assets/…`, `/pkg/…`) keep working,
//! revalidated, for anything that names them directly.
//!
//! The version follows the files on disk: it is computed again whenever any of them
//! changed (size or modification time), and a versioned address is answered `immutable`
//! only while its version is the current one — never other bytes under an address that
//! a browser keeps for a year.
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
    let mut all = Vec::new();
    for folder in VERSIONED {
        files_under(&dir.join(folder), &mut all);
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

/// What the version was computed from: each file's name, size and modification time.
type Stamp = Vec<(PathBuf, u64, Option<std::time::SystemTime>)>;

fn stamp(dir: &Path) -> Stamp {
    let mut all = Vec::new();
    for folder in VERSIONED {
        files_under(&dir.join(folder), &mut all);
    }
    all.sort();
    all.into_iter()
        .map(|path| {
            let meta = std::fs::metadata(&path).ok();
            let len = meta.as_ref().map_or(0, |m| m.len());
            (path, len, meta.and_then(|m| m.modified().ok()))
        })
        .collect()
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[derive(Clone)]
struct Storefront {
    dir: Arc<Path>,
    known: Arc<std::sync::Mutex<(Stamp, Arc<str>)>>,
}

impl Storefront {
    /// The version of the files as they are now (hashed again only when they changed).
    fn version(&self) -> Arc<str> {
        let now = stamp(&self.dir);
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if known.0 != now {
            *known = (now, version_of(&self.dir).into());
        }
        Arc::clone(&known.1)
    }
}

/// The storefront's files from `dir`, with the versioned addresses.
pub fn storefront(dir: &Path) -> Router {
    let state = Storefront {
        dir: dir.into(),
        known: Arc::new(std::sync::Mutex::new((stamp(dir), version_of(dir).into()))),
    };
    Router::new()
        .route("/v/{*rest}", get(versioned))
        .fallback(plain)
        .layer(middleware::from_fn_with_state(state.clone(), name_versions))
        .with_state(state)
}

/// Whether a versioned address is one the pages name (plain segments, no aliases such as
/// `a//b`, `./a`, `a%3Fb` for a cache to keep apart).
fn canonical(path: &str) -> bool {
    path.split('/').all(|segment| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    })
}

/// `/v/<version>/<path>`: the file at `<path>` (in a versioned folder only), cached for a
/// year when `<version>` is the current one and the address is canonical. Another
/// version (a page of an instance not yet upgraded, behind the same balancer, or of the
/// files before they changed) gets the current file, revalidated like a plain address.
/// The path is handed on as it came (still percent-encoded) to the file service, which
/// decodes it once and refuses `..`.
async fn versioned(State(site): State<Storefront>, request: Request) -> Response {
    let raw = request
        .uri()
        .path()
        .strip_prefix("/v/")
        .unwrap_or_default()
        .to_owned();
    let Some((version, path)) = raw.split_once('/') else {
        return ApiError::RouteNotFound.into_response();
    };
    if !VERSIONED.iter().any(|f| path.starts_with(&format!("{f}/"))) {
        return ApiError::RouteNotFound.into_response();
    }
    let current = *version == *site.version() && canonical(path);
    let (mut parts, body) = request.into_parts();
    let Ok(uri) = format!("/{path}").parse::<Uri>() else {
        return ApiError::RouteNotFound.into_response();
    };
    parts.uri = uri;
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
/// become `"/v/<version>/assets/…` and `"/v/<version>/pkg/…`. The rewritten page's bytes
/// depend on the version, so a page request gets neither a range nor a conditional
/// answer of the file (`Range`, `If-Modified-Since`, `If-None-Match` are dropped for
/// pages), and the answer carries no validators, no `Accept-Ranges`, and the rewritten
/// length (also for `HEAD`). Pages are small.
async fn name_versions(
    State(site): State<Storefront>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let page = !path.starts_with("/v/") && (path.ends_with('/') || path.ends_with(".html"));
    if page {
        for header_name in [
            header::RANGE,
            header::IF_RANGE,
            header::IF_MODIFIED_SINCE,
            header::IF_NONE_MATCH,
        ] {
            request.headers_mut().remove(header_name);
        }
    }
    // A page's HEAD is answered from its GET, so that it tells the rewritten length.
    let head = page && request.method() == axum::http::Method::HEAD;
    if head {
        *request.method_mut() = axum::http::Method::GET;
    }
    let response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if !page || !html || response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    for stale in [
        header::CONTENT_LENGTH,
        header::LAST_MODIFIED,
        header::ETAG,
        header::ACCEPT_RANGES,
    ] {
        parts.headers.remove(stale);
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_PAGE_BYTES).await else {
        return ApiError::Internal("a storefront page over 1 MiB".into()).into_response();
    };
    let mut page = String::from_utf8_lossy(&bytes).into_owned();
    let version = site.version();
    for folder in VERSIONED {
        page = page.replace(
            &format!("\"/{folder}/"),
            &format!("\"/v/{version}/{folder}/"),
        );
    }
    if head {
        parts
            .headers
            .insert(header::CONTENT_LENGTH, page.len().into());
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_addresses_are_canonical() {
        for good in [
            "assets/app.js",
            "pkg/checkout_guard_bg.wasm",
            "pkg/a-b_c.d.ts",
        ] {
            assert!(canonical(good), "{good}");
        }
        for alias in [
            "assets//app.js",
            "assets/./app.js",
            "assets/../pkg/x",
            "assets/app.js%3Fx",
            "assets/app.js/",
            "assets/app%2ejs",
            "assets/ap p.js",
        ] {
            assert!(!canonical(alias), "{alias}");
        }
    }

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
