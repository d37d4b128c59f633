//! The debug server the browser and API tools run against (end-to-end tests,
//! schemathesis, the Vite storefront): its own scratch data directory and simulated
//! payment provider.

use crate::{
    root,
    tools::{self, run, Cmd},
};

/// Builds and starts the debug server for browser and API tools: a scratch data directory named
/// after `what`, the storefront, the test clock, a cheap password hash, sign-ups from one
/// address unthrottled, and `extra` flags. Returns it with the directory to remove.
pub fn test_server(
    what: &str,
    extra: &[&str],
) -> Result<(tools::ServerProcess, std::path::PathBuf), String> {
    run(Cmd::new("cargo").args([
        "build",
        "--package",
        "checkout-server",
        "--package",
        "checkout-payment-sim",
        "--bins",
    ]))?;
    // The simulated payment provider, its own process, as in production.
    let secret = tools::webhook_secret();
    let provider = tools::spawn_provider(
        &root().join("target/debug/checkout-payment-sim"),
        &secret,
        &["--test-control", "--webhook-delay-ms", "200"],
    )?;
    let scratch = std::env::temp_dir().join(format!("checkout-{what}-{}", std::process::id()));
    let data = scratch.to_string_lossy().into_owned();
    let www = root().join("www").to_string_lossy().into_owned();
    let mut args = vec![
        "--bind",
        "127.0.0.1:0",
        "--data-dir",
        &data,
        "--static-dir",
        &www,
        "--admin-token",
        E2E_ADMIN_TOKEN,
        "--test-clock",
        "--argon2-memory-kib",
        "1024",
        // The tests sign many shoppers up from one address.
        "--signups-per-address-per-hour",
        "100000000",
        // And pay from it: more card payments than an address may make in an hour.
        "--card-attempts-per-address-per-hour",
        "100000000",
        "--payment-provider-url",
        &provider.url,
        "--payment-webhook-secret",
        &secret,
    ];
    args.extend_from_slice(extra);
    let mut server = tools::spawn_server(&root().join("target/debug/checkout-server"), &args)?;
    tools::send_webhooks_to(&provider.url, &server.url)?;
    server.provider = Some(Box::new(provider));
    Ok((server, scratch))
}

/// The admin token of the end-to-end server.
pub const E2E_ADMIN_TOKEN: &str = "e2e-admin-token-for-tests";
