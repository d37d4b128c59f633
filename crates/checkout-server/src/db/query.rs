//! Statements for either backend: [`query`] builds one with its arguments, [`Conn`] says
//! where it runs (the SQLite writer or readers, or a PostgreSQL connection), [`DbRow`] reads
//! the answer.

use std::{borrow::Cow, sync::Arc};
use tracing::Instrument;

use sqlx::{
    pool::PoolConnection,
    postgres::{PgArguments, PgRow},
    PgConnection, Postgres,
};

use super::{Db, DbError, WriteTx};

/// A statement's argument. Both backends see the same types: 64-bit integers and text
/// (times are Unix milliseconds, money minor units, documents JSON text).
#[derive(Debug, Clone)]
pub enum Arg<'q> {
    /// An integer, or a NULL of integer type.
    Int(Option<i64>),
    /// A text, or a NULL of text type.
    Text(Option<Cow<'q, str>>),
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}

impl<'q> From<&'q str> for Arg<'q> {
    fn from(v: &'q str) -> Self {
        Arg::Text(Some(Cow::Borrowed(v)))
    }
}

impl<'q> From<&'q String> for Arg<'q> {
    fn from(v: &'q String) -> Self {
        Arg::Text(Some(Cow::Borrowed(v)))
    }
}

impl From<String> for Arg<'_> {
    fn from(v: String) -> Self {
        Arg::Text(Some(Cow::Owned(v)))
    }
}

impl<'q> From<Option<&'q str>> for Arg<'q> {
    fn from(v: Option<&'q str>) -> Self {
        Arg::Text(v.map(Cow::Borrowed))
    }
}

impl<'q> From<&'q Option<String>> for Arg<'q> {
    fn from(v: &'q Option<String>) -> Self {
        Arg::Text(v.as_deref().map(Cow::Borrowed))
    }
}

impl From<Option<String>> for Arg<'_> {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v.map(Cow::Owned))
    }
}

/// Where a statement runs: the read pool, a pooled (or transaction's) sqlx connection,
/// or the SQLite writer inside its transaction.
#[derive(Debug)]
pub enum Conn<'c> {
    /// Any connection of the database, for a read outside a transaction (on SQLite a
    /// query-only connection: writes go through [`Db::begin_write`]).
    Pool(&'c Db),
    /// One PostgreSQL connection (pooled, or a transaction's).
    Pg(&'c mut PgConnection),
    /// The SQLite writer.
    Lite(&'c mut rusqlite::Connection),
}

impl<'c> From<&'c Db> for Conn<'c> {
    fn from(db: &'c Db) -> Self {
        Conn::Pool(db)
    }
}

impl<'c> From<&'c mut PgConnection> for Conn<'c> {
    fn from(conn: &'c mut PgConnection) -> Self {
        Conn::Pg(conn)
    }
}

impl<'c> From<&'c mut PoolConnection<Postgres>> for Conn<'c> {
    fn from(conn: &'c mut PoolConnection<Postgres>) -> Self {
        Conn::Pg(conn)
    }
}

impl<'c> From<&'c mut WriteTx> for Conn<'c> {
    fn from(tx: &'c mut WriteTx) -> Self {
        tx.conn()
    }
}

impl<'c, 'x> From<&'c mut Conn<'x>> for Conn<'c> {
    fn from(conn: &'c mut Conn<'x>) -> Self {
        match conn {
            Conn::Pool(pool) => Conn::Pool(pool),
            Conn::Pg(c) => Conn::Pg(c),
            Conn::Lite(c) => Conn::Lite(c),
        }
    }
}

/// A statement with its arguments, for either backend: `$1`, `$2`… in the SQL, as
/// PostgreSQL writes them (SQLite reads `$N` as parameter N here).
#[derive(Debug)]
#[must_use = "a query does nothing until it is executed or fetched"]
pub struct Query<'q> {
    sql: &'q str,
    args: Vec<Arg<'q>>,
}

/// A statement's text as a span shows it: its first 240 characters.
struct Statement<'a>(&'a str);

impl std::fmt::Display for Statement<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.char_indices().nth(240) {
            Some((end, _)) => f.write_str(&self.0[..end]),
            None => f.write_str(self.0),
        }
    }
}

