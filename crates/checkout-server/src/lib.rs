//! The authoritative Checkout Guard server: axum over sqlx, with every checkout rule taken
//! from `checkout-core`. Each feature is a module with its own router; [`app`] assembles
//! them under `/api/v1` (with the generated OpenAPI document), [`start`] binds and runs
//! the server with its background upkeep until asked to stop, then finishes requests in
//! flight.

pub mod admin;
pub mod auth;
pub mod backend;
pub mod catalog;
pub mod checkout;
pub mod clock;
pub mod config;
pub mod db;
pub mod http;
pub mod ops;
pub mod orders;
pub mod outbound;
pub mod outbox;
pub mod payments;
pub mod state;

use std::{net::SocketAddr, sync::Arc};

use axum::{extract::DefaultBodyLimit, http::Request, middleware, routing::get, Json, Router};
use tokio::{sync::watch, task::JoinHandle};
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer},
};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::{
    catalog::CatalogCache, clock::Clock, config::Config, db::Db, http::error::ApiError,
    state::AppState,
};

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Largest catalog document `PUT /api/v1/admin/catalog` reads (50,000 products fit).
pub const MAX_CATALOG_BYTES: usize = 8 * 1024 * 1024;

/// The most body a request to `path` may send: [`MAX_CATALOG_BYTES`] for the whole
/// catalog, [`backend::MAX_PRICED_CART_BYTES`] for a shop's priced cart,
/// [`MAX_BODY_BYTES`] for everything else.
pub fn body_limit(path: &str) -> usize {
    match path {
        "/api/v1/admin/catalog" => MAX_CATALOG_BYTES,
        backend::CREATE_PATH => backend::MAX_PRICED_CART_BYTES,
        _ => MAX_BODY_BYTES,
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Checkout Guard",
        description = "One active checkout per shopper, immutable snapshots, expiry, checks before every \
                       order action, recovery, and never a second order for one checkout. Errors are RFC 9457 \
                       problem details with `code` and `redirect`.",
    ),
    servers((url = "/api/v1")),
    tags((name = "auth"), (name = "catalog"), (name = "cart"), (name = "checkout"), (name = "orders"), (name = "admin"), (name = "backend"))
)]
struct ApiDoc;

fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::router())
        .merge(catalog_router())
        .merge(checkout::cart::router())
        .merge(checkout::router())
        .merge(orders::router())
        .merge(admin::router())
        .merge(catalog::admin::router())
        .merge(outbox::admin::router())
        .merge(orders::approvals::router())
        .merge(payments::router())
        .merge(backend::router())
}

fn catalog_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(utoipa_axum::routes!(catalog::products::list_products))
}

/// The OpenAPI document, generated from the handlers' annotations, with the security
/// schemes, the problem schema and the refusals every operation can send.
pub fn openapi() -> utoipa::openapi::OpenApi {
    document(api().split_for_parts().1)
}

fn document(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::Modify;
    http::api_doc::Hardened.modify(&mut doc);
    doc
}

