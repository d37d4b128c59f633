//! The database: one sqlx `Any` pool over SQLite (default, a file in the data directory)
//! or PostgreSQL (`postgres://…`, for several server instances). The same queries serve
//! both; the two differences are how a write transaction locks:
//!
//! - **SQLite**: writers in this process queue on a fair async mutex, then `BEGIN
//!   IMMEDIATE` takes the database write lock up front (a `busy_timeout` covers other
//!   processes). Every write is therefore serialized, per shopper and globally.
//! - **PostgreSQL**: a write transaction locks the shopper's `users` row
//!   (`SELECT … FOR UPDATE`), serializing one shopper's writes across all instances
//!   while different shoppers proceed in parallel.
//!
//! Durability (SQLite): WAL with `synchronous = NORMAL`. A crashed or killed process
//! loses nothing that was committed; a power loss or OS crash can lose the last
//! transactions before the most recent WAL checkpoint sync, never corrupting the file.
//! PostgreSQL uses its own defaults (`synchronous_commit = on`).

use std::{path::Path, sync::Arc, time::Duration};

use sqlx::{
    any::{install_default_drivers, AnyPoolOptions},
    migrate::Migrator,
    AnyConnection, AnyPool, Executor, Transaction,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

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

/// The shared pool and how to lock it.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    writer: Arc<Mutex<()>>,
}

/// A write transaction. Dropping it without [`WriteTx::commit`] rolls back.
#[derive(Debug)]
pub struct WriteTx {
    tx: Transaction<'static, sqlx::Any>,
    backend: Backend,
    _writer: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    /// The connection to run statements on.
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Commits.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    /// Serializes this shopper's writes with every other instance (PostgreSQL); on
    /// SQLite the transaction already holds the only write lock.
    pub async fn lock_user(&mut self, user_id: &str) -> Result<(), sqlx::Error> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
                .bind(user_id)
                .fetch_optional(&mut *self.tx)
                .await?;
        }
        Ok(())
    }
}

impl Db {
    /// Connects (creating the SQLite file and data directory when needed), applies
    /// connection settings and runs the embedded migrations.
    pub async fn connect(database_url: Option<&str>, data_dir: &Path) -> Result<Db, String> {
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
                Backend::Postgres => 24,
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
        Ok(Db {
            pool,
            backend,
            writer: Arc::new(Mutex::new(())),
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
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                let guard = Arc::clone(&self.writer).lock_owned().await;
                let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
                Ok(WriteTx {
                    tx,
                    backend: self.backend,
                    _writer: Some(guard),
                })
            }
            Backend::Postgres => Ok(WriteTx {
                tx: self.pool.begin().await?,
                backend: self.backend,
                _writer: None,
            }),
        }
    }

    /// Closes the pool (at shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }
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

/// Whether an error is a unique-constraint violation (both backends).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db
                    .code()
                    .is_some_and(|c| c == "23505" || c == "2067" || c == "1555")
        }
        _ => false,
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
