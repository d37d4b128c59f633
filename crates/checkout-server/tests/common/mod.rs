//! Test harness: a real server on a loopback port with a real database (a fresh SQLite
//! file in a temporary directory, or a fresh PostgreSQL database when
//! `CHECKOUT_TEST_POSTGRES_URL` names a server), and shoppers as real HTTP clients with
//! their own cookie jars.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use checkout_server::{config::Config, Running};
use reqwest::{header::HeaderMap, Client, Method};
use serde_json::{json, Value};

pub mod receiver;

mod database;
mod idp;
mod process;
mod provider;
mod server;
mod shopper;

// Each test uses some of them.
#[allow(unused_imports)]
pub use self::{database::*, idp::*, process::*, provider::*, server::*, shopper::*};

pub const ADMIN: &str = "test-admin-token";

pub use checkout_server::config::TEST_WEBHOOK_SECRET;

/// Runs `body` on SQLite, and on PostgreSQL when one is configured (printing clearly
/// when it is not, so a skipped backend is never mistaken for a pass).
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:path) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                $body(common::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if common::postgres_admin_url().is_none() {
                    println!(
                        "SKIPPED (no CHECKOUT_TEST_POSTGRES_URL): {}::postgres",
                        stringify!($name)
                    );
                    return;
                }
                $body(common::Backend::Postgres).await;
            }
        }
    };
}
