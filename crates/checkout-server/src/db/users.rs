//! Shoppers and their logins. A login is stored by the SHA-256 of its token only.

use chrono::{DateTime, Utc};

use super::{query, Conn, DbError};
use crate::clock::to_ms;

/// A signed-in shopper, as a login finds them.
#[derive(Debug, Clone)]
pub struct LoginOwner {
    /// The shopper.
    pub user_id: String,
    /// Their username.
    pub username: String,
    /// The admin acting as them, for an impersonation login.
    pub impersonator: Option<String>,
    /// When the login ends.
    pub expires_at: DateTime<Utc>,
    /// The shop's own id for them (a customer first seen by the shop's token).
    pub external_id: Option<String>,
    /// Their e-mail, when known.
    pub email: Option<String>,
}

/// Creates a shopper. A username already taken is a unique violation
/// ([`DbError::is_unique_violation`]).
pub async fn create(
    conn: impl Into<Conn<'_>>,
    id: &str,
    username: &str,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    query("INSERT INTO users (id, username, password_hash, created_at) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(username)
        .bind(password_hash)
        .bind(to_ms(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// The username of the shopper with this id.
pub async fn username(conn: impl Into<Conn<'_>>, id: &str) -> Result<Option<String>, DbError> {
    query("SELECT username FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get("username"))
        .transpose()
}

/// The id and password hash of the shopper with this username.
pub async fn credentials(
    conn: impl Into<Conn<'_>>,
    username: &str,
) -> Result<Option<(String, String)>, DbError> {
    query("SELECT id, password_hash FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(conn)
        .await?
        .map(|r| Ok((r.try_get("id")?, r.try_get("password_hash")?)))
        .transpose()
}

/// The id of the shopper with this username.
pub async fn id_of(conn: impl Into<Conn<'_>>, username: &str) -> Result<Option<String>, DbError> {
    query("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get("id"))
        .transpose()
}

/// Whether the shopper may decide orders submitted for approval.
pub async fn is_approver(conn: impl Into<Conn<'_>>, user_id: &str) -> Result<bool, DbError> {
    Ok(query("SELECT approver FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get::<i64>("approver"))
        .transpose()?
        == Some(1))
}

/// Gives or takes the approver role; returns whether the shopper exists.
pub async fn set_approver(
    conn: impl Into<Conn<'_>>,
    username: &str,
    approver: bool,
) -> Result<bool, DbError> {
    Ok(query("UPDATE users SET approver = $1 WHERE username = $2")
        .bind(i64::from(approver))
        .bind(username)
        .execute(conn)
        .await?
        == 1)
}

/// Stores a login (by its token's hash) until `expires_at`.
pub async fn add_login(
    conn: impl Into<Conn<'_>>,
    token_hash: &str,
    user_id: &str,
    impersonator: Option<&str>,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), DbError> {
    query(
        "INSERT INTO logins (token_hash, user_id, impersonator, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(impersonator)
    .bind(to_ms(now))
    .bind(to_ms(expires_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Who a login not yet expired at `now` belongs to.
pub async fn login(
    conn: impl Into<Conn<'_>>,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<LoginOwner>, DbError> {
    let Some(row) = query(
        "SELECT u.id, u.username, u.external_id, u.email, l.impersonator, l.expires_at \
         FROM logins l JOIN users u ON u.id = l.user_id \
         WHERE l.token_hash = $1 AND l.expires_at > $2",
    )
    .bind(token_hash)
    .bind(to_ms(now))
    .fetch_optional(conn)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(LoginOwner {
        user_id: row.try_get("id")?,
        username: row.try_get("username")?,
        impersonator: row.try_get("impersonator")?,
        expires_at: crate::clock::from_ms(row.try_get("expires_at")?),
        external_id: row.try_get("external_id")?,
        email: row.try_get("email")?,
    }))
}

/// Ends a login.
pub async fn end_login(conn: impl Into<Conn<'_>>, token_hash: &str) -> Result<(), DbError> {
    query("DELETE FROM logins WHERE token_hash = $1")
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes up to `limit` logins that expired by `now`, up to `limit` used logout tokens
/// that would have expired by then, and up to `limit` ended sign-ins past their time;
/// returns how many.
pub async fn purge_logins(
    conn: impl Into<Conn<'_>>,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<u64, DbError> {
    let mut conn = conn.into();
    let mut deleted = 0;
    for (table, key, ends) in [
        ("logins", "token_hash", "expires_at"),
        ("used_logout_tokens", "jti", "expires_at"),
        ("ended_logins", "key", "until"),
    ] {
        deleted += query(&format!(
            "DELETE FROM {table} WHERE {key} IN \
             (SELECT {key} FROM {table} WHERE {ends} <= $1 LIMIT $2)"
        ))
        .bind(to_ms(now))
        .bind(i64::from(limit))
        .execute(&mut conn)
        .await?;
    }
    Ok(deleted)
}

/// A customer of the shop's identity provider, as stored.
#[derive(Debug, Clone)]
pub struct Customer {
    /// Our id for them.
    pub id: String,
    /// Their e-mail, as the last token that had one said.
    pub email: Option<String>,
    /// Their name, likewise.
    pub name: Option<String>,
    /// Tokens issued before this (ms) are refused: a back-channel logout ended them.
    pub tokens_valid_after: Option<i64>,
}

/// The customer whose `sub` is `external_id`, and whether one of `ended` (keys of
/// [`end_sign_in`]: this token, its provider session) was ended: one statement, as
/// every request of the shop's customers makes it.
pub async fn customer(
    conn: impl Into<Conn<'_>>,
    external_id: &str,
    ended: [&str; 2],
) -> Result<Option<(Customer, bool)>, DbError> {
    query(
        "SELECT id, email, name, tokens_valid_after, \
         (SELECT COUNT(*) FROM ended_logins WHERE key = $2 OR key = $3) AS ended \
         FROM users WHERE external_id = $1",
    )
    .bind(external_id)
    .bind(ended[0])
    .bind(ended[1])
    .fetch_optional(conn)
    .await?
    .map(|r| {
        let customer = Customer {
            id: r.try_get("id")?,
            email: r.try_get("email")?,
            name: r.try_get("name")?,
            tokens_valid_after: r.try_get("tokens_valid_after")?,
        };
        Ok((customer, r.try_get::<i64>("ended")? > 0))
    })
    .transpose()
}

/// Ends a sign-in of the shop's tokens until `until` (`key` is `token:…` or `sid:…`).
pub async fn end_sign_in(
    conn: impl Into<Conn<'_>>,
    key: &str,
    until: DateTime<Utc>,
) -> Result<(), DbError> {
    query(
        "INSERT INTO ended_logins (key, until) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET until = excluded.until \
         WHERE ended_logins.until < excluded.until",
    )
    .bind(key)
    .bind(to_ms(until))
    .execute(conn)
    .await?;
    Ok(())
}

/// The customer whose `sub` is `external_id` (as [`customer`]), stored first if this
/// is their first sight; two first sights at once store one, and both read it. A new
/// row has no password and a username no built-in account can take (`~` + our id).
pub async fn store_customer(
    conn: impl Into<Conn<'_>>,
    external_id: &str,
    profile: [Option<&str>; 2],
    ended: [&str; 2],
    now: DateTime<Utc>,
) -> Result<Option<(Customer, bool)>, DbError> {
    let mut conn = conn.into();
    let id = uuid::Uuid::now_v7().to_string();
    query(
        "INSERT INTO users (id, username, password_hash, created_at, external_id, email, name) \
         VALUES ($1, $2, '', $3, $4, $5, $6) ON CONFLICT (external_id) DO NOTHING",
    )
    .bind(&id)
    .bind(format!("~{id}"))
    .bind(to_ms(now))
    .bind(external_id)
    .bind(profile[0])
    .bind(profile[1])
    .execute(&mut conn)
    .await?;
    customer(conn, external_id, ended).await
}

/// Keeps the e-mail and name a newer token gave.
pub async fn update_profile(
    conn: impl Into<Conn<'_>>,
    id: &str,
    email: Option<&str>,
    name: Option<&str>,
) -> Result<(), DbError> {
    query("UPDATE users SET email = COALESCE($1, email), name = COALESCE($2, name) WHERE id = $3")
        .bind(email)
        .bind(name)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Refuses the customer's tokens issued at or before `at` (a back-channel logout, on
/// the provider's clock). It only moves forward.
pub async fn end_tokens_before(
    conn: impl Into<Conn<'_>>,
    id: &str,
    at: DateTime<Utc>,
) -> Result<(), DbError> {
    query(
        "UPDATE users SET tokens_valid_after = $1 \
         WHERE id = $2 AND (tokens_valid_after IS NULL OR tokens_valid_after < $1)",
    )
    .bind(to_ms(at))
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a logout token's `jti` as used; `false` when it was used before.
pub async fn use_logout_token(
    conn: impl Into<Conn<'_>>,
    jti: &str,
    keep_until: DateTime<Utc>,
) -> Result<bool, DbError> {
    let stored = query(
        "INSERT INTO used_logout_tokens (jti, expires_at) VALUES ($1, $2) \
         ON CONFLICT (jti) DO NOTHING",
    )
    .bind(jti)
    .bind(to_ms(keep_until))
    .execute(conn)
    .await?;
    Ok(stored == 1)
}
