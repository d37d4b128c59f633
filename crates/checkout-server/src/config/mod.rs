//! The command line of CONTRACT §6a. Every flag can also come from `CHECKOUT_<NAME>`.

use std::{net::SocketAddr, path::PathBuf};

use clap::Parser;

/// PostgreSQL connections an instance opens unless told otherwise.
pub const DEFAULT_DATABASE_MAX_CONNECTIONS: u32 = 10;

/// Checkout Guard server: one active checkout per shopper, immutable snapshots, expiry,
/// checks before every order action, and never a second order for one checkout.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "checkout-server",
    version,
    about,
    after_help = "Commands (with the same settings, from flags, environment or --config):\n  \
        checkout-server migrate               apply the database migrations, then exit\n  \
        checkout-server backup --to FILE      copy the serving SQLite database consistently\n  \
        checkout-server config check FILE     say whether a config file is valid"
)]
pub struct Config {
    /// A TOML file of settings, one key per flag (`bind = "0.0.0.0:8080"`); the
    /// environment and the flags take precedence over it.
    #[arg(long, env = "CHECKOUT_CONFIG")]
    pub config: Option<PathBuf>,

    /// Address to listen on.
    #[arg(long, env = "CHECKOUT_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Directory holding the SQLite database and the generated secret.
    #[arg(long, env = "CHECKOUT_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Database URL; a `postgres://` URL switches to PostgreSQL (several instances may
    /// share it). Default: SQLite in the data directory.
    #[arg(long, env = "CHECKOUT_DATABASE_URL")]
    pub database_url: Option<String>,

    /// PostgreSQL: the most connections this instance opens. About twice the database's
    /// cores in all is enough; more only queue inside PostgreSQL (and behind the one
    /// checkout-number row), so instances sharing a database divide that number.
    #[arg(long, env = "CHECKOUT_DATABASE_MAX_CONNECTIONS", default_value_t = DEFAULT_DATABASE_MAX_CONNECTIONS,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub database_max_connections: u32,

    /// The storefront to serve at `/`.
    #[arg(long, env = "CHECKOUT_STATIC_DIR", default_value = "www")]
    pub static_dir: PathBuf,

    /// Bearer token for `/api/v1/admin/*`; generated and printed once when absent.
    #[arg(long, env = "CHECKOUT_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// Enable `POST /api/v1/admin/test-clock` to move the server's clock forward.
    /// For tests only; never on by default.
    #[arg(long, env = "CHECKOUT_TEST_CLOCK")]
    pub test_clock: bool,

    /// Secret that signs recovery tokens (at least 32 bytes). Several instances must
    /// share it. Default: generated once into `<data-dir>/token-secret`.
    #[arg(long, env = "CHECKOUT_TOKEN_SECRET", hide_env_values = true)]
    pub token_secret: Option<String>,

    /// The previous token secret, still accepted for verification during a rotation.
    #[arg(long, env = "CHECKOUT_PREVIOUS_TOKEN_SECRET", hide_env_values = true)]
    pub previous_token_secret: Option<String>,

    /// Argon2id memory cost for password hashes, in KiB.
    #[arg(long, env = "CHECKOUT_ARGON2_MEMORY_KIB", default_value_t = 19_456)]
    pub argon2_memory_kib: u32,

    /// How long a pay request waits for the payment gateway, in milliseconds.
    #[arg(long, env = "CHECKOUT_GATEWAY_TIMEOUT_MS", default_value_t = 10_000)]
    pub gateway_timeout_ms: u64,

    /// A payment pending longer than this (seconds) is reconciled with the gateway.
    #[arg(long, env = "CHECKOUT_RECONCILE_AFTER_SECS", default_value_t = 60)]
    pub reconcile_after_secs: u64,

