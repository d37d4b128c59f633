//! `checkout-server`: the authoritative Checkout Guard HTTP server. Everything lives in
//! the library; this file only reads the command line and starts it.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = checkout_server::config::Config::parse();
    checkout_server::telemetry::init();
    match checkout_server::serve(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "checkout-server stopped");
            eprintln!("checkout-server: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
