//! The command line of CONTRACT §6a. Every flag can also come from `CHECKOUT_<NAME>`.

use std::{net::SocketAddr, path::PathBuf};

use clap::Parser;

/// Checkout Guard server: one active checkout per shopper, immutable snapshots, expiry,
/// checks before every order action, and never a second order for one checkout.
#[derive(Debug, Clone, Parser)]
#[command(name = "checkout-server", version, about)]
pub struct Config {
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
}

impl Config {
    /// A configuration for tests: loopback on a free port, the given data directory.
    pub fn for_tests(data_dir: PathBuf) -> Config {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            database_url: None,
            static_dir: PathBuf::from("www"),
            admin_token: Some("test-admin-token".into()),
            test_clock: true,
        }
    }
}
