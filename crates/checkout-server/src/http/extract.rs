//! Request extractors: JSON bodies whose failures are problem documents, the signed-in
//! shopper from the login cookie, the admin bearer token, the request id and the
//! `Idempotency-Key` header.

use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::{header, request::Parts, HeaderMap},
};
use checkout_core::{ErrorCode, Rejection, Viewer};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{http::error::ApiError, state::AppState};

/// A JSON body. It must be sent as `application/json` (else `UNSUPPORTED_MEDIA_TYPE`,
/// 415) and be a JSON object (every body of the API is one; an array is
/// `VALIDATION_FAILED`). Syntax errors are `MALFORMED_REQUEST`, a body over the limit is
/// `PAYLOAD_TOO_LARGE`, and an object of the wrong shape is `VALIDATION_FAILED` with
/// serde's explanation, bounded so that it never quotes much of the input back.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !crate::http::media::is_json(req.headers()) {
            return Err(ErrorCode::UnsupportedMediaType.into());
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                let code = if e.status().as_u16() == 413 {
                    ErrorCode::PayloadTooLarge
                } else {
                    ErrorCode::MalformedRequest
                };
                ApiError::from(code)
            })?;
        let value = checkout_core::strict_json::parse(&bytes)
            .map_err(|e| refusal(ErrorCode::MalformedRequest, &e))?;
        if !value.is_object() {
            return Err(Rejection::with_message(
                ErrorCode::ValidationFailed,
                "the body must be a JSON object",
            )
            .into());
        }
        T::deserialize(value)
            .map(ApiJson)
            .map_err(|e| refusal(ErrorCode::ValidationFailed, &e))
    }
}

fn refusal(code: ErrorCode, error: &serde_json::Error) -> ApiError {
    Rejection::with_message(code, crate::http::error::bounded(&error.to_string())).into()
}

/// The SHA-256 of a login token, as stored (lower-case hex).
pub fn token_hash(token: &str) -> String {
    crate::auth::token_cache::hex(&crate::auth::token_cache::key(token))
}

/// Every value of the cookie `name`, in the order sent.
fn cookies<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(move |pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// The one cookie `name`, if sent. Two (a cookie planted for a parent domain or path
/// beside the real one) are refused rather than guessed between, saying `two`.
fn one_cookie<'a>(
    headers: &'a HeaderMap,
    name: &'a str,
    two: &'static str,
) -> Result<Option<&'a str>, ApiError> {
    let mut found = cookies(headers, name);
    match (found.next(), found.next()) {
        (Some(_), Some(_)) => Err(Rejection::with_message(ErrorCode::Unauthenticated, two).into()),
        (token, _) => Ok(token),
    }
}

/// The login token: exactly one login cookie.
fn login_token<'a>(headers: &'a HeaderMap, name: &'a str) -> Result<&'a str, ApiError> {
    one_cookie(
        headers,
        name,
        "More than one login cookie was sent. Please sign in again.",
    )?
    .ok_or_else(|| ErrorCode::Unauthenticated.into())
}

/// The signed-in shopper (or the shopper an admin is impersonating).
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// User id.
    pub id: String,
    /// Username.
    pub username: String,
    /// The impersonating admin (or, with the shop's tokens, the agent of the `act`
    /// claim), when any.
    pub impersonator: Option<String>,
    /// Hash of the login token (to end this login); `None` for the shop's token.
    pub login_hash: Option<String>,
    /// When this login ends (CONTRACT §19: the checkout it acts on ends with it).
    pub login_expires_at: chrono::DateTime<chrono::Utc>,
    /// The identity provider's session id (`sid`), for a token that has one.
    pub sid: Option<String>,
    /// For the shop's token: its key among ended sign-ins (signing out ends it).
    pub token_key: Option<String>,
    /// The customer as an order names it (read with the login: no query of its own).
    pub customer: crate::db::orders::OrderCustomer,
}

impl CurrentUser {
    /// As the core's viewer.
    pub fn viewer(&self) -> Viewer {
        Viewer {
            user_id: Some(self.id.clone()),
            acting_admin: self.impersonator.clone(),
        }
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(verifier) = &state.identity {
            if let Some(token) = shop_token(parts, verifier.cookie.as_deref())? {
                let customer = crate::auth::customers::current(state, token).await?;
                return Ok(CurrentUser {
                    customer: crate::db::orders::OrderCustomer {
                        id: customer.id.clone(),
                        external_id: Some(customer.external_id),
                        email: customer.email,
                    },
                    id: customer.id,
                    username: customer.shown,
                    impersonator: customer.agent,
                    login_hash: None,
                    login_expires_at: customer.expires_at,
                    sid: customer.sid,
                    token_key: Some(customer.token_key),
                });
            }
        }
        let token = login_token(&parts.headers, state.login_cookie.name())?;
        let hash = token_hash(token);
        let owner = crate::db::users::login(&state.db, &hash, state.clock.now())
            .await?
            .ok_or(ApiError::Rejected(Rejection::with_message(
                ErrorCode::Unauthenticated,
                "Your sign-in has ended. Please sign in again.",
            )))?;
        Ok(CurrentUser {
            customer: crate::db::orders::OrderCustomer {
                id: owner.user_id.clone(),
                external_id: owner.external_id,
                email: owner.email,
            },
            id: owner.user_id,
            username: owner.username,
            impersonator: owner.impersonator,
            login_hash: Some(hash),
            login_expires_at: owner.expires_at,
            sid: None,
            token_key: None,
        })
    }
}

