//! The database: SQLite (default, a file in the data directory) or PostgreSQL
//! (`postgres://…`, for several server instances). Every SQL statement of the server is
//! in this module, one submodule per aggregate (`sessions` and their `events`, `orders`, `carts`, `users`,
//! `settings`, `idempotency`, `payments` (refunds and webhook ids), `outbox`); they return
//! [`DbError`], never HTTP errors, and decide nothing the core decides. The same SQL
//! serves both backends, written with [`query`]; the differences are where a statement
//! runs and how a write transaction locks:
//!
//! - **SQLite** (`db/sqlite.rs`): statements run in place on the calling task's thread
//!   (rusqlite on the database file), never handed to a worker thread. Reads use a few
//!   read-only connections. Every write transaction runs on the one writer connection:
//!   writers in this process queue on a fair async mutex, the batch's `BEGIN IMMEDIATE`
//!   takes the database write lock up front (a `busy_timeout` covers other processes),
//!   and transactions queued together share one commit (group commit). Every write is
//!   therefore serialized, per shopper and globally. Migrations run through rusqlite
//!   too (`db/migrate.rs`): one SQLite driver. (With sqlx's SQLite driver, each statement was a round trip to the
//!   connection's worker thread; a write transaction of ten statements held the write
//!   lock through twenty thread wake-ups, which capped writes at ~500/s.)
//! - **PostgreSQL**: a write transaction locks the shopper's `users` row
//!   (`SELECT … FOR UPDATE`), serializing one shopper's writes across all instances
//!   while different shoppers proceed in parallel.
//!
//! Durability (SQLite): WAL with `synchronous = NORMAL`. A commit appends to the WAL
//! without waiting for the disk; a background thread checkpoints the WAL into the
//! database file (and syncs it) every [`CHECKPOINT_EVERY`], off the request path. No
//! answer is sent before its transaction's commit. A crashed or killed process loses
//! nothing that was committed; a power loss or OS crash can lose the transactions
//! committed since the last checkpoint (at most about a second), never corrupting the
//! file. PostgreSQL uses its own defaults (`synchronous_commit = on`).

pub mod carts;
pub mod catalog;
pub mod endpoints;
pub mod events;
pub mod idempotency;
pub mod limits;
pub mod migrate;
pub mod orders;
pub mod outbox;
pub mod payment_actions;
pub mod payments;
mod purge;
mod query;
pub mod restore;
pub mod session_logins;
pub mod sessions;
pub mod settings;
mod sqlite;
pub mod users;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use sqlx::{migrate::Migrator, postgres::PgPoolOptions, PgPool, Postgres, Transaction};

use self::sqlite::{Checkpointer, LiteTx, Readers, WriterHandle};
pub use self::{
    query::{query, Arg, Column, Conn, DbRow, Query},
    sqlite::{CHECKPOINT_EVERY, MAX_BATCH},
};

static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database is behind a [`Db`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The database, by backend.
#[derive(Debug, Clone)]
pub enum Db {
    /// Embedded SQLite: the writer, the readers and the checkpoint thread.
    Sqlite(Arc<Sqlite>),
    /// PostgreSQL: sqlx's pool.
    Postgres(PgPool),
}

/// The SQLite side of [`Db`].
#[derive(Debug)]
pub struct Sqlite {
    /// The one connection every write transaction runs on.
    writer: WriterHandle,
    /// The connections reads outside a transaction run on.
    readers: Readers,
    /// The background WAL checkpoints.
    checkpointer: Checkpointer,
}

/// A failed database call, from either driver.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// From sqlx (PostgreSQL).
    #[error(transparent)]
    Postgres(#[from] sqlx::Error),
    /// From SQLite.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// A column that is missing or of another type.
    #[error("column {column}: {message}")]
    Column {
        /// The column.
        column: String,
        /// What is wrong with it.
        message: String,
    },
    /// A stored value that does not read back (a document that no longer parses, a state
    /// name the core does not know).
    #[error("stored {0} is unreadable")]
    Corrupt(String),
    /// A statement that had to return a row returned none.
    #[error("no row")]
    NoRow,
    /// The SQLite batch holding the transaction did not commit: nothing of it was
    /// written.
    #[error("commit failed: {0}")]
    Commit(String),
}

impl DbError {
    /// Whether the database cannot be reached now (a restart, a lost connection, the
    /// pool exhausted, SQLite busy): the request did nothing and may be retried.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Postgres(
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::Tls(_),
            ) => true,
            // Connection exceptions (08…), shutdown and "cannot connect now" (57P01–57P03).
            DbError::Postgres(sqlx::Error::Database(db)) => db
                .code()
                .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
            DbError::Sqlite(e) => sqlite_busy(e),
            _ => false,
        }
    }

    /// Whether this is a unique-constraint violation (both backends).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Postgres(sqlx::Error::Database(db)) => {
                db.is_unique_violation() || db.code().is_some_and(|c| c == "23505")
            }
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            }
            _ => false,
        }
    }
}