    /// How long a checkout waits for the shopper to confirm a payment at the provider
    /// (3-D Secure, a bank's page), in seconds (60 to 86400); then the payment is
    /// cancelled with the provider and the checkout released.
    #[arg(long, env = "CHECKOUT_PAYMENT_ACTION_TIMEOUT_SECS", default_value_t = checkout_core::payment::action::DEFAULT_ACTION_TIMEOUT_SECS)]
    pub payment_action_timeout_secs: u64,

    /// How often background upkeep runs (expiry, key purge, reconciliation), in ms.
    #[arg(long, env = "CHECKOUT_SWEEP_EVERY_MS", default_value_t = 5_000)]
    pub sweep_every_ms: u64,

    /// Password hashes (Argon2id, ~19 MiB each) computed at once. Default: the number
    /// of cores, which bounds the memory logins can take.
    #[arg(long, env = "CHECKOUT_MAX_CONCURRENT_HASHES")]
    pub max_concurrent_hashes: Option<usize>,

    /// How long a sign-in or sign-up waits for a hashing slot before it is answered
    /// `SERVICE_UNAVAILABLE` with `Retry-After`, in milliseconds.
    #[arg(long, env = "CHECKOUT_HASH_WAIT_MS", default_value_t = 2_000)]
    pub hash_wait_ms: u64,

