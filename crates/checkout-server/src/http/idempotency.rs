//! Idempotency-Key handling (CONTRACT §7) for the handlers. The decision table is the
//! core's ([`checkout_core::idempotency::decide`]), the rows are `db::idempotency`'s;
//! this module claims a key inside the
//! caller's write transaction, stores the final response in the transaction that makes
//! the effect (so an effect and its stored answer commit together or not at all), and
//! replays stored answers with `Idempotent-Replayed: true`.

use axum::{
    http::{HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use checkout_core::{
    idempotency::{decide, IdempotencyKey, KeyDecision, StoredRequest, RETENTION},
    ErrorCode, Rejection,
};
use chrono::{DateTime, Utc};

use crate::{
    db::{self, idempotency::KeyRef, WriteTx},
    http::error::{problem_response, ApiError},
};

/// A key in its scope: the shopper and the endpoint.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The shopper.
    pub user_id: String,
    /// Method and concrete path, e.g. `POST /api/v1/checkouts/…/place-order`.
    pub endpoint: String,
    /// The key.
    pub key: IdempotencyKey,
    /// The request fingerprint.
    pub fingerprint: String,
}

impl Scope {
    /// Builds the scope of a request.
    pub fn new(
        user_id: &str,
        endpoint: String,
        key: IdempotencyKey,
        body: &serde_json::Value,
    ) -> Scope {
        let fingerprint = checkout_core::idempotency::fingerprint("POST", &endpoint, body);
        Scope {
            user_id: user_id.to_owned(),
            endpoint,
            key,
            fingerprint,
        }
    }

    /// The key in its scope, as stored.
    pub fn key_ref(&self) -> KeyRef<'_> {
        KeyRef {
            user_id: &self.user_id,
            endpoint: &self.endpoint,
            key: self.key.as_str(),
        }
    }
}

/// The result of claiming a key.
#[derive(Debug)]
pub enum Claimed {
    /// Run the request (the key is now held as in progress).
    Fresh,
    /// Answer with this stored response.
    Replay {
        /// Stored status.
        status: u16,
        /// Stored body.
        body: serde_json::Value,
    },
}

/// Claims the key inside `tx`, or says why not (`IDEMPOTENCY_KEY_REUSED`,
/// `REQUEST_IN_PROGRESS`, `RATE_LIMITED` for a shopper already holding `max_keys`
/// keys), or returns the stored answer. A new key (the usual case) costs one statement:
/// the insert; a key already stored is read and decided by the core.
///
/// The claim stands only if the request then takes effect: [`release`] deletes it for
/// a request that was refused, so refused requests leave nothing behind (CONTRACT §11:
/// a request is validated and authorized before its key is kept).
pub async fn claim(
    tx: &mut WriteTx,
    scope: &Scope,
    now: DateTime<Utc>,
    max_keys: u32,
) -> Result<Claimed, ApiError> {
    let key = scope.key_ref();
    if db::idempotency::claim(tx.conn(), key, &scope.fingerprint, now, max_keys).await? {
        return Ok(Claimed::Fresh);
    }
    let Some(found) = db::idempotency::find(tx.conn(), key).await? else {
        // Not inserted and not there: the shopper holds as many keys as allowed.
        return Err(ApiError::RetryLater {
            rejection: Rejection::with_message(
                ErrorCode::RateLimited,
                format!("Too many requests with new Idempotency-Keys: at most {max_keys} are kept per shopper. Retry later, or reuse the key of the request you are retrying."),
            ),
            after_secs: 3600,
        });
    };
    match (decided(&found, &scope.fingerprint, now)?, found.answer) {
        (KeyDecision::Replay, Some((status, body))) => Ok(Claimed::Replay { status, body }),
        (KeyDecision::TakeOver, _) => {
            db::idempotency::take_over(tx.conn(), key, now).await?;
            Ok(Claimed::Fresh)
        }
        (other, _) => Err(ApiError::Internal(format!(
            "stored key decided as {other:?} without a rejection"
        ))),
    }
}

/// What the core decides for a request with `fingerprint` whose key is stored as
/// `found`: a refusal (`IDEMPOTENCY_KEY_REUSED`, `REQUEST_IN_PROGRESS`) as an error,
/// else replay or take over.
pub fn decided(
    found: &db::idempotency::StoredKey,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> Result<KeyDecision, ApiError> {
    let stored = match found.answer {
        Some(_) => StoredRequest::Completed {
            fingerprint: found.fingerprint.clone(),
        },
        None => StoredRequest::InProgress {
            fingerprint: found.fingerprint.clone(),
            started_at: found.started_at,
        },
    };
    let decision = decide(Some(&stored), fingerprint, now);
    match decision.rejection() {
        Some(rejection) => Err(rejection.into()),
        None => Ok(decision),
    }
}

/// What [`begin`] found.
#[derive(Debug)]
pub enum Begun {
    /// Run the request in this transaction (the shopper locked, the key claimed).
    Run(WriteTx),
    /// The key's stored answer, to send as it is.
    Replay(Response),
}

/// Opens the write transaction of a keyed request of `scope`'s shopper: the shopper's
/// lock, then the claim of the key.
pub async fn begin(
    state: &crate::state::AppState,
    scope: &Scope,
    now: DateTime<Utc>,
) -> Result<Begun, ApiError> {
    let mut tx = state.db.begin_write().await?;
    tx.lock_user(&scope.user_id).await?;
    let max_keys = state.tuning.idempotency_keys_per_shopper;
    Ok(match claim(&mut tx, scope, now, max_keys).await? {
        Claimed::Fresh => Begun::Run(tx),
        Claimed::Replay { status, body } => Begun::Replay(replay(status, &body)),
    })
}

/// Gives up a claim whose request was refused before any effect (in the same
/// transaction): the key is free again and nothing of the request is kept.
pub async fn release(tx: &mut WriteTx, scope: &Scope) -> Result<(), ApiError> {
    Ok(db::idempotency::release(tx.conn(), scope.key_ref()).await?)
}

/// Stores the final answer for a key (in the transaction of the effect). 5xx answers
/// are never stored: the caller rolls back instead, so the retry runs.
pub async fn complete(
    tx: &mut WriteTx,
    key: KeyRef<'_>,
    status: u16,
    body: &serde_json::Value,
) -> Result<(), ApiError> {
    if checkout_core::idempotency::is_storable(status) {
        db::idempotency::complete(tx.conn(), key, status, &body.to_string()).await?;
    }
    Ok(())
}

/// A stored answer, replayed.
pub fn replay(status: u16, body: &serde_json::Value) -> Response {
    let mut response = response(status, body);
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

/// An answer as it is stored: a problem document for 4xx, JSON otherwise.
pub fn response(status: u16, body: &serde_json::Value) -> Response {
    if status >= 400 {
        problem_response(status, body)
    } else {
        (
            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            axum::Json(body.clone()),
        )
            .into_response()
    }
}

/// Deletes up to `limit` records past the retention period (kept at least 24 hours).
pub async fn purge(tx: &mut WriteTx, now: DateTime<Utc>, limit: u32) -> Result<u64, db::DbError> {
    db::idempotency::purge(tx.conn(), now - RETENTION, limit).await
}
