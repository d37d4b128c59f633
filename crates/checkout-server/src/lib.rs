//! The authoritative Checkout Guard server: axum over sqlx, with every checkout rule taken
//! from `checkout-core`. Each feature is a module with its own router; [`app`] assembles
//! them, [`serve`] binds, runs and shuts down cleanly.

pub mod config;
pub mod health;
pub mod telemetry;

use std::net::SocketAddr;

use axum::Router;
use tower_http::services::ServeDir;

/// The whole HTTP application.
pub fn app(config: &config::Config) -> Router {
    Router::new()
        .merge(health::router())
        .fallback_service(ServeDir::new(&config.static_dir))
}

/// Binds, serves until SIGTERM or Ctrl-C, then finishes requests in flight.
pub async fn serve(config: config::Config) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    let addr: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(%addr, "checkout-server listening");
    println!("checkout-server listening on http://{addr}");
    axum::serve(listener, app(&config))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