/// The shop's token (CONTRACT §19): `Authorization: Bearer`, else exactly one cookie
/// named by `--jwt-cookie`. `None` when the request has neither (the login cookie may
/// still identify a built-in account).
fn shop_token<'a>(parts: &'a Parts, cookie: Option<&'a str>) -> Result<Option<&'a str>, ApiError> {
    if let Some(token) = bearer(parts) {
        return Ok(Some(token));
    }
    let Some(name) = cookie else {
        return Ok(None);
    };
    one_cookie(
        &parts.headers,
        name,
        "More than one sign-in cookie was sent. Please sign in again.",
    )
}

/// The bearer token of a request, if it has one.
fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}

/// Whether `presented` is `expected`, compared in constant time (digests make the
/// lengths equal; `subtle` compares without early exit).
fn same_token(presented: &str, expected: &str) -> bool {
    let expected = Sha256::digest(expected.as_bytes());
    let got = Sha256::digest(presented.as_bytes());
    bool::from(expected.as_slice().ct_eq(got.as_slice()))
}

/// A reader of `/metrics`: the admin token, or the read-only `--metrics-token`.
#[derive(Debug, Clone, Copy)]
pub struct MetricsReader;

impl FromRequestParts<AppState> for MetricsReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = bearer(parts).ok_or(ApiError::Rejected(Rejection::with_message(
            ErrorCode::Unauthenticated,
            "/metrics needs Authorization: Bearer <metrics or admin token>.",
        )))?;
        let metrics = state
            .metrics_token
            .as_deref()
            .is_some_and(|t| same_token(presented, t));
        if metrics || same_token(presented, &state.admin_token) {
            Ok(MetricsReader)
        } else {
            Err(ApiError::Rejected(Rejection::with_message(
                ErrorCode::Forbidden,
                "That token may not read the metrics.",
            )))
        }
    }
}

/// An admin request (bearer token, compared in constant time).
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = bearer(parts).ok_or(ApiError::Rejected(Rejection::with_message(
            ErrorCode::Unauthenticated,
            "Admin routes need Authorization: Bearer <admin token>.",
        )))?;
        if same_token(presented, &state.admin_token) {
            Ok(Admin)
        } else {
            Err(ApiError::Rejected(Rejection::with_message(
                ErrorCode::Forbidden,
                "That admin token is not valid.",
            )))
        }
    }
}

/// A request of the shop's backend (CONTRACT §24): `Authorization: Bearer` one of the
/// `--backend-api-key` keys, each compared in constant time (all of them, whichever
/// matches). Anything else — no key, a wrong or retired one, the admin token — is
/// `UNAUTHENTICATED`.
#[derive(Debug, Clone, Copy)]
pub struct Backend;

impl FromRequestParts<AppState> for Backend {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let refused = |why: &str| {
            ApiError::Rejected(Rejection::with_message(ErrorCode::Unauthenticated, why))
        };
        let presented = bearer(parts)
            .ok_or_else(|| refused("Backend routes need Authorization: Bearer <backend key>."))?;
        let matched = state
            .backend_keys
            .iter()
            .fold(false, |found, key| found | same_token(presented, key));
        if matched {
            Ok(Backend)
        } else {
            Err(refused("That backend key is not valid."))
        }
    }
}

/// The client's address, from the connection (for the per-address limits). `None` when
/// the server runs without connection info (in-process tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The request id set by the request-id layer.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestId(
            parts
                .headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_owned(),
        ))
    }
}

/// The raw `Idempotency-Key` header (validated by the core).
#[derive(Debug, Clone)]
pub struct IdempotencyHeader(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        if parts.headers.get_all("idempotency-key").iter().count() > 1 {
            return Err(Rejection::with_message(
                ErrorCode::MalformedRequest,
                "send one Idempotency-Key header, not several",
            )
            .into());
        }
        match parts.headers.get("idempotency-key") {
            None => Ok(IdempotencyHeader(None)),
            Some(v) => v
                .to_str()
                .map(|s| IdempotencyHeader(Some(s.to_owned())))
                .map_err(|_| {
                    ApiError::Rejected(Rejection::with_message(
                        ErrorCode::ValidationFailed,
                        "Idempotency-Key must be visible ASCII",
                    ))
                }),
        }
    }
}
