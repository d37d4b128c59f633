//! Logging and traces. Logs: one line per request (with its id) through tracing,
//! filtered by `RUST_LOG`, as text or JSON (`--log-format`). Traces (CONTRACT §22): with
//! `--otlp-endpoint`, tracing's spans go to an OpenTelemetry collector over OTLP/HTTP
//! (protobuf, batched): one per request (continuing the caller's W3C `traceparent`), per
//! database statement, per provider call and per order-event delivery; outgoing calls
//! carry `traceparent` on, and an order event keeps the trace of the request that made
//! it, so its deliveries join that trace later.

use std::collections::HashMap;

use opentelemetry::{
    propagation::{Extractor, Injector, TextMapPropagator},
    trace::TracerProvider as _,
};
use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt, EnvFilter, Layer};

/// What the trace layer records: requests, provider calls and deliveries (info), and
/// database statements (debug, so without traces their spans cost nothing).
const TRACE_FILTER: &str = "info,checkout_server::db=debug,sqlx=warn";

/// The exporter of a server started with `--otlp-endpoint`: flushes on [`Traces::shutdown`].
#[derive(Debug)]
pub struct Traces(SdkTracerProvider);

impl Traces {
    /// Sends what is still batched, then stops (at the server's exit).
    pub fn shutdown(self) {
        if let Err(error) = self.0.shutdown() {
            eprintln!("checkout-server: traces not flushed: {error}");
        }
    }
}

/// Installs the global subscriber (a second call is ignored): logs as `format` says
/// (`json`: one JSON object per line; `text`: colours only when standard output is a
/// terminal, never escape codes in a file or a journal), and with `otlp_endpoint`
/// (the collector's base URL; `/v1/traces` is added) traces too.
pub fn init(format: &str, otlp_endpoint: Option<&str>) -> Result<Option<Traces>, String> {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let logs = tracing_subscriber::fmt::layer().with_target(false);
    let logs = if format == "json" {
        logs.json().flatten_event(true).with_filter(filter).boxed()
    } else {
        logs.with_ansi(std::io::stdout().is_terminal())
            .with_filter(filter)
            .boxed()
    };
    let (traces, exporter) = match otlp_endpoint {
        Some(endpoint) => {
            let provider = tracer_provider(endpoint)?;
            let layer = tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("checkout-server"))
                .with_filter(EnvFilter::new(TRACE_FILTER));
            (Some(layer), Some(Traces(provider)))
        }
        None => (None, None),
    };
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .try_init();
    Ok(exporter)
}

fn tracer_provider(endpoint: &str) -> Result<SdkTracerProvider, String> {
    use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
    let base = endpoint.trim_end_matches('/');
    let url = if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    };
    // The exporter sends from its own thread with a blocking client, which must also
    // be made outside the async runtime.
    let client = std::thread::spawn(|| {
        reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(std::time::Duration::from_secs(10))
            .build()
    })
    .join()
    .map_err(|_| "--otlp-endpoint: the HTTP client could not be made".to_owned())?
    .map_err(|e| format!("--otlp-endpoint: {e}"))?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_endpoint(url)
        .build()
        .map_err(|e| format!("--otlp-endpoint: {e}"))?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("checkout-server")
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

struct Headers<'a>(&'a axum::http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(axum::http::HeaderName::as_str).collect()
    }
}

/// Continues the caller's trace: `span` (a request's) becomes a child of the
/// `traceparent` in `headers`, when there is a valid one.
pub fn continue_trace(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    if headers.contains_key("traceparent") {
        let parent = TraceContextPropagator::new().extract(&Headers(headers));
        let _ = span.set_parent(parent);
    }
}

/// Joins `span` (a delivery's) to the trace of a stored `traceparent`.
pub fn join_trace(span: &tracing::Span, traceparent: Option<&str>) {
    if let Some(value) = traceparent {
        let carrier = HashMap::from([("traceparent".to_owned(), value.to_owned())]);
        let _ = span.set_parent(TraceContextPropagator::new().extract(&carrier));
    }
}

/// The W3C `traceparent` of the current span, when traces are on and it is sampled.
pub fn traceparent() -> Option<String> {
    struct One(Option<String>);
    impl Injector for One {
        fn set(&mut self, key: &str, value: String) {
            if key == "traceparent" {
                self.0 = Some(value);
            }
        }
    }
    let context = tracing::Span::current().context();
    let mut one = One(None);
    TraceContextPropagator::new().inject_context(&context, &mut one);
    one.0
}
