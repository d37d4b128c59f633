//! Prometheus metrics (`GET /metrics`, text format) with the official `prometheus-client`
//! crate: initiations, transitions (supersessions, expiries, …), rejections by code,
//! orders, payments by outcome, a request latency histogram by route, and on SQLite how
//! many write transactions share a commit, how long each holds the one writer, and the
//! time spent in each statement (by connection: the writer or a reader).

use std::{sync::OnceLock, time::Instant};

use axum::{
    extract::{MatchedPath, Request},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};
use checkout_core::{ErrorCode, Transition};
use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{
        counter::Counter,
        family::Family,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Label {
    name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
    status: String,
}

type Latency = Family<RouteLabels, Histogram, fn() -> Histogram>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatementLabels {
    connection: &'static str,
    statement: String,
}

type Seconds = Counter<f64, std::sync::atomic::AtomicU64>;

struct Metrics {
    registry: Registry,
    initiations: Counter,
    transitions: Family<Label, Counter>,
    rejections: Family<Label, Counter>,
    orders: Family<Label, Counter>,
    payments: Family<Label, Counter>,
    outbox: Family<Label, Counter>,
    webhooks: Family<Label, Counter>,
    latency: Latency,
    sqlite_batches: Histogram,
    sqlite_scanned: Counter,
    sqlite_held: Family<Label, Histogram, fn() -> Histogram>,
    sqlite_seconds: Family<StatementLabels, Seconds>,
    sqlite_runs: Family<StatementLabels, Counter>,
    hashes_refused: Counter,
    connections_refused: Counter,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms … ~4 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let mut registry = Registry::default();
        let initiations = Counter::default();
        let transitions = Family::<Label, Counter>::default();
        let rejections = Family::<Label, Counter>::default();
        let orders = Family::<Label, Counter>::default();
        let payments = Family::<Label, Counter>::default();
        let outbox = Family::<Label, Counter>::default();
        let webhooks = Family::<Label, Counter>::default();
        registry.register(
            "checkout_payment_webhooks",
            "Payment provider webhooks by result (applied, duplicate, bad_signature, malformed)",
            webhooks.clone(),
        );
        registry.register(
            "checkout_outbox_attempts",
            "Order event deliveries to downstream endpoints by outcome (delivered, retry)",
            outbox.clone(),
        );
        let latency: Latency = Family::new_with_constructor(latency_histogram);
        // 1 … 64 write transactions per commit.
        let sqlite_batches = Histogram::new(exponential_buckets(1.0, 2.0, 7));
        registry.register(
            "checkout_initiations",
            "Checkouts started",
            initiations.clone(),
        );
        registry.register(
            "checkout_transitions",
            "Session transitions by name (Supersede, Expire, SignOut, …)",
            transitions.clone(),
        );
        registry.register(
            "checkout_rejections",
            "Refused requests by code",
            rejections.clone(),
        );
        registry.register("checkout_orders", "Orders created by kind", orders.clone());
        registry.register(
            "checkout_payments",
            "Settled payments by outcome (charged, declined, refunded)",
            payments.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Request latency by route and status",
            latency.clone(),
        );
        registry.register(
            "checkout_sqlite_commit_batch_size",
            "SQLite: write transactions that shared one commit (group commit)",
            sqlite_batches.clone(),
        );
        let sqlite_scanned = Counter::default();
        registry.register(
            "checkout_sqlite_full_scan_rows",
            "SQLite: rows statements stepped through in full table scans (a cost that grows with the data)",
            sqlite_scanned.clone(),
        );
        let sqlite_held: Family<Label, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "checkout_sqlite_writer_held_seconds",
            "SQLite: how long the one writer was held, by holder (transaction, commit, checkpoint)",
            sqlite_held.clone(),
        );
        let sqlite_seconds = Family::<StatementLabels, Seconds>::default();
        registry.register(
            "checkout_sqlite_statement_seconds",
            "SQLite: time spent running each statement (its first 160 characters), by connection",
            sqlite_seconds.clone(),
        );
        let sqlite_runs = Family::<StatementLabels, Counter>::default();
        registry.register(
            "checkout_sqlite_statement_runs",
            "SQLite: runs of each statement (its first 160 characters), by connection",
            sqlite_runs.clone(),
        );
        let hashes_refused = Counter::default();
        registry.register(
            "checkout_password_hashes_refused",
            "Sign-ins and sign-ups answered SERVICE_UNAVAILABLE: every hashing slot was busy",
            hashes_refused.clone(),
        );
        let connections_refused = Counter::default();
        registry.register(
            "checkout_connections_refused",
            "Connections closed on arrival: --max-connections were open",
            connections_refused.clone(),
        );
        Metrics {
            connections_refused,
            hashes_refused,
            registry,
            initiations,
            transitions,
            rejections,
            orders,
            payments,
            outbox,
            webhooks,
            latency,
            sqlite_batches,
            sqlite_scanned,
            sqlite_held,
            sqlite_seconds,
            sqlite_runs,
        }
    })
}

