//! Logging: one line per request (with its id) through tracing, filtered by `RUST_LOG`,
//! as text or JSON (`--log-format`).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (idempotent: a second call is ignored): `json` writes
/// one JSON object per line; `text` colours its lines only when standard output is a
/// terminal (never escape codes in a file or a journal).
pub fn init(format: &str) {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = if format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder
            .with_ansi(std::io::stdout().is_terminal())
            .try_init()
    };
}
