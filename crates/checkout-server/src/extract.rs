//! Request extractors: JSON bodies whose failures are problem documents, the signed-in
//! shopper from the login cookie, the admin bearer token, the request id and the
//! `Idempotency-Key` header.

use axum::{
    extract::{rejection::JsonRejection, FromRequest, FromRequestParts, Request},
    http::{header, request::Parts, HeaderMap},
};
use checkout_core::{ErrorCode, Rejection, Viewer};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{clock::to_ms, error::ApiError, state::AppState};

/// Name of the login cookie.
pub const LOGIN_COOKIE: &str = "cg_login";

/// A JSON body. Syntax errors are `MALFORMED_REQUEST`, a body over the limit is
/// `PAYLOAD_TOO_LARGE`, and well-formed JSON of the wrong shape is `VALIDATION_FAILED`
/// with serde's explanation.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let text = rejection.body_text();
    let code = match &rejection {
        JsonRejection::JsonDataError(_) => ErrorCode::ValidationFailed,
        JsonRejection::BytesRejection(_) if rejection.status().as_u16() == 413 => {
            ErrorCode::PayloadTooLarge
        }
        _ if rejection.status().as_u16() == 413 => ErrorCode::PayloadTooLarge,
        _ => ErrorCode::MalformedRequest,
    };
    ApiError::Rejected(Rejection::with_message(code, text))
}

/// The SHA-256 of a login token, as stored.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// The signed-in shopper (or the shopper an admin is impersonating).
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// User id.
    pub id: String,
    /// Username.
    pub username: String,
    /// The impersonating admin, when any.
    pub impersonator: Option<String>,
    /// Hash of the login token (to end this login).
    pub login_hash: String,
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
        let token = cookie(&parts.headers, LOGIN_COOKIE).ok_or(ApiError::Rejected(
            Rejection::new(ErrorCode::Unauthenticated),
        ))?;
        let hash = token_hash(token);
        let row = crate::db::query(
            "SELECT u.id, u.username, l.impersonator FROM logins l JOIN users u ON u.id = l.user_id \
             WHERE l.token_hash = $1 AND l.expires_at > $2",
        )
        .bind(&hash)
        .bind(to_ms(state.clock.now()))
        .fetch_optional(&state.db)
        .await?;
        let row = row.ok_or(ApiError::Rejected(Rejection::with_message(
            ErrorCode::Unauthenticated,
            "Your sign-in has ended. Please sign in again.",
        )))?;
        Ok(CurrentUser {
            id: row.try_get("id")?,
            username: row.try_get("username")?,
            impersonator: row.try_get("impersonator")?,
            login_hash: hash,
        })
    }
}

/// An admin request (bearer token, compared in constant time).
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Rejected(Rejection::with_message(
                ErrorCode::Unauthenticated,
                "Admin routes need Authorization: Bearer <admin token>.",
            )))?;
        // Digests make the lengths equal; `subtle` compares without early exit.
        let expected = Sha256::digest(state.admin_token.as_bytes());
        let got = Sha256::digest(presented.as_bytes());
        if bool::from(expected.as_slice().ct_eq(got.as_slice())) {
            Ok(Admin)
        } else {
            Err(ApiError::Rejected(Rejection::with_message(
                ErrorCode::Forbidden,
                "That admin token is not valid.",
            )))
        }
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
