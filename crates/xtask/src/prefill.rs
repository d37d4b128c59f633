//! `cargo xtask bench-server --prefill N`: a database that already holds N checkouts
//! before the timed phases, as a shop's does after months (CONTRACT §11 keeps ended
//! checkouts for `--session-retention-secs`, orders for ever).
//!
//! The rows are made in the database, not through HTTP (five million checkouts through
//! the API would take hours): a short seed run of `checkout-load` makes real checkouts,
//! orders, events and keys through the server, and one SQL script per database copies
//! the seed's newest completed checkout N times with new ids, shoppers, numbers and
//! times. So every prefilled row has the bytes and the shape the server writes today
//! (its snapshot, pricing input, events, order, answer), and nothing here restates
//! the server's JSON. Of every ten checkouts four were ordered (with their order, the
//! order's outbox event when the seed made one, and the place-order key while it is
//! younger than a day) and six expired unordered (the newest one in a thousand still
//! live); five checkouts per shopper; their
//! times spread over the last 80 days, inside the default retention, so the sweeper
//! purges none of them during the run.
//!
//! SQLite runs the script with the `sqlite3` shell (installed when missing), PostgreSQL
//! with `psql`; the server is stopped meanwhile, and started again on the filled
//! database for the timed phases.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::tools::{self, run, Cmd};

/// Checkouts per prefilled shopper.
const PER_SHOPPER: u64 = 5;
/// The prefilled checkouts' times spread over this many days before now.
const SPREAD_DAYS: u64 = 80;

/// The tables the script fills.
const FILLED: [&str; 7] = [
    "users",
    "checkout_sessions",
    "checkout_events",
    "session_snapshots",
    "orders",
    "outbox_events",
    "idempotency_keys",
];