/// A write transaction, by backend. Dropping it without [`WriteTx::commit`] rolls back.
#[derive(Debug)]
pub enum WriteTx {
    /// A savepoint in the SQLite writer's batch.
    Sqlite(LiteTx),
    /// A PostgreSQL transaction.
    Postgres(Transaction<'static, Postgres>),
}

impl WriteTx {
    /// The connection to run statements on.
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            WriteTx::Sqlite(tx) => Conn::Lite(tx.conn()),
            WriteTx::Postgres(tx) => Conn::Pg(tx),
        }
    }

    /// Which backend the transaction runs on.
    pub fn backend(&self) -> Backend {
        match self {
            WriteTx::Sqlite(_) => Backend::Sqlite,
            WriteTx::Postgres(_) => Backend::Postgres,
        }
    }

    /// Commits; returns once the transaction is committed.
    pub async fn commit(self) -> Result<(), DbError> {
        match self {
            WriteTx::Sqlite(tx) => tx.commit().await,
            WriteTx::Postgres(tx) => Ok(tx.commit().await?),
        }
    }

    /// Serializes this shopper's writes with every other instance (PostgreSQL); on
    /// SQLite the transaction already holds the only write lock.
    pub async fn lock_user(&mut self, user_id: &str) -> Result<(), DbError> {
        if let WriteTx::Postgres(tx) = self {
            query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
                .bind(user_id)
                .fetch_optional(Conn::Pg(tx))
                .await?;
        }
        Ok(())
    }
}

impl Db {
    /// Connects (creating the SQLite file and data directory when needed), applies
    /// connection settings and runs the migrations. `max_connections` sizes PostgreSQL's
    /// pool (SQLite has its own writer and readers).
    pub async fn connect(
        database_url: Option<&str>,
        data_dir: &Path,
        max_connections: u32,
    ) -> Result<Db, String> {
        match database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect(url)
                    .await
                    .map_err(|e| format!("cannot open database {}: {e}", redact(url)))?;
                POSTGRES_MIGRATIONS.run(&pool).await.map_err(|e| match e {
                    sqlx::migrate::MigrateError::VersionMissing(newest) => format!(
                        "the database's schema (migration {newest}) is newer than this \
                         checkout-server's: run the newer release, or restore a backup made before it"
                    ),
                    other => format!("migrations failed: {other}"),
                })?;
                Ok(Db::Postgres(pool))
            }
            Some(url) if url.starts_with("sqlite:") => {
                let (file, create) = sqlite_file(url)?;
                if !create && !file.exists() {
                    return Err(format!(
                        "{}: no such database (add ?mode=rwc to the URL to create it)",
                        file.display()
                    ));
                }
                Db::open_sqlite(&file)
            }
            Some(other) => Err(format!(
                "unsupported database URL {:?}: use postgres://… or sqlite:…",
                redact(other)
            )),
            None => {
                // Created 0600 before SQLite opens it: its WAL and shared-memory files
                // take the database file's mode.
                crate::config::data_dir::prepare(data_dir)?;
                let file = data_dir.join("checkout.db");
                crate::config::data_dir::private_file(&file, false)?;
                Db::open_sqlite(&file)
            }
        }
    }

    /// Opens (or creates) the SQLite file, turns on WAL, migrates, then opens the writer,
    /// the readers and the checkpoint thread.
    fn open_sqlite(file: &Path) -> Result<Db, String> {
        let mut conn = sqlite::open(file)?;
        // Changing the journal mode does not wait on a busy database (another server
        // starting on the same file at the same moment): retry for the busy timeout.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(())) {
                Ok(()) => break,
                Err(e) if sqlite_busy(&e) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(format!("cannot turn on WAL in {}: {e}", file.display())),
            }
        }
        migrate::run(&mut conn, migrate::SQLITE)?;
        drop(conn);
        let writer = WriterHandle::open(file)?;
        let readers = Readers::open(file)?;
        let checkpointer = Checkpointer::start(file, writer.clone())?;
        Ok(Db::Sqlite(Arc::new(Sqlite {
            writer,
            readers,
            checkpointer,
        })))
    }

    /// Whether the database answers (a trivial read).
    pub async fn ping(&self) -> Result<(), DbError> {
        query("SELECT 1 AS ok").fetch_one(self).await.map(drop)
    }

    /// Which backend.
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Starts a write transaction (see the module documentation for how it locks).
    pub async fn begin_write(&self) -> Result<WriteTx, DbError> {
        Ok(match self {
            Db::Sqlite(lite) => WriteTx::Sqlite(lite.writer.begin().await?),
            Db::Postgres(pool) => WriteTx::Postgres(pool.begin().await?),
        })
    }

    /// Closes the pool (PostgreSQL) or checkpoints the WAL a last time (SQLite), at
    /// shutdown.
    pub async fn close(&self) {
        match self {
            Db::Postgres(pool) => pool.close().await,
            Db::Sqlite(lite) => {
                let lite = Arc::clone(lite);
                let _ = tokio::task::spawn_blocking(move || lite.checkpointer.stop()).await;
            }
        }
    }
}

