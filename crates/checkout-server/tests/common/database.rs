//! Which database a test runs on, fresh PostgreSQL databases, and reading the database
//! directly for what the API does not show.

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server for tests, if configured.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("CHECKOUT_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A fresh PostgreSQL database on the test server; returns its URL.
pub async fn fresh_postgres_database() -> String {
    use sqlx::{Connection, Executor};
    let admin = postgres_admin_url().expect("CHECKOUT_TEST_POSTGRES_URL");
    let name = format!("cg_test_{}", uuid::Uuid::now_v7().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to test PostgreSQL");
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create test database");
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(b, _)| b)
        .to_owned();
    format!("{base}/{name}")
}

/// Drops a database made by [`fresh_postgres_database`].
pub async fn drop_postgres_database(url: &str) {
    use sqlx::{Connection, Executor};
    let Some(admin) = postgres_admin_url() else {
        return;
    };
    let Some((_, name)) = url.rsplit_once('/') else {
        return;
    };
    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
        let _ = conn
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await;
    }
}

/// The integer a query returns in its column `n` (arguments bound as texts, `$1`…).
pub async fn count(db: &checkout_server::db::Db, sql: &str, args: &[&str]) -> i64 {
    let mut query = checkout_server::db::query(sql);
    for arg in args {
        query = query.bind(*arg);
    }
    query.fetch_one(db).await.unwrap().try_get("n").unwrap()
}

/// The texts a query returns in its column `s`, one per row.
pub async fn texts(db: &checkout_server::db::Db, sql: &str, args: &[&str]) -> Vec<String> {
    column(db, sql, args, "s").await
}

/// SQLite's plan for `sql` (`EXPLAIN QUERY PLAN`), a line per step.
pub async fn query_plan(db: &checkout_server::db::Db, sql: &str, args: &[&str]) -> Vec<String> {
    column(db, &format!("EXPLAIN QUERY PLAN {sql}"), args, "detail").await
}

async fn column(db: &checkout_server::db::Db, sql: &str, args: &[&str], name: &str) -> Vec<String> {
    let mut query = checkout_server::db::query(sql);
    for arg in args {
        query = query.bind(*arg);
    }
    query
        .fetch_all(db)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get(name).unwrap())
        .collect()
}