/// A statement to run on either backend.
pub fn query(sql: &str) -> Query<'_> {
    Query {
        sql,
        args: Vec::new(),
    }
}

impl<'q> Query<'q> {
    /// Adds the next argument (`$1`, then `$2`, …).
    pub fn bind(mut self, arg: impl Into<Arg<'q>>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// The statement's trace span (debug: nothing unless traces are on). The SQL only,
    /// never its arguments.
    fn span(&self) -> tracing::Span {
        tracing::debug_span!("db", otel.kind = "client", db.statement = %Statement(self.sql))
    }

    /// Runs the statement; returns how many rows it changed.
    pub async fn execute(self, conn: impl Into<Conn<'_>>) -> Result<u64, DbError> {
        let span = self.span();
        self.execute_in(conn).instrument(span).await
    }

    async fn execute_in(self, conn: impl Into<Conn<'_>>) -> Result<u64, DbError> {
        Ok(match conn.into() {
            Conn::Pool(Db::Sqlite(lite)) => lite.readers.with(|c| self.lite_execute(c, false))?,
            Conn::Pool(Db::Postgres(pool)) => self.sqlx().execute(pool).await?.rows_affected(),
            Conn::Pg(c) => self.sqlx().execute(c).await?.rows_affected(),
            Conn::Lite(c) => self.lite_execute(c, true)?,
        })
    }

    /// Every row.
    pub async fn fetch_all(self, conn: impl Into<Conn<'_>>) -> Result<Vec<DbRow>, DbError> {
        let span = self.span();
        self.fetch_all_in(conn).instrument(span).await
    }

    async fn fetch_all_in(self, conn: impl Into<Conn<'_>>) -> Result<Vec<DbRow>, DbError> {
        Ok(match conn.into() {
            Conn::Pool(Db::Sqlite(lite)) => lite
                .readers
                .with(|c| self.lite_rows(c, false, usize::MAX))?,
            Conn::Pool(Db::Postgres(pool)) => rows(self.sqlx().fetch_all(pool).await?),
            Conn::Pg(c) => rows(self.sqlx().fetch_all(c).await?),
            Conn::Lite(c) => self.lite_rows(c, true, usize::MAX)?,
        })
    }

    /// The first row, if any.
    pub async fn fetch_optional(self, conn: impl Into<Conn<'_>>) -> Result<Option<DbRow>, DbError> {
        let span = self.span();
        self.fetch_optional_in(conn).instrument(span).await
    }

    async fn fetch_optional_in(self, conn: impl Into<Conn<'_>>) -> Result<Option<DbRow>, DbError> {
        Ok(match conn.into() {
            Conn::Pool(Db::Sqlite(lite)) => {
                lite.readers.with(|c| self.lite_rows(c, false, 1))?.pop()
            }
            Conn::Pool(Db::Postgres(pool)) => {
                self.sqlx().fetch_optional(pool).await?.map(DbRow::Pg)
            }
            Conn::Pg(c) => self.sqlx().fetch_optional(c).await?.map(DbRow::Pg),
            Conn::Lite(c) => self.lite_rows(c, true, 1)?.pop(),
        })
    }

    /// The first row; no row is an error.
    pub async fn fetch_one(self, conn: impl Into<Conn<'_>>) -> Result<DbRow, DbError> {
        self.fetch_optional(conn).await?.ok_or(DbError::NoRow)
    }

    fn sqlx(&self) -> sqlx::query::Query<'_, Postgres, PgArguments> {
        let mut q = sqlx::query(self.sql);
        for arg in &self.args {
            q = match arg {
                Arg::Int(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.as_deref()),
            };
        }
        q
    }

