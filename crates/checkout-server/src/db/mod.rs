//! The database: SQLite (default, a file in the data directory) or PostgreSQL
//! (`postgres://…`, for several server instances). The same SQL serves both, written with
//! [`query`]; the differences are where a statement runs and how a write transaction
//! locks:
//!
//! - **SQLite** (`db/sqlite.rs`): statements run in place on the calling task's thread
//!   (rusqlite on the database file), never handed to a worker thread. Reads use a few
//!   read-only connections. Every write transaction runs on the one writer connection:
//!   writers in this process queue on a fair async mutex, the batch's `BEGIN IMMEDIATE`
//!   takes the database write lock up front (a `busy_timeout` covers other processes),
//!   and transactions queued together share one commit (group commit). Every write is
//!   therefore serialized, per shopper and globally. The sqlx pool only runs the
//!   migrations. (With sqlx's SQLite driver, each statement was a round trip to the
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

mod query;
mod sqlite;

use std::{
    path::{Path, PathBuf},
    str::FromStr,
    sync::Arc,
    time::Duration,
};

use sqlx::{
    any::{install_default_drivers, AnyPoolOptions},
    migrate::Migrator,
    sqlite::SqliteConnectOptions,
    Any, AnyPool, Executor, Transaction,
};

use self::sqlite::{Checkpointer, LiteTx, Readers, WriterHandle};
pub use self::{
    query::{query, Arg, Column, Conn, DbRow, Query},
    sqlite::{CHECKPOINT_EVERY, MAX_BATCH},
};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The database: the sqlx pool (PostgreSQL's connections; on SQLite, for migrations),
/// and on SQLite the writer, the readers and the checkpoint thread.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite only: the one connection every write transaction runs on.
    writer: Option<WriterHandle>,
    /// SQLite only: the connections reads outside a transaction run on.
    readers: Option<Arc<Readers>>,
    /// SQLite only: the background WAL checkpoints.
    checkpointer: Option<Arc<Checkpointer>>,
}

/// A failed database call, from either driver.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// From sqlx (PostgreSQL).
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
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
            DbError::Sqlx(
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::Tls(_),
            ) => true,
            // Connection exceptions (08…), shutdown and "cannot connect now" (57P01–57P03).
            DbError::Sqlx(sqlx::Error::Database(db)) => db
                .code()
                .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ),
            _ => false,
        }
    }

    /// Whether this is a unique-constraint violation (both backends).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlx(sqlx::Error::Database(db)) => {
                db.is_unique_violation()
                    || db
                        .code()
                        .is_some_and(|c| c == "23505" || c == "2067" || c == "1555")
            }
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            }
            _ => false,
        }
    }
}

/// A write transaction. Dropping it without [`WriteTx::commit`] rolls back.
#[derive(Debug)]
pub struct WriteTx {
    inner: TxInner,
    backend: Backend,
}

#[derive(Debug)]
enum TxInner {
    Lite(LiteTx),
    Pooled(Transaction<'static, Any>),
}

impl WriteTx {
    /// The connection to run statements on.
    pub fn conn(&mut self) -> Conn<'_> {
        match &mut self.inner {
            TxInner::Lite(tx) => Conn::Lite(tx.conn()),
            TxInner::Pooled(tx) => Conn::Any(tx),
        }
    }

    /// Which backend the transaction runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Commits; returns once the transaction is committed.
    pub async fn commit(self) -> Result<(), DbError> {
        match self.inner {
            TxInner::Lite(tx) => tx.commit().await,
            TxInner::Pooled(tx) => Ok(tx.commit().await?),
        }
    }

    /// Serializes this shopper's writes with every other instance (PostgreSQL); on
    /// SQLite the transaction already holds the only write lock.
    pub async fn lock_user(&mut self, user_id: &str) -> Result<(), DbError> {
        if self.backend == Backend::Postgres {
            query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
                .bind(user_id)
                .fetch_optional(self.conn())
                .await?;
        }
        Ok(())
    }
}

impl Db {
    /// Connects (creating the SQLite file and data directory when needed), applies
    /// connection settings and runs the embedded migrations. `max_connections` sizes
    /// PostgreSQL's pool (SQLite has its own writer and readers).
    pub async fn connect(
        database_url: Option<&str>,
        data_dir: &Path,
        max_connections: u32,
    ) -> Result<Db, String> {
        install_default_drivers();
        let (url, backend) = match database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                (url.to_owned(), Backend::Postgres)
            }
            Some(url) if url.starts_with("sqlite:") => (url.to_owned(), Backend::Sqlite),
            Some(other) => {
                return Err(format!(
                    "unsupported database URL {:?}: use postgres://… or sqlite:…",
                    redact(other)
                ))
            }
            None => {
                std::fs::create_dir_all(data_dir)
                    .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
                let file = data_dir.join("checkout.db");
                (
                    format!("sqlite://{}?mode=rwc", file.display()),
                    Backend::Sqlite,
                )
            }
        };
        let options = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => max_connections,
            })
            .acquire_timeout(Duration::from_secs(30));
        let options = if backend == Backend::Sqlite {
            options.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; \
                         PRAGMA foreign_keys = ON;",
                    )
                    .await?;
                    Ok(())
                })
            })
        } else {
            options
        };
        let pool = options
            .connect(&url)
            .await
            .map_err(|e| format!("cannot open database {}: {e}", redact(&url)))?;
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await
                .map_err(|e| e.to_string())?;
        }
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&pool)
            .await
            .map_err(|e| format!("migrations failed: {e}"))?;
        let (writer, readers, checkpointer) = match backend {
            Backend::Sqlite => {
                let file = sqlite_file(&url)?;
                let writer = WriterHandle::open(&file)?;
                (
                    Some(writer.clone()),
                    Some(Arc::new(Readers::open(&file)?)),
                    Some(Arc::new(Checkpointer::start(&file, writer)?)),
                )
            }
            Backend::Postgres => (None, None, None),
        };
        Ok(Db {
            pool,
            backend,
            writer,
            readers,
            checkpointer,
        })
    }

    /// The pool, for reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a write transaction (see the module documentation for how it locks).
    pub async fn begin_write(&self) -> Result<WriteTx, DbError> {
        let inner = match &self.writer {
            Some(writer) => TxInner::Lite(writer.begin().await?),
            None => TxInner::Pooled(self.pool.begin().await?),
        };
        Ok(WriteTx {
            inner,
            backend: self.backend,
        })
    }

    /// The SQLite readers, if this is SQLite.
    fn readers(&self) -> Option<&sqlite::Readers> {
        self.readers.as_deref()
    }

    /// Closes the pool and, on SQLite, checkpoints the WAL a last time (at shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(checkpointer) = self.checkpointer.clone() {
            let _ = tokio::task::spawn_blocking(move || checkpointer.stop()).await;
        }
    }
}

/// The database file of a `sqlite:` URL (an in-memory database cannot be shared by the
/// read pool and the writer, so it is refused).
fn sqlite_file(url: &str) -> Result<PathBuf, String> {
    let options = SqliteConnectOptions::from_str(url).map_err(|e| format!("{url}: {e}"))?;
    let file = options.get_filename();
    if url.contains(":memory:") || file.as_os_str().is_empty() {
        return Err(format!(
            "{url}: an in-memory SQLite database is not supported; give a file"
        ));
    }
    Ok(file.to_path_buf())
}

/// Hides a password in a URL for messages.
fn redact(url: &str) -> String {
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
}
