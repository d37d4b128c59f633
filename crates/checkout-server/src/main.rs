//! `checkout-server`: the authoritative Checkout Guard HTTP server. Everything lives in
//! the library; this file only reads the command line and starts it.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = checkout_server::config::Config::parse();
    if config.print_openapi {
        match serde_json::to_string_pretty(&checkout_server::openapi()) {
            Ok(doc) => {
                println!("{doc}");
                return std::process::ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!("checkout-server: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    if let Err(error) = config.check() {
        eprintln!("checkout-server: {error}");
        return std::process::ExitCode::FAILURE;
    }
    checkout_server::telemetry::init(&config.log_format);
    match checkout_server::serve(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "checkout-server stopped");
            eprintln!("checkout-server: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
