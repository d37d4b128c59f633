//! SQLite's migrations, run by rusqlite (the one SQLite driver of the server) on a
//! connection of its own before the writer and the readers open. PostgreSQL's run by
//! sqlx's migrator, whose PostgreSQL driver is the one the server uses there.
//!
//! Each migration runs in its own `BEGIN IMMEDIATE` transaction, which also re-reads
//! whether it is applied and records it in `schema_migrations` (version, description,
//! SHA-256 of the SQL): a crash half-way leaves it unapplied, two servers starting at
//! once on one file apply it once (the second waits for the write lock, then finds it
//! applied), and a migration edited after it was applied is refused at start rather
//! than silently skipped. A database created by an earlier release (whose migrations ran
//! through sqlx's SQLite driver, in `_sqlx_migrations`) is adopted: what sqlx applied
//! counts as applied, if sqlx's checksum (SHA-384 of the same SQL) still matches.
//!
//! There is no way down: an earlier release does not read `schema_migrations` and would
//! run its migrations again on a database this one created.

use rusqlite::{OptionalExtension, TransactionBehavior};
use sha2::{Digest, Sha256, Sha384};

/// A migration: its version, its description and its SQL.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Applied in ascending order; never reused.
    pub version: i64,
    /// What it does.
    pub description: &'static str,
    /// The statements.
    pub sql: &'static str,
}