fn label(name: &str) -> Label {
    Label {
        name: name.to_owned(),
    }
}

/// A checkout was started.
pub fn initiation() {
    metrics().initiations.inc();
}

/// A session transition happened.
pub fn transition(step: Transition) {
    metrics()
        .transitions
        .get_or_create(&label(&format!("{step:?}")))
        .inc();
}

/// A request was refused.
pub fn rejection(code: ErrorCode) {
    metrics()
        .rejections
        .get_or_create(&label(code.as_str()))
        .inc();
}

/// An order was created.
pub fn order(kind: &str) {
    metrics().orders.get_or_create(&label(kind)).inc();
}

/// An outbox delivery was attempted.
pub fn outbox_attempt(delivered: bool) {
    let outcome = if delivered { "delivered" } else { "retry" };
    metrics().outbox.get_or_create(&label(outcome)).inc();
}

/// A payment was settled.
pub fn payment(outcome: &str) {
    metrics().payments.get_or_create(&label(outcome)).inc();
}

/// A payment provider webhook arrived (`applied`, `duplicate`, `bad_signature`, …).
pub fn webhook(result: &str) {
    metrics().webhooks.get_or_create(&label(result)).inc();
}

/// A SQLite batch of `transactions` write transactions committed.
pub fn sqlite_batch(transactions: usize) {
    metrics().sqlite_batches.observe(transactions as f64);
}

/// The one SQLite writer was held for `took` by `holder` (a write transaction, the
/// commit of a batch, the step of a checkpoint that holds it).
pub fn sqlite_writer_held(holder: &str, took: std::time::Duration) {
    metrics()
        .sqlite_held
        .get_or_create(&label(holder))
        .observe(took.as_secs_f64());
}

/// Characters of a statement's text that name it on `/metrics`.
const STATEMENT_LABEL: usize = 160;

/// A SQLite statement ran for `took` on the writer or on a reader. The statement is
/// named by its first 160 characters (past the column lists, to its table and
/// condition), whitespace runs shown as one space: a fixed set
/// (the server's own statements), never anything a client sent.
pub fn sqlite_statement(writer: bool, sql: &str, took: std::time::Duration) {
    let mut statement = String::with_capacity(STATEMENT_LABEL);
    for word in sql.split_whitespace() {
        if !statement.is_empty() {
            statement.push(' ');
        }
        statement.push_str(word);
        if statement.len() >= STATEMENT_LABEL {
            break;
        }
    }
    if let Some((end, _)) = statement.char_indices().nth(STATEMENT_LABEL) {
        statement.truncate(end);
    }
    let labels = StatementLabels {
        connection: if writer { "writer" } else { "reader" },
        statement,
    };
    let m = metrics();
    m.sqlite_seconds
        .get_or_create(&labels)
        .inc_by(took.as_secs_f64());
    m.sqlite_runs.get_or_create(&labels).inc();
}

/// One run of a SQLite statement scanning more rows than this is logged (at most once
/// a minute): a query whose cost grows with the stored data.
pub const SCAN_WARN_ROWS: u64 = 10_000;

/// A SQLite statement stepped through `rows` rows of full table scans in one run;
/// whether to log it.
pub fn sqlite_scan(rows: i32) -> bool {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST_WARNED: AtomicU64 = AtomicU64::new(0);
    let Ok(rows @ 1..) = u64::try_from(rows) else {
        return false;
    };
    metrics().sqlite_scanned.inc_by(rows);
    if rows < SCAN_WARN_ROWS {
        return false;
    }
    let minute = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 60);
    LAST_WARNED.swap(minute, Ordering::Relaxed) != minute
}

/// Middleware: observes each request's latency under its route template.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Only the methods the API knows get their own label: a made-up method must not
    // make a new series (the page would grow with every attacker's request).
    let method = match request.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m,
        _ => "OTHER",
    }
    .to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    metrics()
        .latency
        .get_or_create(&RouteLabels {
            method,
            route,
            status: response.status().as_u16().to_string(),
        })
        .observe(started.elapsed().as_secs_f64());
    response
}

/// A connection was closed at once: the cap on open connections was reached.
pub fn connection_refused() {
    metrics().connections_refused.inc();
}

/// A password hash was refused: no hashing slot freed up in time.
pub fn hash_refused() {
    metrics().hashes_refused.inc();
}

/// The body of `GET /metrics` (routed for operators only: the admin bearer token).
pub fn render() -> Response {
    let mut text = String::new();
    if encode(&mut text, &metrics().registry).is_err() {
        return (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "metrics encoding failed",
        )
            .into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
