//! Sign-up, sign-in and sign-out. Passwords are hashed with Argon2id (memory-hard) off
//! the async runtime; the login cookie is an opaque 256-bit random token, `HttpOnly`,
//! `SameSite=Lax`, and only its SHA-256 is stored. Signing out ends the shopper's live
//! checkout as `INACTIVE/SIGNED_OUT` (a payment in flight is left to settle).

pub mod backchannel;
pub mod customers;
pub mod jwks;
pub mod jwt;
pub mod login_cookie;
pub mod passwords;
pub mod throttle;
pub mod token_cache;

use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use checkout_core::{lifecycle::plan_sign_out, ErrorCode, Rejection, SessionStatus};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::throttle::{address_key, Guards},
    checkout::{actor, transition},
    db,
    http::error::{ApiError, ApiResult},
    http::extract::{token_hash, ApiJson, ClientAddr, CurrentUser, RequestId},
    state::AppState,
};

/// The auth routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(backchannel::backchannel_logout))
}

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// 3 to 32 characters: lower-case letters, digits, `.`, `_`, `-`.
    #[schema(schema_with = crate::http::api_doc::fields::username)]
    pub username: String,
    /// 8 to 128 characters.
    #[schema(schema_with = crate::http::api_doc::fields::password)]
    pub password: String,
}

/// The signed-in shopper.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// User id.
    pub id: String,
    /// Username.
    pub username: String,
    /// The admin acting for this shopper, when impersonating.
    pub impersonator: Option<String>,
}

fn validate(c: &Credentials) -> Result<(), Rejection> {
    let name_ok = (3..=32).contains(&c.username.len())
        && c.username
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if !name_ok {
        return Err(Rejection::with_message(
            ErrorCode::ValidationFailed,
            "username must be 3 to 32 characters of a-z, 0-9, '.', '_' or '-'",
        ));
    }
    if !(8..=128).contains(&c.password.chars().count()) {
        return Err(Rejection::with_message(
            ErrorCode::ValidationFailed,
            "password must be 8 to 128 characters",
        ));
    }
    Ok(())
}

/// Hashes a password on one of the few hashing threads (waiting
/// briefly for one, else `SERVICE_UNAVAILABLE`).
pub async fn hash_password(
    guards: &Guards,
    password: String,
    memory_kib: u32,
) -> ApiResult<String> {
    guards
        .hash(move || {
            crate::auth::passwords::hash(password.as_bytes(), memory_kib)
                .map_err(ApiError::Internal)
        })
        .await?
}

async fn verify_password(
    guards: &Guards,
    password: String,
    hash: String,
    memory_kib: u32,
) -> ApiResult<bool> {
    guards
        .hash(move || crate::auth::passwords::verify(password.as_bytes(), &hash, memory_kib))
        .await
}

/// Creates a login for `user_id` and returns the cookie to set.
pub async fn create_login(
    state: &AppState,
    user_id: &str,
    impersonator: Option<&str>,
) -> ApiResult<HeaderValue> {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let token = URL_SAFE_NO_PAD.encode(raw);
    let now = state.clock.now();
    let expires = now + state.login_lifetime;
    let mut tx = state.db.begin_write().await?;
    db::users::add_login(
        tx.conn(),
        &token_hash(&token),
        user_id,
        impersonator,
        now,
        expires,
    )
    .await?;
    tx.commit().await?;
    let cookie = state
        .login_cookie
        .set(&token, state.login_lifetime.num_seconds());
    HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.to_string()))
}

fn with_cookie(status: StatusCode, body: Me, cookie: HeaderValue) -> Response {
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

/// Create an account and sign in.
#[utoipa::path(post, path = "/auth/signup", tag = "auth", request_body = Credentials,
    responses((status = 201, body = Me), (status = 422, description = "VALIDATION_FAILED (bad or taken username)"),
        (status = 429, description = "RATE_LIMITED: too many sign-ups from this address (Retry-After)"),
        (status = 503, description = "SERVICE_UNAVAILABLE: every password-hashing slot busy (Retry-After)")))]
pub async fn signup(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    ApiJson(credentials): ApiJson<Credentials>,
) -> ApiResult<Response> {
    validate(&credentials)?;
    state
        .guards
        .signup_address
        .hit(&address_key(address), state.clock.now())?;
    let hash = hash_password(
        &state.guards,
        credentials.password,
        state.tuning.argon2_memory_kib,
    )
    .await?;
    let id = uuid::Uuid::now_v7().to_string();
    let mut tx = state.db.begin_write().await?;
    let now = state.clock.now();
    let inserted = db::users::create(tx.conn(), &id, &credentials.username, &hash, now).await;
    match inserted {
        Ok(_) => tx.commit().await?,
        Err(e) if e.is_unique_violation() => {
            return Err(Rejection::with_message(
                ErrorCode::ValidationFailed,
                "that username is taken",
            )
            .into())
        }
        Err(e) => return Err(e.into()),
    }
    let cookie = create_login(&state, &id, None).await?;
    Ok(with_cookie(
        StatusCode::CREATED,
        Me {
            id,
            username: credentials.username,
            impersonator: None,
        },
        cookie,
    ))
}