    /// Wrong passwords allowed per account in `--login-window-secs`; then `RATE_LIMITED`
    /// (the right password too) until the window ends.
    #[arg(
        long,
        env = "CHECKOUT_LOGIN_FAILURES_PER_ACCOUNT",
        default_value_t = 10
    )]
    pub login_failures_per_account: u32,

    /// Wrong passwords allowed per client address in `--login-window-secs`.
    #[arg(
        long,
        env = "CHECKOUT_LOGIN_FAILURES_PER_ADDRESS",
        default_value_t = 50
    )]
    pub login_failures_per_address: u32,

    /// The window of the two wrong-password limits, in seconds.
    #[arg(long, env = "CHECKOUT_LOGIN_WINDOW_SECS", default_value_t = 900)]
    pub login_window_secs: u64,

    /// Sign-ups allowed per client address per hour.
    #[arg(
        long,
        env = "CHECKOUT_SIGNUPS_PER_ADDRESS_PER_HOUR",
        default_value_t = 20
    )]
    pub signups_per_address_per_hour: u32,

    /// Checkouts a shopper may start per minute (a person starts a few at most).
    #[arg(
        long,
        env = "CHECKOUT_INITIATIONS_PER_SHOPPER_PER_MINUTE",
        default_value_t = 10
    )]
    pub initiations_per_shopper_per_minute: u32,

    /// Changes to checkouts (shipping, payment, voucher, line removal) a shopper may
    /// make per minute.
    #[arg(
        long,
        env = "CHECKOUT_CHANGES_PER_SHOPPER_PER_MINUTE",
        default_value_t = 60
    )]
    pub changes_per_shopper_per_minute: u32,

    /// Card payments a shopper may send to the provider per hour (a defence against
    /// card testing with stolen numbers).
    #[arg(
        long,
        env = "CHECKOUT_CARD_ATTEMPTS_PER_SHOPPER_PER_HOUR",
        default_value_t = 10
    )]
    pub card_attempts_per_shopper_per_hour: u32,

    /// Card payments sent to the provider per hour from one client address (an IPv6
    /// address counts by its /64), whichever shoppers send them. Counted in the
    /// database like the per-shopper limit: a restart does not reset either.
    #[arg(
        long,
        env = "CHECKOUT_CARD_ATTEMPTS_PER_ADDRESS_PER_HOUR",
        default_value_t = 30
    )]
    pub card_attempts_per_address_per_hour: u32,

    /// Idempotency-Keys one shopper may hold at once (each is kept 24 hours); a request
    /// with a new key beyond that is `RATE_LIMITED`.
    #[arg(long, env = "CHECKOUT_IDEMPOTENCY_KEYS_PER_SHOPPER", default_value_t = 1_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub idempotency_keys_per_shopper: u32,

    /// A checkout that ended without an order (superseded, signed out, emptied,
    /// cancelled, expired) is deleted with its events this long after its last change
    /// (seconds; 90 days by default, at most 100 years). Orders, their checkouts and any
    /// checkout that began a payment are kept. Under a day is for tests and soak runs: a
    /// replayed answer (keys live 24 hours) may then name a checkout already purged.
    #[arg(long, env = "CHECKOUT_SESSION_RETENTION_SECS", default_value_t = 7_776_000,
          value_parser = clap::value_parser!(u64).range(60..=3_153_600_000))]
    pub session_retention_secs: u64,

    /// How long the link to a checkout that expired or was signed out of works after it
    /// ended (seconds; 7 days by default, 1 hour to 90 days; CONTRACT §16).
    #[arg(long, env = "CHECKOUT_RECOVERY_LINK_WINDOW_SECS", default_value_t = 604_800,
          value_parser = clap::value_parser!(i64).range(3_600..=7_776_000))]
    pub recovery_link_window_secs: i64,

    /// How often the outbox worker looks for order events to deliver when it has none
    /// in hand (milliseconds; right after a full batch it looks again at once).
    #[arg(long, env = "CHECKOUT_OUTBOX_POLL_MS", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub outbox_poll_ms: u64,

    /// Allow order events to endpoints on loopback, private and link-local addresses
    /// (a receiver on the shop's own network, tests). Off: such endpoints are refused
    /// when added, and any name that resolves to such an address when sent to.
    #[arg(long, env = "CHECKOUT_OUTBOX_ALLOW_PRIVATE")]
    pub outbox_allow_private: bool,

    /// A PEM file of CA certificates trusted besides the system's roots for HTTPS to
    /// order-event receivers (a private CA, tests).
    #[arg(long, env = "CHECKOUT_EXTRA_CA_FILE")]
    pub extra_ca_file: Option<PathBuf>,

    /// Origins besides the server's own whose pages may send state-changing requests
    /// (a storefront on another host), comma-separated: `https://shop.example`.
    #[arg(
        long = "trusted-origin",
        env = "CHECKOUT_TRUSTED_ORIGINS",
        value_delimiter = ','
    )]
    pub trusted_origins: Vec<String>,

    /// A request's headers must arrive within this long, and a keep-alive connection
    /// with no new request for this long is closed (seconds).
    #[arg(long, env = "CHECKOUT_HEADER_READ_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout_secs: u64,

    /// A request's body must arrive within this long (seconds).
    #[arg(long, env = "CHECKOUT_BODY_READ_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_read_timeout_secs: u64,

    /// Open connections at most; more are closed as they arrive.
    #[arg(long, env = "CHECKOUT_MAX_CONNECTIONS", default_value_t = 4_096,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,

    /// Open connections from one client address at most (behind a proxy, raise it or set
    /// it to --max-connections: every client then has the proxy's address).
    #[arg(long, env = "CHECKOUT_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 256,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections_per_address: u64,

    /// On SIGTERM, requests in flight get this long to finish (seconds); then the
    /// remaining connections are closed.
    #[arg(long, env = "CHECKOUT_SHUTDOWN_GRACE_SECS", default_value_t = 20)]
    pub shutdown_grace_secs: u64,

    /// On SIGTERM, first keep serving this long (seconds) with `/readyz` answering 503,
    /// so that a load balancer polling it stops sending new requests before the
    /// listener closes; then the shutdown grace begins. 0: stop taking connections at
    /// once (nothing can see the 503). Behind a load balancer set it above its health
    /// check's interval times its unhealthy threshold.
    #[arg(long, env = "CHECKOUT_DRAIN_SECS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub drain_secs: u64,

    /// The shop is served over HTTPS (directly or behind a TLS proxy): the login cookie
    /// is `__Host-cg_login` with `Secure` (a plain-HTTP page can neither read nor plant it).
    #[arg(long, env = "CHECKOUT_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// The payment provider's API as this server reaches it (the simulated provider,
    /// `checkout-payment-sim`, listens here by default).
    #[arg(
        long,
        env = "CHECKOUT_PAYMENT_PROVIDER_URL",
        default_value = "http://127.0.0.1:8081"
    )]
    pub payment_provider_url: String,

    /// The provider's address as shoppers' browsers reach it, for tokenizing cards
    /// (allowed in the storefront's Content-Security-Policy). Default: the same.
    #[arg(long, env = "CHECKOUT_PAYMENT_PROVIDER_PUBLIC_URL")]
    pub payment_provider_public_url: Option<String>,

    /// The provider's secret API key.
    #[arg(
        long,
        env = "CHECKOUT_PAYMENT_PROVIDER_API_KEY",
        default_value = "sk_test_simulated",
        hide_env_values = true
    )]
    pub payment_provider_api_key: String,

    /// The provider's publishable key, given to the storefront for tokenizing.
    #[arg(
        long,
        env = "CHECKOUT_PAYMENT_PUBLISHABLE_KEY",
        default_value = "pk_test_simulated"
    )]
    pub payment_publishable_key: String,

    /// The secret the provider signs its webhooks with; a second one (comma-separated)
    /// is accepted too during a rotation. Without one every webhook is refused.
    #[arg(
        long = "payment-webhook-secret",
        env = "CHECKOUT_PAYMENT_WEBHOOK_SECRET",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub payment_webhook_secrets: Vec<String>,

    /// Log lines as `text` (colours only when writing to a terminal) or `json` (one
    /// object per line, for a log collector).
    #[arg(long, env = "CHECKOUT_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,

    /// Send traces to this OpenTelemetry collector over OTLP/HTTP (its base URL, such
    /// as `http://127.0.0.1:4318`; `/v1/traces` is added): a span per request (continuing
    /// the caller's `traceparent`), database statement, provider call and order-event
    /// delivery. Off when unset.
    #[arg(long, env = "CHECKOUT_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,

    /// A read-only bearer token for `/metrics` (the admin token works there too), so a
    /// metrics scraper never holds the admin token. At least 16 characters.
    #[arg(long, env = "CHECKOUT_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// The shop backend's keys for `/api/v1/backend/*` (CONTRACT §24: checkouts from the
    /// shop's own priced cart), comma-separated so a new key can be rolled out before the
    /// old one is removed. At least 32 characters each; never the admin token. The
    /// backend routes refuse every request when none is set.
    #[arg(
        long = "backend-api-key",
        env = "CHECKOUT_BACKEND_API_KEY",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub backend_api_keys: Vec<String>,

    /// The storefront's address as shoppers reach it (`https://shop.example`): the `url`
    /// a backend-made checkout answers with is absolute under it. Without it, `url` is
    /// the page's path (`/checkout/?id=…`).
    #[arg(long, env = "CHECKOUT_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// The shop's identity provider's keys as a JSON Web Key Set URL (OpenID Connect's
    /// `jwks_uri`): tokens signed RS256, ES256 or EdDSA identify shoppers (CONTRACT
    /// §19). `https://`, or `http://` to loopback only.
    #[arg(long, env = "CHECKOUT_JWT_JWKS_URL")]
    pub jwt_jwks_url: Option<String>,

    /// How often the key set of `--jwt-jwks-url` is fetched again (seconds): a key the
    /// provider withdraws stops working within this time.
    #[arg(long, env = "CHECKOUT_JWT_JWKS_REFRESH_SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub jwt_jwks_refresh_secs: u64,

    /// The identity provider's keys as a JSON Web Key Set file (read at start).
    #[arg(long, env = "CHECKOUT_JWT_JWKS_FILE")]
    pub jwt_jwks_file: Option<PathBuf>,

    /// A shared secret for HS256 tokens instead of a key set (at least 32 characters).
    #[arg(long, env = "CHECKOUT_JWT_HS256_SECRET", hide_env_values = true)]
    pub jwt_hs256_secret: Option<String>,

    /// Tokens must have this `iss`.
    #[arg(long, env = "CHECKOUT_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// Tokens must have this `aud` (or list it).
    #[arg(long, env = "CHECKOUT_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,

    /// Browsers send the token in this cookie (besides `Authorization: Bearer`). The
    /// same cross-site rules apply as to the login cookie.
    #[arg(long, env = "CHECKOUT_JWT_COOKIE")]
    pub jwt_cookie: Option<String>,

    /// How long a sign-in with a built-in account lasts (seconds); the checkout it acts
    /// on ends with it (`INACTIVE/LOGIN_EXPIRED`) unless a newer sign-in acts on it.
    #[arg(long, env = "CHECKOUT_LOGIN_LIFETIME_SECS", default_value_t = 604_800,
          value_parser = clap::value_parser!(i64).range(60..=31_536_000))]
    pub login_lifetime_secs: i64,

    /// The catalog document (JSON, CONTRACT §17) stored on the first start, when the
    /// database has no catalog yet; without it the demo bakery
    /// (`catalogs/bakery.json`). Ignored (with a warning) once a catalog is stored:
    /// change it with `checkout-server catalog import FILE` or the admin API.
    #[arg(long, env = "CHECKOUT_CATALOG")]
    pub catalog: Option<PathBuf>,

    /// Print the OpenAPI document and exit.
    #[arg(long, hide = true)]
    pub print_openapi: bool,
}