/// Where the rows go.
pub enum Target<'a> {
    Sqlite(&'a std::path::Path),
    Postgres(&'a str),
}

/// A 36-character id in the form of the server's UUIDs, below every UUIDv7 the server
/// makes (so prefilled rows sort as the old rows they stand for): `prefix` (one hex
/// digit) tells the kinds apart, `expr` is the number.
fn id(target: &Target, prefix: char, expr: &str) -> String {
    match target {
        Target::Sqlite(_) => format!("printf('0000000{prefix}-0000-7000-8000-%012d', {expr})"),
        Target::Postgres(_) => {
            format!("'0000000{prefix}-0000-7000-8000-' || lpad(({expr})::text, 12, '0')")
        }
    }
}

/// The script that copies the seed's newest completed checkout `n` times.
pub fn script(target: &Target, n: u64, now_ms: u64) -> String {
    let shoppers = n.div_ceil(PER_SHOPPER).max(1);
    let span = SPREAD_DAYS * 86_400_000;
    // The numbers 1..=count as the table `series(i)` of the statement that follows.
    let series_to = |count: u64| {
        match target {
        Target::Sqlite(_) => format!(
            "WITH RECURSIVE series(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM series WHERE i < {count})"
        ),
        Target::Postgres(_) => format!("WITH series(i) AS (SELECT generate_series(1, {count}))"),
    }
    };
    let (series, shopper_series) = (series_to(n), series_to(shoppers));
    let session = id(target, '1', "i");
    let shopper = id(target, '2', &format!("1 + i % {shoppers}"));
    let order = id(target, '3', "i");
    // The i-th checkout started at `at` (oldest first), ordered when i % 10 < 4.
    let at = format!("({now_ms} - {span} + i * {span} / {n})");
    let ordered = "i % 10 < 4";
    // The newest unordered one in a thousand is still live (expiring an hour from the
    // load's start, after the timed phases even at 5 M), as a shop always has some: PostgreSQL's statistics, taken right
    // after the load, then describe the live checkouts' indexes as they are. Taken with
    // none live, they made its planner read a shopper's live checkout through the
    // smallest index of live checkouts (`login_sid`, nearly all NULL) and filter every
    // live one: initiations fell to half at 5 M (measured, BENCHMARKS.md).
    let live = format!("i > {n} - {n} / 1000");
    let recent = format!("{at} > {now_ms} - 82800000");
    // SQLite: one rollback journal for the load (in WAL mode a transaction this large
    // spills the same pages to the log again and again), a large page cache, and WAL
    // again after, as the server keeps it.
    let (before, after) = match target {
        Target::Sqlite(_) => (
            "PRAGMA journal_mode = DELETE;\nPRAGMA cache_size = -524288;\n",
            "PRAGMA journal_mode = WAL;\n",
        ),
        Target::Postgres(_) => ("", ""),
    };
    // PostgreSQL: the filled tables' secondary indexes are dropped for the load and built
    // again after it (one sorted build each instead of millions of inserts into B-trees
    // larger than its buffers: the 5 M event insert was still running after 13 minutes),
    // and the foreign-key triggers are off for the load (the rows are consistent by
    // construction; this needs a superuser, as the benchmarks' database has).
    let filled = FILLED.map(|t| format!("'{t}'")).join(", ");
    let (load, built) = match target {
        Target::Sqlite(_) => (String::new(), ""),
        Target::Postgres(_) => (
            format!(
                "SET LOCAL session_replication_role = replica;
SET LOCAL maintenance_work_mem = '1GB';
CREATE TEMP TABLE dropped_indexes AS
  SELECT i.indexname, i.indexdef FROM pg_indexes i
  WHERE i.schemaname = current_schema() AND i.tablename IN ({filled})
    AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname);
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT indexname FROM dropped_indexes LOOP EXECUTE format('DROP INDEX %I', r.indexname); END LOOP;
END $$;
"
            ),
            "DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT indexdef FROM dropped_indexes LOOP EXECUTE r.indexdef; END LOOP;
END $$;
",
        ),
    };
    format!(
        "{before}BEGIN;
CREATE TEMP TABLE seed AS
  SELECT * FROM checkout_sessions
  WHERE status = 'COMPLETED' AND metadata IS NULL
    AND id IN (SELECT session_id FROM orders)
  ORDER BY seq DESC LIMIT 1;
CREATE TEMP TABLE seed_events AS
  SELECT * FROM checkout_events WHERE session_id IN (SELECT id FROM seed);
CREATE TEMP TABLE seed_snapshots AS
  SELECT * FROM session_snapshots WHERE session_id IN (SELECT id FROM seed);
CREATE TEMP TABLE seed_order AS SELECT * FROM orders WHERE session_id IN (SELECT id FROM seed);
CREATE TEMP TABLE seed_outbox AS
  SELECT * FROM outbox_events WHERE checkout_id IN (SELECT id FROM seed);
CREATE TEMP TABLE seed_key AS
  SELECT k.*, replace(k.endpoint, t.id, '{{id}}') AS pattern
  FROM idempotency_keys k, seed t
  WHERE k.user_id = t.user_id AND k.endpoint = 'POST /api/v1/checkouts/' || t.id || '/place-order';
CREATE TEMP TABLE base AS SELECT next_number AS seq FROM order_classes WHERE name = 'checkout';
{load}{shopper_series}
INSERT INTO users (id, username, password_hash, created_at)
  SELECT {shopper_id}, 'prefill-' || i, '', {now_ms} - {span} FROM series;
{series}
INSERT INTO checkout_sessions (id, user_id, seq, number, status, reason, managed, started_at,
    expires_at, generation, pricing_input, snapshot, digest, updated_at)
  SELECT {session}, {shopper}, b.seq + i - 1, 'PF-' || (b.seq + i - 1),
    CASE WHEN {ordered} THEN t.status WHEN {live} THEN 'ACTIVE' ELSE 'EXPIRED' END,
    CASE WHEN {ordered} THEN t.reason ELSE NULL END,
    t.managed, {at}, CASE WHEN {live} THEN {now_ms} + 3600000 ELSE {at} + 600000 END, t.generation, t.pricing_input, t.snapshot, t.digest,
    {at} + 300000
  FROM series, seed t, base b;
{series}
INSERT INTO checkout_events (session_id, from_status, from_reason, to_status, to_reason,
    transition, actor_user, actor_admin, at, request_id)
  SELECT {session}, e.from_status, e.from_reason, e.to_status, e.to_reason, e.transition,
    {shopper}, e.actor_admin, {at}, e.request_id
  FROM series, seed_events e;
{series}
INSERT INTO session_snapshots (session_id, digest, snapshot)
  SELECT {session}, k.digest, k.snapshot
  FROM series, seed_snapshots k;
{series}
INSERT INTO orders (id, session_id, user_id, checkout_number, kind, status, snapshot,
    grand_total, currency, payment_reference, created_at)
  SELECT {order}, {session}, {shopper}, 'PF-' || (b.seq + i - 1), o.kind, o.status, o.snapshot,
    o.grand_total, o.currency, o.payment_reference, {at} + 300000
  FROM series, base b, seed_order o
  WHERE {ordered};
{series}
INSERT INTO outbox_events (id, checkout_id, order_id, type, payload, created_at)
  SELECT 'evt_prefill_' || i || '_' || x.seq, {session}, {order}, x.type, x.payload,
    {at} + 300000
  FROM series, seed_outbox x
  WHERE {ordered};
{series}
INSERT INTO idempotency_keys (user_id, endpoint, idem_key, fingerprint, state,
    response_status, response_body, created_at, started_at)
  SELECT {shopper}, replace(k.pattern, '{{id}}', {session}), 'prefill-' || i, k.fingerprint,
    k.state, k.response_status, k.response_body, {at} + 300000, {at} + 300000
  FROM series, seed_key k
  WHERE {ordered} AND {recent};
{built}UPDATE order_classes SET next_number = next_number + {n} WHERE name = 'checkout';
COMMIT;
{after}",
        shopper_id = id(target, '2', "i"),
    )
}

