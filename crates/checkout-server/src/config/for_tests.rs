//! The configuration the tests start servers with.

use std::{net::SocketAddr, path::PathBuf};

use super::{Config, DEFAULT_DATABASE_MAX_CONNECTIONS, TEST_WEBHOOK_SECRET};

impl Config {
    /// A configuration for tests: loopback on a free port, the given data directory.
    pub fn for_tests(data_dir: PathBuf) -> Config {
        Config {
            config: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            database_url: None,
            database_max_connections: DEFAULT_DATABASE_MAX_CONNECTIONS,
            static_dir: PathBuf::from("www"),
            admin_token: Some("test-admin-token".into()),
            test_clock: true,
            token_secret: None,
            previous_token_secret: None,
            argon2_memory_kib: 1_024,
            gateway_timeout_ms: 10_000,
            reconcile_after_secs: 60,
            payment_action_timeout_secs: 900,
            sweep_every_ms: 200,
            max_concurrent_hashes: None,
            // Hundreds of concurrent sign-ups wait for their turn instead of a 503.
            hash_wait_ms: 60_000,
            // Tests sign many shoppers up from one address and start many checkouts
            // quickly; the throttling tests set these back to small numbers.
            login_failures_per_account: 10,
            login_failures_per_address: 10_000,
            login_window_secs: 900,
            signups_per_address_per_hour: 1_000_000,
            initiations_per_shopper_per_minute: 1_000_000,
            changes_per_shopper_per_minute: 1_000_000,
            card_attempts_per_shopper_per_hour: 1_000_000,
            card_attempts_per_address_per_hour: 1_000_000,
            idempotency_keys_per_shopper: 100_000,
            session_retention_secs: 7_776_000,
            recovery_link_window_secs: 604_800,
            outbox_poll_ms: 50,
            // Tests' receivers listen on 127.0.0.1; the policy's own tests turn it off.
            outbox_allow_private: true,
            extra_ca_file: None,
            trusted_origins: Vec::new(),
            secure_cookies: false,
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 10,
            max_connections: 4_096,
            max_connections_per_address: 4_096,
            shutdown_grace_secs: 20,
            drain_secs: 0,
            // Nothing listens on the discard port: tests that pay start a provider.
            payment_provider_url: "http://127.0.0.1:9".into(),
            payment_provider_public_url: None,
            payment_provider_api_key: "sk_test_simulated".into(),
            payment_publishable_key: "pk_test_simulated".into(),
            payment_webhook_secrets: vec![TEST_WEBHOOK_SECRET.into()],
            log_format: "text".into(),
            otlp_endpoint: None,
            metrics_token: None,
            backend_api_keys: Vec::new(),
            public_url: None,
            jwt_jwks_url: None,
            jwt_jwks_refresh_secs: 300,
            jwt_jwks_file: None,
            jwt_hs256_secret: None,
            jwt_issuer: None,
            jwt_audience: None,
            jwt_cookie: None,
            login_lifetime_secs: 604_800,
            catalog: None,
            print_openapi: false,
        }
    }
}