/// The webhook secret of [`Config::for_tests`].
pub const TEST_WEBHOOK_SECRET: &str = "whsec_test_checkout_guard_webhooks";

impl Config {
    /// The payment provider client this configuration describes (refused: a provider
    /// address that is neither `https://` nor `http://` to loopback, or an unreadable
    /// `--extra-ca-file`).
    pub fn provider(&self) -> Result<crate::payments::HttpProvider, String> {
        let outbound = crate::outbound::Outbound::new(true, self.extra_ca_file.as_deref())?;
        crate::payments::HttpProvider::new(crate::payments::HttpProviderConfig {
            base: self.payment_provider_url.clone(),
            public_base: self
                .payment_provider_public_url
                .clone()
                .unwrap_or_else(|| self.payment_provider_url.clone()),
            api_key: self.payment_provider_api_key.clone(),
            publishable_key: self.payment_publishable_key.clone(),
            webhook_secrets: self.webhook_secrets(),
            timeout: std::time::Duration::from_millis(self.gateway_timeout_ms.max(1)),
            outbound,
        })
    }

    /// The shop backend's keys (`new, old` is `new,old`).
    pub fn backend_keys(&self) -> Vec<String> {
        self.backend_api_keys
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The payment provider's webhook secrets (`new, old` is `new,old`).
    pub fn webhook_secrets(&self) -> Vec<String> {
        self.payment_webhook_secrets
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

mod check;
pub mod data_dir;
mod derived;
pub mod file;
mod for_tests;
pub mod secrets;

pub use check::MIN_SECRET_LEN;

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Config, DEFAULT_DATABASE_MAX_CONNECTIONS};

    #[test]
    fn database_connections_default_and_refuse_zero() {
        let parsed = Config::try_parse_from(["checkout-server"]).unwrap();
        assert_eq!(
            parsed.database_max_connections,
            DEFAULT_DATABASE_MAX_CONNECTIONS
        );
        let parsed =
            Config::try_parse_from(["checkout-server", "--database-max-connections", "4"]).unwrap();
        assert_eq!(parsed.database_max_connections, 4);
        let refused =
            Config::try_parse_from(["checkout-server", "--database-max-connections", "0"])
                .unwrap_err()
                .to_string();
        assert!(refused.contains("--database-max-connections"), "{refused}");
    }
}