/// The database file of a `sqlite:` URL (`sqlite:path` or `sqlite://path`,
/// percent-decoded, as sqlx read them) and whether it may be created: only with
/// `?mode=rwc`; otherwise a missing file is an error, so a mistyped path never starts an
/// empty shop. `mode=ro` is refused (the server writes), and so is an in-memory database
/// (the readers and the writer could not share it).
pub(crate) fn sqlite_file(url: &str) -> Result<(PathBuf, bool), String> {
    let rest = url.strip_prefix("sqlite:").unwrap_or(url);
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mode = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("mode="))
        .unwrap_or("rw");
    if path.is_empty() || path == ":memory:" || mode == "memory" {
        return Err(format!(
            "{url}: an in-memory SQLite database is not supported; give a file"
        ));
    }
    let create = match mode {
        "rwc" => true,
        "rw" => false,
        "ro" => {
            return Err(format!(
                "{url}: mode=ro is not supported (the server writes)"
            ))
        }
        other => return Err(format!("{url}: unknown mode {other:?} (rw or rwc)")),
    };
    Ok((PathBuf::from(percent_decode(path)?), create))
}

/// `%XX` escapes of a URL path, decoded (as UTF-8).
fn percent_decode(path: &str) -> Result<String, String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = path
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("{path}: a bad %-escape"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{path}: not UTF-8 once decoded"))
}

/// Whether SQLite said the database is busy or locked.
fn sqlite_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Hides a password in a URL for messages.
/// `url` with its password replaced by `***` (for messages and logs).
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => {
                    format!("{}://{}:***{}", &url[..scheme], &creds[..colon], &url[at..])
                }
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://app:s3cret@127.0.0.1:5432/db"),
            "postgres://app:***@127.0.0.1:5432/db"
        );
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn sqlite_urls_name_a_file_and_say_whether_to_create_it() {
        let file = |url| sqlite_file(url).unwrap();
        assert_eq!(
            file("sqlite:///tmp/a.db?mode=rwc"),
            (PathBuf::from("/tmp/a.db"), true)
        );
        assert_eq!(
            file("sqlite://data/a.db"),
            (PathBuf::from("data/a.db"), false)
        );
        assert_eq!(file("sqlite:a.db?mode=rw"), (PathBuf::from("a.db"), false));
        assert_eq!(
            file("sqlite:///tmp/my%20shop/a.db").0,
            PathBuf::from("/tmp/my shop/a.db")
        );
        for refused in [
            "sqlite::memory:",
            "sqlite://",
            "sqlite://a.db?mode=memory",
            "sqlite://a.db?mode=ro",
            "sqlite://a.db?mode=rwx",
            "sqlite://a%2.db",
        ] {
            assert!(sqlite_file(refused).is_err(), "{refused}");
        }
    }
}
