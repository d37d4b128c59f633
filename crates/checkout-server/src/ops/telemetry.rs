//! Logging and traces. Logs: one line per request (with its id) through tracing,
//! filtered by `RUST_LOG`, as text or JSON (`--log-format`). Traces (CONTRACT §22): with
//! `--otlp-endpoint`, tracing's spans go to an OpenTelemetry collector over OTLP/HTTP
//! (protobuf, batched): one per request (continuing the caller's W3C `traceparent`), per
//! database statement, per provider call and per order-event delivery; outgoing calls
//! carry `traceparent` on, and an order event keeps the trace of the request that made
//! it, so its deliveries join that trace later.

use std::collections::HashMap;

use opentelemetry::{
    propagation::{Injector, TextMapPropagator},
    trace::TracerProvider as _,
};
use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{
    filter::FilterExt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter, Layer,
};

/// What the trace layer records: requests, provider calls and deliveries (info), and
/// database statements (debug, so without traces their spans cost nothing). Never the
/// exporter's own work (its HTTP client, its failure reports: those are logged).
const TRACE_FILTER: &str = "info,checkout_server::db=debug,sqlx=warn,opentelemetry=off,\
    opentelemetry_sdk=off,opentelemetry_otlp=off,opentelemetry-otlp=off,reqwest=off,hyper=off,\
    hyper_util=off";

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
            // A statement is traced inside a request, delivery or other span only: the
            // background passes' statements alone would be a trace each, every few
            // seconds, on an idle server.
            let within_a_span = tracing_subscriber::filter::DynFilterFn::new(|meta, cx| {
                !meta.target().starts_with("checkout_server::db") || cx.lookup_current().is_some()
            });
            let layer = tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("checkout-server"))
                .with_filter(EnvFilter::new(TRACE_FILTER).and(within_a_span));
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
    if !(base.starts_with("http://") || base.starts_with("https://")) || base.len() < 10 {
        return Err(format!(
            "--otlp-endpoint: {endpoint:?} is not an http:// or https:// URL"
        ));
    }
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
        .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOn)
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// Continues the caller's trace: `span` (a request's) becomes a child of the
/// `traceparent` in `headers`, when there is exactly one and it is well formed (W3C:
/// version `00`, 32 and 16 lower-case hex digits, neither all zeros). Only the ids are
/// taken: `tracestate` is the caller's text and is never copied into our spans, and the
/// caller's "not sampled" flag is not obeyed (every request is traced).
pub fn continue_trace(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    let mut values = headers.get_all("traceparent").iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return;
    };
    let Some(parent) = value.to_str().ok().and_then(well_formed) else {
        return;
    };
    let carrier = HashMap::from([("traceparent".to_owned(), parent)]);
    let _ = span.set_parent(TraceContextPropagator::new().extract(&carrier));
}

/// `value` as a W3C `traceparent` of version `00`, or `None`.
fn well_formed(value: &str) -> Option<String> {
    let hex = |part: &str, len: usize| {
        part.len() == len
            && part
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && part.bytes().any(|b| b != b'0')
    };
    match value.split('-').collect::<Vec<_>>()[..] {
        ["00", trace, parent, flags] if hex(trace, 32) && hex(parent, 16) && flags.len() == 2 => {
            // Sampled whatever the caller says.
            Some(format!("00-{trace}-{parent}-01"))
        }
        _ => None,
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

/// A request's address as the log and traces write it: the path, with a card number
/// put in it masked, and the query's names only — every value is left out (a recovery
/// link's token, an email someone typed into a search), as `?token=…&email=…`.
/// Formatted only when the request's log line is written.
#[derive(Debug)]
pub struct LoggedUri<'a>(pub &'a axum::http::Uri);

impl std::fmt::Display for LoggedUri<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&masked(self.0.path()))?;
        let Some(query) = self.0.query() else {
            return Ok(());
        };
        for (i, pair) in query.split('&').enumerate() {
            let name = pair.split('=').next().unwrap_or_default();
            let name: String = name.chars().take(40).collect();
            f.write_str(if i == 0 { "?" } else { "&" })?;
            f.write_str(&masked(&name))?;
            if pair.contains('=') {
                f.write_str("=…")?;
            }
        }
        Ok(())
    }
}

/// `text` with any card number in it masked (percent-encoded digits, `%34%32…`, count
/// too: judged, and then written, decoded).
fn masked(text: &str) -> std::borrow::Cow<'_, str> {
    let decoded = if text.contains('%') {
        std::borrow::Cow::Owned(percent_decoded(text))
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    if decoded.bytes().filter(u8::is_ascii_digit).count() < 12 {
        return std::borrow::Cow::Borrowed(text);
    }
    let masked = checkout_core::payment::mask_card_numbers(&decoded);
    if masked == *decoded {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(masked)
    }
}

/// `text` with each `%XX` that encodes a printable ASCII character decoded.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) if bytes[i] == b'%' && (0x20..0x7f).contains(&b) => {
                out.push(char::from(b));
                i += 3;
            }
            _ => {
                out.push(char::from(bytes[i]));
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_address_keeps_the_query_names_only() {
        let uri: axum::http::Uri = "/restore/?token=cgl1.secret&email=a%40b.example&flag"
            .parse()
            .unwrap_or_default();
        assert_eq!(
            LoggedUri(&uri).to_string(),
            "/restore/?token=…&email=…&flag"
        );
        let uri: axum::http::Uri = "/api/v1/checkouts/4242424242424242?x=1"
            .parse()
            .unwrap_or_default();
        let logged = LoggedUri(&uri).to_string();
        assert!(
            !logged.contains("42424242") && logged.ends_with("?x=…"),
            "{logged}"
        );
    }
}
