//! SQLite's migrations, run by rusqlite (the one SQLite driver of the server) on a
//! connection of its own before the writer and the readers open. PostgreSQL's run by
//! sqlx's migrator, whose PostgreSQL driver is the one the server uses there.
//!
//! Each migration runs in its own transaction with its row in `schema_migrations`
//! (version, description, SHA-256 of the SQL): a crash half-way leaves it unapplied, and
//! a migration edited after it was applied is refused at start rather than silently
//! skipped. A database created by an earlier release (whose migrations ran through
//! sqlx's SQLite driver, in `_sqlx_migrations`) is adopted: what sqlx applied counts as
//! applied.

use sha2::{Digest, Sha256};

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
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (\
             version INTEGER PRIMARY KEY, description TEXT NOT NULL, \
             checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .map_err(fail)?;
    adopt_sqlx(conn, migrations).map_err(fail)?;
    let mut applied = 0;
    for m in migrations {
        let stored: Option<String> = conn
            .query_row(
                "SELECT checksum FROM schema_migrations WHERE version = ?1",
                [m.version],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })
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
        let tx = conn.transaction().map_err(fail)?;
        tx.execute_batch(m.sql)
            .map_err(|e| format!("migration {} ({}) failed: {e}", m.version, m.description))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, description, checksum, applied_at) \
             VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![m.version, m.description, checksum(m.sql), now_ms()],
        )
        .map_err(fail)?;
        tx.commit().map_err(fail)?;
        applied += 1;
    }
    Ok(applied)
}

/// Counts the migrations an earlier release applied through sqlx (`_sqlx_migrations`,
/// successful rows) as applied, once, when `schema_migrations` is still empty.
fn adopt_sqlx(conn: &mut rusqlite::Connection, migrations: &[Migration]) -> rusqlite::Result<()> {
    let has_sqlx: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
        [],
        |r| r.get(0),
    )?;
    let ours: i64 = conn.query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))?;
    if !has_sqlx || ours > 0 {
        return Ok(());
    }
    let tx = conn.transaction()?;
    let versions: Vec<i64> = tx
        .prepare("SELECT version FROM _sqlx_migrations WHERE success = 1")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for m in migrations.iter().filter(|m| versions.contains(&m.version)) {
        tx.execute(
            "INSERT INTO schema_migrations (version, description, checksum, applied_at) \
             VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![m.version, m.description, checksum(m.sql), now_ms()],
        )?;
    }
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        conn.execute_batch(
            "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT, \
             installed_on TEXT, success BOOLEAN, checksum BLOB, execution_time BIGINT); \
             INSERT INTO _sqlx_migrations VALUES (1, 'schema', '', 1, x'00', 0);",
        )
        .unwrap();
        // Version 1 would fail if run again (its tables exist); only version 2 runs.
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
