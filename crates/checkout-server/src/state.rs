//! What every handler shares: the database, the clock, the signing keys, the catalog,
//! the payment gateway and the operator's settings.

use std::{sync::Arc, time::Duration};

use checkout_core::token::SigningKey;

use crate::{
    catalog::{Catalog, CatalogCache},
    clock::Clock,
    db::Db,
    payments::provider::PaymentProvider,
};

/// Tunables an operator may change; defaults are production values.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// Argon2id memory cost in KiB (OWASP's 19 MiB by default).
    pub argon2_memory_kib: u32,
    /// How long a pay request waits for the gateway before answering "in progress".
    pub gateway_timeout: Duration,
    /// A payment still pending after this long is reconciled with the gateway.
    pub reconcile_after: Duration,
    /// How long a checkout waits for the shopper at the provider (seconds).
    pub payment_action_timeout_secs: u64,
    /// How often the background sweeper runs.
    pub sweep_every: Duration,
    /// How many Idempotency-Keys one shopper may hold (kept 24 hours).
    pub idempotency_keys_per_shopper: u32,
    /// How long a checkout that ended without an order is kept after its last change.
    pub session_retention: Duration,
    /// How long a recovery link works after its checkout expired or was signed out of.
    pub recovery_link_window: chrono::Duration,
    /// How often the outbox worker looks for deliveries when it has none in hand.
    pub outbox_poll: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            argon2_memory_kib: 19_456,
            gateway_timeout: Duration::from_secs(10),
            reconcile_after: Duration::from_secs(60),
            payment_action_timeout_secs:
                checkout_core::payment::action::DEFAULT_ACTION_TIMEOUT_SECS,
            sweep_every: Duration::from_secs(5),
            idempotency_keys_per_shopper: 1_000,
            session_retention: Duration::from_secs(90 * 24 * 3600),
            recovery_link_window: checkout_core::restore::DEFAULT_WINDOW,
            outbox_poll: Duration::from_millis(100),
        }
    }
}

impl AppState {
    /// The current catalog as `conn` (the caller's transaction where it has one) sees
    /// it, so every instance prices alike.
    pub async fn catalog_now(
        &self,
        conn: impl Into<crate::db::Conn<'_>>,
    ) -> Result<Arc<Catalog>, crate::db::DbError> {
        self.catalog.now(conn).await
    }
}

/// Shared application state.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The clock (with the test offset when enabled).
    pub clock: Clock,
    /// Recovery-token keys: the first signs, all verify.
    pub keys: Arc<Vec<SigningKey>>,
    /// The admin bearer token.
    pub admin_token: Arc<str>,
    /// What is sold.
    pub catalog: Arc<CatalogCache>,
    /// The payment provider.
    pub provider: Arc<dyn PaymentProvider>,
    /// Whether `POST /admin/test-clock` exists.
    pub test_clock: bool,
    /// Operator tunables.
    pub tuning: Tuning,
    /// Hashing slots and throttles.
    pub guards: Arc<crate::auth::throttle::Guards>,
    /// Origins besides the server's own allowed to send state-changing requests.
    pub trusted_origins: crate::http::web::TrustedOrigins,
    /// The login cookie's name and attributes.
    pub login_cookie: crate::auth::login_cookie::LoginCookie,
    /// Where requests to other systems (order-event receivers) may go.
    pub outbound: crate::outbound::Outbound,
    /// The shop's identity provider (CONTRACT §19), when configured.
    pub identity: Option<Arc<crate::auth::jwt::Verifier>>,
    /// How long a built-in login lasts.
    pub login_lifetime: chrono::Duration,
    /// The read-only token for `/metrics`, if the operator set one.
    pub metrics_token: Option<Arc<str>>,
    /// The shop backend's keys (CONTRACT §24); none refuses every backend request.
    pub backend_keys: Arc<[String]>,
    /// The shop's customers its backend named, resolved to ours.
    pub backend_customers: Arc<crate::backend::known::Customers>,
    /// The storefront's address as shoppers reach it, for absolute checkout links.
    pub public_url: Option<Arc<str>>,
    /// Set when the server was asked to stop: `/readyz` says so at once.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("db", &self.db)
            .field("test_clock", &self.test_clock)
            .finish_non_exhaustive()
    }
}
