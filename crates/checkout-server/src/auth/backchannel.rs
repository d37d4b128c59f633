//! OpenID Connect Back-Channel Logout 1.0 (CONTRACT §19): the identity provider posts a
//! signed logout token; this ends the customer's live checkout as `SIGNED_OUT` (a
//! payment in flight is left to settle, as on sign-out), refuses the customer's tokens
//! issued at or before it (`sub`) and the tokens of that provider session (`sid`). A
//! logout token is used once (its `jti`, kept until it expires).

use axum::{
    extract::{FromRequest, Request, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use checkout_core::{lifecycle::plan_sign_out, ErrorCode, Rejection, SessionStatus};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    auth::{
        customers::{refusal, sid_key},
        jwt::{Purpose, Refused, LEEWAY_SECS, MAX_LIFETIME_SECS},
    },
    checkout::transition,
    db::{self, events::Actor},
    http::{
        error::{ApiError, ApiResult},
        media::is_form,
    },
    state::AppState,
};

/// The form the identity provider posts.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LogoutForm {
    /// The signed logout token.
    pub logout_token: String,
}

fn bad(message: impl Into<String>) -> ApiError {
    Rejection::with_message(ErrorCode::MalformedRequest, message).into()
}

/// Back-channel logout from the shop's identity provider (OpenID Connect Back-Channel
/// Logout 1.0): ends the customer's (`sub`) or the provider session's (`sid`) live
/// checkout as `INACTIVE/SIGNED_OUT`, never a payment in flight.
#[utoipa::path(post, path = "/auth/backchannel-logout", tag = "auth",
    request_body(content = LogoutForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Logged out"),
        (status = 400, description = "MALFORMED_REQUEST: not a valid logout token, or one already used"),
        (status = 503, description = "SERVICE_UNAVAILABLE: the identity provider's keys are not available")))]
pub async fn backchannel_logout(
    State(state): State<AppState>,
    request: Request,
) -> ApiResult<Response> {
    let Some(verifier) = state.identity.clone() else {
        return Err(bad(
            "Back-channel logout needs the shop's identity provider (--jwt-jwks-url, --jwt-jwks-file or --jwt-hs256-secret).",
        ));
    };
    if !is_form(request.headers()) {
        return Err(Rejection::with_message(
            ErrorCode::UnsupportedMediaType,
            "A logout token is sent as a form (application/x-www-form-urlencoded).",
        )
        .into());
    }
    let axum::Form(form) = axum::Form::<LogoutForm>::from_request(request, &state)
        .await
        .map_err(|_| bad("The body must be a form with logout_token."))?;
    let now = state.clock.now();
    // The standard asks for 400 on any invalid logout token.
    let claims = match verifier
        .verify(&form.logout_token, Purpose::Logout, now)
        .await
    {
        Ok(claims) => claims,
        Err(Refused::Invalid(why)) => return Err(bad(format!("Not a valid logout token: {why}."))),
        Err(unavailable) => return Err(refusal(unavailable)),
    };
    let (Some(jti), Some(iat), Some(exp)) = (claims.jti.as_deref(), claims.iat, claims.exp) else {
        return Err(bad("Not a valid logout token."));
    };
    // Kept as long as the token could be accepted (its exp and the leeway; a token
    // lives at most a year, so this cannot overflow), so a replay is always refused.
    // (One second more: times are checked in whole seconds.)
    let keep_until = exp
        .checked_add_signed(chrono::Duration::seconds(LEEWAY_SECS + 1))
        .unwrap_or(exp)
        .max(now);
    let mut tx = state.db.begin_write().await?;
    if !db::users::use_logout_token(tx.conn(), jti, keep_until).await? {
        return Err(bad("This logout token was already used."));
    }
    // A customer not seen yet is stored now, so that their earlier tokens are refused
    // when they first come.
    let customer = match &claims.sub {
        Some(sub) => db::users::store_customer(tx.conn(), sub, [None, None], ["", ""], now)
            .await?
            .map(|(c, _)| c.id),
        None => None,
    };
    let mut users: Vec<String> = customer.iter().cloned().collect();
    if let Some(sid) = &claims.sid {
        for (_, user) in db::session_logins::live_for_sid(tx.conn(), sid).await? {
            // With both, only that customer's checkouts of that provider session.
            if customer.as_ref().is_none_or(|c| *c == user) && !users.contains(&user) {
                users.push(user);
            }
        }
    }
    let actor = Actor {
        request_id: Some("backchannel-logout".into()),
        ..Actor::default()
    };
    for user in &users {
        tx.lock_user(user).await?;
        let live = db::sessions::live_for_user(tx.conn(), user).await?;
        for (id, step) in plan_sign_out(&live, false, now) {
            transition(tx.conn(), &id, SessionStatus::Active, step, &actor, now).await?;
        }
    }
    // The customer's tokens issued at or before the logout (on the provider's clock,
    // as their `iat`) are refused; the provider session's tokens until a day after
    // their longest plausible life.
    if let Some(id) = &customer {
        let issued = chrono::DateTime::from_timestamp(iat, 0).unwrap_or(now);
        db::users::end_tokens_before(tx.conn(), id, issued).await?;
    }
    if let Some(sid) = &claims.sid {
        let until = now + chrono::Duration::seconds(MAX_LIFETIME_SECS);
        db::users::end_sign_in(tx.conn(), &sid_key(sid), until).await?;
    }
    tx.commit().await?;
    tracing::info!(customers = users.len(), "back-channel logout");
    let mut response = StatusCode::OK.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