/// A short run of every phase on a server started with `args`, stopped after: the real
/// checkouts, orders and keys `--prefill` copies.
pub fn seed(bin: &std::path::Path, args: &[&str], backend_key: &str) -> Result<(), String> {
    let server = tools::spawn_server(&bin.join("checkout-server"), args)?;
    let seeded = tools::run_captured(Cmd::new(&bin.join("checkout-load").to_string_lossy()).args(
        [
            "--target",
            &server.url,
            "--connections",
            "2",
            "--shoppers-per-connection",
            "2",
            "--seconds",
            "1",
            "--label",
            "seed",
            "--backend-key",
            backend_key,
        ],
    ));
    drop(server);
    seeded.map(drop)
}

/// `cargo xtask prefill N (--sqlite FILE | --database-url URL)`: [`fill`] on a stopped
/// server's database that holds a completed checkout to copy.
pub fn cmd_prefill(args: &[String]) -> Result<(), String> {
    let usage = "usage: cargo xtask prefill N (--sqlite FILE | --database-url URL)";
    let n: u64 = args.first().and_then(|n| n.parse().ok()).ok_or(usage)?;
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(String::as_str)
    };
    match (
        flag("--sqlite").map(std::path::Path::new),
        flag("--database-url"),
    ) {
        (Some(file), None) => fill(&Target::Sqlite(file), n),
        (None, Some(url)) => fill(&Target::Postgres(url), n),
        _ => Err(usage.into()),
    }
}

/// How many checkouts the database holds.
fn count(target: &Target) -> Result<u64, String> {
    let sql = "SELECT COUNT(*) FROM checkout_sessions";
    let out = match target {
        Target::Sqlite(file) => {
            tools::run_captured(Cmd::new("sqlite3").args([&*file.to_string_lossy(), sql]))?
        }
        Target::Postgres(url) => tools::run_captured(Cmd::new("psql").args([url, "-tAc", sql]))?,
    };
    out.trim()
        .parse()
        .map_err(|e| format!("checkout count {out:?}: {e}"))
}

/// Copies the seed's newest completed checkout `n` times into the stopped server's
/// database; prints how long it took.
pub fn fill(target: &Target, n: u64) -> Result<(), String> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis() as u64;
    if matches!(target, Target::Sqlite(_)) {
        tools::ensure_apt(&["sqlite3"], &["sqlite3"])?;
    }
    let before = count(target)?;
    let started = Instant::now();
    let script = script(target, n, now_ms);
    let path = std::env::temp_dir().join(format!("prefill-{}.sql", std::process::id()));
    std::fs::write(&path, &script).map_err(|e| e.to_string())?;
    let file = path.to_string_lossy();
    if std::env::var_os("PREFILL_KEEP_SCRIPT").is_some() {
        eprintln!("prefill: the script is {file}");
    }
    let result = match target {
        Target::Sqlite(db) => run(Cmd::new("sqlite3").args([
            "-bail",
            &*db.to_string_lossy(),
            &format!(".read {file}"),
        ])),
        // Then what autovacuum does soon after such a load, to the filled tables only: an
        // ANALYZE of all would also describe the nearly empty carts of the seed, and
        // PostgreSQL would scan `cart_items` for every lookup until autovacuum analyzed
        // it again (measured: place-order at 132 req/s instead of 934, 82 million rows
        // read in 25,601 scans of the carts).
        Target::Postgres(url) => run(Cmd::new("psql").args([
            url,
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-f",
            &file,
            "-c",
            &*format!("VACUUM (ANALYZE) {}", FILLED.join(", ")),
        ])),
    };
    if std::env::var_os("PREFILL_KEEP_SCRIPT").is_none() {
        let _ = std::fs::remove_file(&path);
    }
    result?;
    let after = count(target)?;
    if after != before + n {
        return Err(format!(
            "prefill: {after} checkouts stored, expected {before} + {n}: the seed made no completed checkout to copy?"
        ));
    }
    let bytes = match target {
        Target::Sqlite(db) => std::fs::metadata(db).map_or(0, |m| m.len()),
        Target::Postgres(url) => tools::run_captured(Cmd::new("psql").args([
            url,
            "-tAc",
            "SELECT pg_database_size(current_database())",
        ]))?
        .trim()
        .parse()
        .unwrap_or(0),
    };
    eprintln!(
        "prefill: {n} checkouts in {:.1} s ({after} stored, database {:.0} MiB, {:.0} bytes per checkout)",
        started.elapsed().as_secs_f64(),
        bytes as f64 / 1_048_576.0,
        bytes as f64 / after.max(1) as f64,
    );
    Ok(())
}