    /// Prepares (from the connection's statement cache) and binds `$N` to argument N.
    fn lite<'c>(
        &self,
        conn: &'c rusqlite::Connection,
    ) -> Result<rusqlite::CachedStatement<'c>, DbError> {
        let mut stmt = conn.prepare_cached(self.sql)?;
        for index in 1..=stmt.parameter_count() {
            let number = stmt
                .parameter_name(index)
                .and_then(|name| name.strip_prefix('$'))
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(index);
            let arg = number.checked_sub(1).and_then(|i| self.args.get(i)).ok_or(
                rusqlite::Error::InvalidParameterCount(number, self.args.len()),
            )?;
            match arg {
                Arg::Int(v) => stmt.raw_bind_parameter(index, v)?,
                Arg::Text(v) => stmt.raw_bind_parameter(index, v.as_deref())?,
            }
        }
        Ok(stmt)
    }

    fn lite_execute(&self, conn: &rusqlite::Connection, writer: bool) -> Result<u64, DbError> {
        let started = std::time::Instant::now();
        let mut stmt = self.lite(conn)?;
        let changed = stmt.raw_execute();
        ran(&stmt, self.sql, writer, started);
        Ok(u64::try_from(changed?).unwrap_or(u64::MAX))
    }

    fn lite_rows(
        &self,
        conn: &rusqlite::Connection,
        writer: bool,
        limit: usize,
    ) -> Result<Vec<DbRow>, DbError> {
        let started = std::time::Instant::now();
        let mut stmt = self.lite(conn)?;
        let names: Arc<[String]> = stmt.column_names().into_iter().map(String::from).collect();
        let mut found = Vec::new();
        let mut rows = stmt.raw_query();
        while found.len() < limit {
            let Some(row) = rows.next()? else { break };
            let values = (0..names.len())
                .map(|i| row.get_ref(i).map(rusqlite::types::Value::from))
                .collect::<Result<Vec<_>, _>>()?;
            found.push(DbRow::Lite {
                names: Arc::clone(&names),
                values,
            });
        }
        drop(rows);
        ran(&stmt, self.sql, writer, started);
        Ok(found)
    }
}

/// Counts the statement's run (its time, on the writer or a reader) and the rows it
/// stepped through in full table scans (a cost that grows with the stored data, where
/// an index would have found the rows).
fn ran(stmt: &rusqlite::Statement<'_>, sql: &str, writer: bool, started: std::time::Instant) {
    crate::ops::metrics::sqlite_statement(writer, sql, started.elapsed());
    let rows = stmt.reset_status(rusqlite::StatementStatus::FullscanStep);
    if crate::ops::metrics::sqlite_scan(rows) {
        tracing::warn!(rows, statement = %Statement(sql), "a SQLite statement scanned a whole table");
    }
}

fn rows(rows: Vec<PgRow>) -> Vec<DbRow> {
    rows.into_iter().map(DbRow::Pg).collect()
}

/// A row from either backend.
pub enum DbRow {
    /// From PostgreSQL.
    Pg(PgRow),
    /// From SQLite (the writer or a read connection).
    Lite {
        /// Column names.
        names: Arc<[String]>,
        /// Values, by column.
        values: Vec<rusqlite::types::Value>,
    },
}

impl std::fmt::Debug for DbRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbRow::Pg(_) => f.write_str("DbRow::Pg(..)"),
            DbRow::Lite { names, values } => f
                .debug_map()
                .entries(names.iter().zip(values.iter()))
                .finish(),
        }
    }
}

/// A column type both drivers read: `i64`, `String`, and their `Option`s.
pub trait Column: Sized {
    /// Reads it from a PostgreSQL row.
    fn from_pg(row: &PgRow, name: &str) -> Result<Self, sqlx::Error>;
    /// Reads it from a SQLite value.
    fn from_lite(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self>;
}

impl<T> Column for T
where
    T: for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres> + rusqlite::types::FromSql,
{
    fn from_pg(row: &PgRow, name: &str) -> Result<Self, sqlx::Error> {
        sqlx::Row::try_get(row, name)
    }

    fn from_lite(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        T::column_result(value)
    }
}

impl DbRow {
    /// The value of a column, by name.
    pub fn try_get<T: Column>(&self, name: &str) -> Result<T, DbError> {
        match self {
            DbRow::Pg(row) => Ok(T::from_pg(row, name)?),
            DbRow::Lite { names, values } => {
                let column = |message: String| DbError::Column {
                    column: name.to_owned(),
                    message,
                };
                let value = names
                    .iter()
                    .position(|n| n == name)
                    .and_then(|i| values.get(i))
                    .ok_or_else(|| column("no such column".into()))?;
                T::from_lite(value.into()).map_err(|e| column(e.to_string()))
            }
        }
    }
}