/// Sign in.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = Credentials,
    responses((status = 200, body = Me), (status = 401, description = "UNAUTHENTICATED"),
        (status = 429, description = "RATE_LIMITED: too many wrong passwords for this account or from this address (Retry-After)"),
        (status = 503, description = "SERVICE_UNAVAILABLE: every password-hashing slot busy (Retry-After)")))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    ApiJson(credentials): ApiJson<Credentials>,
) -> ApiResult<Response> {
    let now = state.clock.now();
    let guards = &state.guards;
    // Throttle keys stay small whatever is sent (no account has a longer name).
    let account: String = credentials.username.chars().take(40).collect();
    let address = address_key(address);
    // Counted before the password is checked, under the throttle's lock: a burst of
    // parallel guesses cannot all pass the check before any of them is counted. A right
    // password then takes its attempt back.
    guards.login_account.hit(&account, now)?;
    if let Err(refused) = guards.login_address.hit(&address, now) {
        guards.login_account.uncount(&account);
        return Err(refused);
    }
    let give_back = || {
        guards.login_account.uncount(&account);
        guards.login_address.uncount(&address);
    };
    let row = db::users::credentials(&state.db, &credentials.username).await?;
    let wrong = || {
        ApiError::Rejected(Rejection::with_message(
            ErrorCode::Unauthenticated,
            "Wrong username or password.",
        ))
    };
    let Some((id, hash)) = row else {
        // Spend the same time as a real check, so usernames cannot be probed by timing.
        if let Err(busy) =
            hash_password(guards, credentials.password, state.tuning.argon2_memory_kib).await
        {
            give_back();
            return Err(busy);
        }
        return Err(wrong());
    };
    let memory_kib = state.tuning.argon2_memory_kib;
    match verify_password(guards, credentials.password, hash, memory_kib).await {
        Ok(true) => {}
        Ok(false) => return Err(wrong()),
        Err(busy) => {
            // Not checked at all (no hashing slot): the attempt does not count.
            give_back();
            return Err(busy);
        }
    }
    guards.login_account.forget(&account);
    guards.login_address.uncount(&address);
    let cookie = create_login(&state, &id, None).await?;
    Ok(with_cookie(
        StatusCode::OK,
        Me {
            id,
            username: credentials.username,
            impersonator: None,
        },
        cookie,
    ))
}

/// Sign out: ends this login and the shopper's live checkout (`INACTIVE/SIGNED_OUT`).
/// For an admin's impersonation login it only ends the impersonation: the customer's
/// checkout is theirs and stays as it is.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
) -> ApiResult<Response> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    tx.lock_user(&user.id).await?;
    let actor = actor(&user, &request_id);
    let live = db::sessions::live_for_user(tx.conn(), &user.id).await?;
    for (id, step) in plan_sign_out(&live, user.impersonator.is_some(), now) {
        transition(tx.conn(), &id, SessionStatus::Active, step, &actor, now).await?;
    }
    if let Some(hash) = &user.login_hash {
        db::users::end_login(tx.conn(), hash).await?;
    }
    // The shop's token is refused from now on, here, until it would have expired
    // (the shop's own sign-out ends it at the shop).
    if let Some(key) = &user.token_key {
        let until = user
            .login_expires_at
            .checked_add_signed(chrono::Duration::seconds(jwt::LEEWAY_SECS + 1))
            .unwrap_or(user.login_expires_at);
        db::users::end_sign_in(tx.conn(), key, until).await?;
    }
    tx.commit().await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&state.login_cookie.set("", 0))
            .map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    // The shop's token cookie too, where this host can clear it (one the shop set for a
    // parent domain is the shop's sign-out to clear).
    if let Some(name) = state.identity.as_ref().and_then(|v| v.cookie.as_deref()) {
        let cleared = format!("{name}=; Path=/; Max-Age=0");
        response.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_str(&cleared).map_err(|e| ApiError::Internal(e.to_string()))?,
        );
    }
    Ok(response)
}

/// Who is signed in.
#[utoipa::path(get, path = "/auth/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401, description = "UNAUTHENTICATED")))]
pub async fn me(user: CurrentUser) -> Json<Me> {
    Json(Me {
        id: user.id,
        username: user.username,
        impersonator: user.impersonator,
    })
}