/// The whole HTTP application for `state`, serving the storefront from `static_dir`.
pub fn app(state: AppState, static_dir: &std::path::Path) -> Router {
    let (api, doc) = api().split_for_parts();
    let doc = Arc::new(document(doc));
    let api = api
        .route(
            "/openapi.json",
            get(move || {
                let doc = Arc::clone(&doc);
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .fallback(|| async { ApiError::RouteNotFound });
    let storefront = http::assets::storefront(static_dir);
    let trusted = state.trusted_origins.clone();
    Router::new()
        .nest("/api/v1", api)
        .route(
            "/api/{*rest}",
            axum::routing::any(|| async { ApiError::RouteNotFound }),
        )
        .route("/healthz", get(http::health::healthz))
        .route("/readyz", get(http::health::readyz))
        .route(
            "/metrics",
            get(|_: http::extract::MetricsReader| async { ops::metrics::render() }),
        )
        .route("/problems", get(http::problems::page))
        .with_state(state)
        .fallback_service(storefront)
        .layer(middleware::from_fn(ops::metrics::track))
        .layer(middleware::from_fn_with_state(trusted, http::web::guard))
        // Each route's own limit is kept by `http::web::guard` (`body_limit`).
        .layer(DefaultBodyLimit::max(MAX_CATALOG_BYTES))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    let uri = ops::telemetry::LoggedUri(request.uri());
                    let span = tracing::info_span!("request", id = %id,
                        method = %request.method(), uri = %uri, otel.kind = "server");
                    ops::telemetry::continue_trace(&span, request.headers());
                    span
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                // A 5xx the server means (503 while draining or busy) is not an error of
                // the server's; a real fault logs its own error where it happens.
                .on_failure(DefaultOnFailure::new().level(Level::WARN)),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(middleware::from_fn(http::web::screen_request_id))
}

/// A running server.
#[derive(Debug)]
pub struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    /// The shared state (tests use it to reach the clock and the database).
    pub state: AppState,
    stop: watch::Sender<bool>,
    server: JoinHandle<Result<(), String>>,
    sweeper: JoinHandle<()>,
    outbox: JoinHandle<()>,
    /// The data directory's lock (SQLite), released after the database is closed.
    lock: Option<config::data_dir::DirLock>,
}

impl Running {
    /// Asks the server to stop, waits for requests in flight and the sweeper to finish.
    pub async fn shutdown(self) -> Result<(), String> {
        self.state
            .draining
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = self.stop.send(true);
        let result = self.server.await.map_err(|e| e.to_string())?;
        let _ = self.sweeper.await;
        let _ = self.outbox.await;
        self.state.db.close().await;
        drop(self.lock);
        result
    }
}

/// Connects the database, builds the state and starts serving (and the sweeper), with
/// the payment provider the configuration names (the simulated one's HTTP API).
pub async fn start(config: Config) -> Result<Running, String> {
    let provider = Arc::new(config.provider()?);
    start_with_provider(config, provider).await
}

/// [`start`] with a payment provider of the shop's own (an implementation of
/// [`payments::provider::PaymentProvider`] for its provider's API).
pub async fn start_with_provider(
    config: Config,
    provider: Arc<dyn payments::provider::PaymentProvider>,
) -> Result<Running, String> {
    // SQLite in the data directory: one server at a time.
    let sqlite = config
        .database_url
        .as_deref()
        .is_none_or(|url| url.starts_with("sqlite:"));
    let lock = if sqlite {
        Some(config::data_dir::lock(&config.data_dir)?)
    } else {
        None
    };
    let db = Db::connect(
        config.database_url.as_deref(),
        &config.data_dir,
        config.database_max_connections,
    )
    .await?;
    let keys = config::secrets::signing_keys(
        config.token_secret.as_deref(),
        config.previous_token_secret.as_deref(),
        &config.data_dir,
    )?;
    let admin_token =
        config::secrets::admin_token(config.admin_token.as_deref(), &config.data_dir)?;
    let outbound =
        outbound::Outbound::new(config.outbox_allow_private, config.extra_ca_file.as_deref())?;
    let identity = identity(&config, &outbound)?;
    let catalog = catalog::seed::ensure(&db, config.catalog.as_deref()).await?;
    let state = AppState {
        provider,
        db,
        clock: Clock::default(),
        keys: Arc::new(keys),
        admin_token: admin_token.into(),
        catalog: Arc::new(CatalogCache::new(catalog)),
        test_clock: config.test_clock,
        tuning: config.tuning(),
        guards: auth::throttle::Guards::new(config.limits()),
        trusted_origins: http::web::TrustedOrigins {
            origins: Arc::new(config.trusted_origins.clone()),
            https: config.secure_cookies,
            csp: http::web::policy_with(&origin_of(
                config
                    .payment_provider_public_url
                    .as_deref()
                    .unwrap_or(&config.payment_provider_url),
            )),
        },
        login_cookie: auth::login_cookie::LoginCookie {
            secure: config.secure_cookies,
        },
        outbound,
        metrics_token: config.metrics_token.as_deref().map(|t| Arc::from(t.trim())),
        backend_keys: config.backend_keys().into(),
        backend_customers: Arc::default(),
        public_url: config
            .public_url
            .as_deref()
            .map(|u| Arc::from(u.trim_end_matches('/'))),
        identity,
        login_lifetime: chrono::Duration::seconds(config.login_lifetime_secs),
        draining: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop, stopped) = watch::channel(false);
    let router = app(state.clone(), &config.static_dir);
    let limits = config.connection_limits();
    let server = tokio::spawn(ops::serve::serve(listener, router, limits, stopped));
    let sweeper = ops::sweeper::spawn(state.clone(), state.tuning.sweep_every, stop.subscribe());
    let outbox = outbox::spawn(state.clone(), state.tuning.outbox_poll, stop.subscribe());
    // The identity provider's keys: fetched now and kept fresh (until the first fetch
    // succeeds, requests retry it and answer 503 meanwhile).
    if let Some(identity) = state.identity.clone() {
        let stopped = stop.subscribe();
        tokio::spawn(async move {
            if let auth::jwt::Keys::Jwks(jwks) = &identity.keys {
                jwks.keep_fresh(stopped).await;
            }
        });
    }
    tracing::info!(%addr, backend = ?state.db.backend(), "checkout-server listening");
    Ok(Running {
        addr,
        state,
        stop,
        server,
        sweeper,
        outbox,
        lock,
    })
}

/// `scheme://host[:port]` of a URL (empty when it has none).
fn origin_of(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return String::new();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!("{scheme}://{authority}")
}

/// Runs until SIGTERM or Ctrl-C, then shuts down cleanly.
pub async fn serve(config: Config) -> Result<(), String> {
    let provider = Arc::new(config.provider()?);
    serve_with_provider(config, provider).await
}

/// [`serve`] with a payment provider of the shop's own: a shop's `main` is
///
/// ```no_run
/// # use std::sync::Arc;
/// # async fn run(my_provider: Arc<dyn checkout_server::payments::provider::PaymentProvider>) {
/// use clap::Parser;
/// let config = checkout_server::config::Config::parse();
/// checkout_server::serve_with_provider(config, my_provider).await.unwrap();
/// # }
/// ```
pub async fn serve_with_provider(
    config: Config,
    provider: Arc<dyn payments::provider::PaymentProvider>,
) -> Result<(), String> {
    let drain = std::time::Duration::from_secs(config.drain_secs);
    let json = config.log_format == "json";
    if config.secure_cookies && config.payment_provider_api_key == "sk_test_simulated" {
        // A shop on HTTPS with the simulator's test key is a production server whose
        // provider was never configured: every card payment would go nowhere real.
        tracing::warn!(
            provider = %config.payment_provider_url,
            "payments go to the simulated provider with its test key: set payment_provider_url, \
             payment_provider_api_key, payment_publishable_key and payment_webhook_secret \
             for a real provider"
        );
    }
    let mut signals = ops::signals::ShutdownSignals::listen();
    let running = start_with_provider(config, provider).await?;
    // On standard output for whoever started it (tests and tools wait for this line);
    // with JSON logs, as a JSON line like every other.
    let listening = format!("checkout-server listening on http://{}", running.addr);
    if json {
        println!(
            "{}",
            serde_json::json!({ "level": "INFO", "message": listening })
        );
    } else {
        println!("{listening}");
    }
    signals.next().await;
    if !drain.is_zero() {
        // Still serving, but no longer ready: the load balancer moves new requests
        // away before the listener closes (a second signal cuts the wait short).
        running
            .state
            .draining
            .store(true, std::sync::atomic::Ordering::SeqCst);
        tracing::info!(?drain, "draining: /readyz answers 503, then shutting down");
        tokio::select! {
            () = tokio::time::sleep(drain) => {},
            () = signals.next() => {},
        }
    }
    tracing::info!("shutting down: finishing requests in flight");
    running.shutdown().await
}

/// The shop's identity provider the configuration names (CONTRACT §19), if any. Its key
/// set is fetched through the outbound client (system roots and `--extra-ca-file`; the
/// provider may be on the shop's own network).
fn identity(
    config: &Config,
    outbound: &outbound::Outbound,
) -> Result<Option<Arc<auth::jwt::Verifier>>, String> {
    let problems = config.identity_problems();
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    let keys = if let Some(url) = &config.jwt_jwks_url {
        let url = reqwest::Url::parse(url).map_err(|e| format!("--jwt-jwks-url: {e}"))?;
        let client = outbound
            .with_private(true)
            .client(auth::jwks::FETCH_TIMEOUT)?;
        let every = std::time::Duration::from_secs(config.jwt_jwks_refresh_secs);
        auth::jwt::Keys::Jwks(auth::jwks::Jwks::from_url(url, client, every))
    } else if let Some(file) = &config.jwt_jwks_file {
        auth::jwt::Keys::Jwks(auth::jwks::Jwks::from_file(file)?)
    } else if let Some(secret) = &config.jwt_hs256_secret {
        auth::jwt::Keys::Hs256(auth::jwt::Secret(jsonwebtoken::DecodingKey::from_secret(
            secret.as_bytes(),
        )))
    } else {
        return Ok(None);
    };
    if config.jwt_audience.is_none() && config.jwt_issuer.is_none() {
        tracing::warn!(
            "--jwt-…: neither --jwt-audience nor --jwt-issuer is set, so any token these keys \
             signed is accepted (a provider's key set is often shared by many applications)"
        );
    }
    Ok(Some(Arc::new(auth::jwt::Verifier {
        keys,
        issuer: config.jwt_issuer.clone(),
        audience: config.jwt_audience.clone(),
        cookie: config.jwt_cookie.clone(),
        cache: auth::token_cache::TokenCache::default(),
    })))
}