/// SQLite's migrations, from `migrations/sqlite/` (PostgreSQL's twins, same numbers, are
/// in `migrations/postgres/`).
pub const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        description: "schema",
        sql: include_str!("../../migrations/sqlite/0001_schema.sql"),
    },
    Migration {
        version: 2,
        description: "hot path indexes",
        sql: include_str!("../../migrations/sqlite/0002_hot_path_indexes.sql"),
    },
    Migration {
        version: 3,
        description: "retention",
        sql: include_str!("../../migrations/sqlite/0003_retention.sql"),
    },
    Migration {
        version: 4,
        description: "restore",
        sql: include_str!("../../migrations/sqlite/0004_restore.sql"),
    },
    Migration {
        version: 5,
        description: "outbox approval",
        sql: include_str!("../../migrations/sqlite/0005_outbox_approval.sql"),
    },
    Migration {
        version: 6,
        description: "provider payments",
        sql: include_str!("../../migrations/sqlite/0006_provider_payments.sql"),
    },
    Migration {
        version: 7,
        description: "standard webhooks",
        sql: include_str!("../../migrations/sqlite/0007_standard_webhooks.sql"),
    },
    Migration {
        version: 8,
        description: "rate windows and traces",
        sql: include_str!("../../migrations/sqlite/0008_rate_windows.sql"),
    },
    Migration {
        version: 9,
        description: "identity",
        sql: include_str!("../../migrations/sqlite/0009_identity.sql"),
    },
    Migration {
        version: 10,
        description: "catalog",
        sql: include_str!("../../migrations/sqlite/0010_catalog.sql"),
    },
    Migration {
        version: 11,
        description: "priced carts",
        sql: include_str!("../../migrations/sqlite/0011_priced_carts.sql"),
    },
    Migration {
        version: 12,
        description: "payment actions",
        sql: include_str!("../../migrations/sqlite/0012_payment_actions.sql"),
    },
    Migration {
        version: 13,
        description: "bounded purges",
        sql: include_str!("../../migrations/sqlite/0013_bounded_purges.sql"),
    },
];

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn checksum(sql: &str) -> String {
    Sha256::digest(sql.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Applies every migration of `migrations` not yet applied; returns how many it applied.
pub fn run(conn: &mut rusqlite::Connection, migrations: &[Migration]) -> Result<usize, String> {
    let fail = |e: rusqlite::Error| format!("migrations failed: {e}");
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (\
             version INTEGER PRIMARY KEY, description TEXT NOT NULL, \
             checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .map_err(fail)?;
    adopt_sqlx(&tx, migrations)?;
    refuse_newer(&tx, migrations)?;
    tx.commit().map_err(fail)?;
    let mut applied = 0;
    for m in migrations {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let stored: Option<String> = tx
            .query_row(
                "SELECT checksum FROM schema_migrations WHERE version = ?1",
                [m.version],
                |r| r.get(0),
            )
            .optional()
            .map_err(fail)?;
        match stored {
            Some(sum) if sum == checksum(m.sql) => continue,
            Some(_) => {
                return Err(format!(
                    "migration {} ({}) was changed after it was applied to this database",
                    m.version, m.description
                ))
            }
            None => {}
        }
        tx.execute_batch(m.sql)
            .map_err(|e| format!("migration {} ({}) failed: {e}", m.version, m.description))?;
        record(&tx, m).map_err(fail)?;
        tx.commit().map_err(fail)?;
        applied += 1;
    }
    Ok(applied)
}

/// Refuses a database a newer release migrated (a migration this one does not know):
/// this release would not know how to read what it wrote.
fn refuse_newer(tx: &rusqlite::Transaction<'_>, migrations: &[Migration]) -> Result<(), String> {
    let newest: Option<i64> = tx
        .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .map_err(|e| format!("migrations failed: {e}"))?;
    let known = migrations.iter().map(|m| m.version).max().unwrap_or(0);
    match newest {
        Some(newest) if newest > known => Err(format!(
            "the database's schema (migration {newest}) is newer than this checkout-server's \
             (migration {known}): run the newer release, or restore a backup made before it"
        )),
        _ => Ok(()),
    }
}

fn record(tx: &rusqlite::Transaction<'_>, m: &Migration) -> rusqlite::Result<usize> {
    tx.execute(
        "INSERT INTO schema_migrations (version, description, checksum, applied_at) \
         VALUES (?1, ?2, ?3, ?4)",
        rusqlite::params![m.version, m.description, checksum(m.sql), now_ms()],
    )
}

/// Counts the migrations an earlier release applied through sqlx (`_sqlx_migrations`,
/// successful rows) as applied, once, when `schema_migrations` is still empty. A row
/// whose checksum is not that of the SQL here is refused: the migration was edited.
fn adopt_sqlx(tx: &rusqlite::Transaction<'_>, migrations: &[Migration]) -> Result<(), String> {
    let fail = |e: rusqlite::Error| format!("adopting the earlier migrations failed: {e}");
    let has_sqlx: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
            [],
            |r| r.get(0),
        )
        .map_err(fail)?;
    let ours: i64 = tx
        .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
        .map_err(fail)?;
    if !has_sqlx || ours > 0 {
        return Ok(());
    }
    let applied: Vec<(i64, Vec<u8>)> = tx
        .prepare("SELECT version, checksum FROM _sqlx_migrations WHERE success = 1")
        .map_err(fail)?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(fail)?
        .collect::<Result<_, _>>()
        .map_err(fail)?;
    for (version, sqlx_sum) in applied {
        let Some(m) = migrations.iter().find(|m| m.version == version) else {
            return Err(format!(
                "the database has migration {version}, which this release does not know"
            ));
        };
        if sqlx_sum != Sha384::digest(m.sql.as_bytes()).as_slice() {
            return Err(format!(
                "migration {} ({}) differs from the one an earlier release applied",
                m.version, m.description
            ));
        }
        record(tx, m).map_err(fail)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What sqlx's migrator leaves for an applied migration.
    fn sqlx_applied(conn: &rusqlite::Connection, version: i64, checksum: &[u8]) {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, \
             description TEXT, installed_on TEXT, success BOOLEAN, checksum BLOB, \
             execution_time BIGINT)",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO _sqlx_migrations VALUES (?1, 'm', '', 1, ?2, 0)",
            rusqlite::params![version, checksum],
        )
        .unwrap();
    }

    #[test]
    fn an_earlier_release_s_edited_migration_is_not_adopted() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(SQLITE[0].sql).unwrap();
        sqlx_applied(&conn, 1, &[0u8; 48]);
        let err = run(&mut conn, SQLITE).unwrap_err();
        assert!(err.contains("differs"), "{err}");
    }

    #[test]
    fn two_processes_migrating_one_file_at_once_apply_each_migration_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("race.db");
        let runs: Vec<_> = (0..4)
            .map(|_| {
                let file = file.clone();
                std::thread::spawn(move || {
                    let mut conn = crate::db::sqlite::open(&file).unwrap();
                    run(&mut conn, SQLITE)
                })
            })
            .collect();
        let applied: Vec<usize> = runs
            .into_iter()
            .map(|r| r.join().unwrap().unwrap())
            .collect();
        assert_eq!(applied.iter().sum::<usize>(), SQLITE.len(), "{applied:?}");
    }

    fn tables(conn: &rusqlite::Connection) -> Vec<String> {
        conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn applies_each_migration_once() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        assert_eq!(run(&mut conn, SQLITE).unwrap(), SQLITE.len());
        assert!(tables(&conn).contains(&"checkout_sessions".to_owned()));
        assert_eq!(run(&mut conn, SQLITE).unwrap(), 0);
    }

    #[test]
    fn a_migration_changed_after_it_ran_is_refused() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        let first = [Migration {
            version: 1,
            description: "t",
            sql: "CREATE TABLE t (a INTEGER);",
        }];
        run(&mut conn, &first).unwrap();
        let edited = [Migration {
            sql: "CREATE TABLE t (a INTEGER, b INTEGER);",
            ..first[0]
        }];
        let err = run(&mut conn, &edited).unwrap_err();
        assert!(err.contains("changed after it was applied"), "{err}");
    }

    #[test]
    fn a_failing_migration_leaves_nothing_behind() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        let broken = [Migration {
            version: 1,
            description: "half",
            sql: "CREATE TABLE half (a INTEGER); CREATE TABLE half (a INTEGER);",
        }];
        assert!(run(&mut conn, &broken).is_err());
        assert!(!tables(&conn).contains(&"half".to_owned()));
        let count: i64 = conn
            .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 0);
    }

    #[test]
    fn a_database_migrated_by_sqlx_is_adopted_not_migrated_again() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        // What an earlier release left: the schema, and sqlx's record of version 1 only.
        conn.execute_batch(SQLITE[0].sql).unwrap();
        sqlx_applied(
            &conn,
            1,
            Sha384::digest(SQLITE[0].sql.as_bytes()).as_slice(),
        );
        // Version 1 would fail if run again (its tables exist); only version 2 runs.
        // (sqlx's checksum is the SHA-384 of the SQL: checked on a database the earlier
        // release made, 2026-12-02.)
        assert_eq!(run(&mut conn, SQLITE).unwrap(), SQLITE.len() - 1);
        let indexes: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'checkout_sessions_live_user'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 1);
    }
}
