//! The shop's own customers (CONTRACT §19): the shopper a verified token names, stored
//! on first sight, and refused once a back-channel logout ended their earlier tokens.

use checkout_core::{ErrorCode, Rejection};

use crate::{
    auth::jwt::{Purpose, Refused, Verified},
    db,
    http::error::ApiError,
    state::AppState,
};

/// How a refused token is answered: `UNAUTHENTICATED` with the reason, or 503 while the
/// identity provider's keys have not arrived.
pub fn refusal(refused: Refused) -> ApiError {
    match refused {
        Refused::Invalid(why) => {
            tracing::debug!(%why, "token refused");
            Rejection::with_message(
                ErrorCode::Unauthenticated,
                format!("Your sign-in could not be accepted: {why}. Please sign in again."),
            )
            .into()
        }
        Refused::KeysUnavailable => Rejection::with_message(
            ErrorCode::ServiceUnavailable,
            "Sign-in cannot be checked right now (the identity provider's keys are not available). Please try again shortly.",
        )
        .into(),
    }
}

/// A customer signed in by the shop's token (the request's `CurrentUser` is made of it).
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Our id for the customer.
    pub id: String,
    /// What to call them: e-mail, name or `sub`.
    pub shown: String,
    /// The agent acting for them (`act.sub`).
    pub agent: Option<String>,
    /// When the token expires.
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// The identity provider's session id.
    pub sid: Option<String>,
    /// This token's key among ended sign-ins (`token:` + its SHA-256), to end it.
    pub token_key: String,
    /// The token's `sub`: the shop's own id for the customer.
    pub external_id: String,
    /// Their e-mail, when known.
    pub email: Option<String>,
}

/// The key of a token among ended sign-ins, from its SHA-256.
pub fn token_key(digest: &[u8; 32]) -> String {
    format!("token:{}", crate::auth::token_cache::hex(digest))
}

/// The key of an identity provider's session among ended sign-ins.
pub fn sid_key(sid: &str) -> String {
    format!("sid:{sid}")
}

/// The customer a token identifies, stored on first sight.
pub async fn current(state: &AppState, token: &str) -> Result<SignedIn, ApiError> {
    let Some(verifier) = &state.identity else {
        return Err(ErrorCode::Unauthenticated.into());
    };
    let now = state.clock.now();
    let digest = crate::auth::token_cache::key(token);
    let claims = verifier
        .verify_keyed(token, digest, Purpose::Access, now)
        .await
        .map_err(refusal)?;
    let (Some(sub), Some(exp)) = (claims.sub.clone(), claims.exp) else {
        return Err(ErrorCode::Unauthenticated.into());
    };
    let token_key = token_key(&digest);
    let sid_key = claims.sid.as_deref().map(sid_key).unwrap_or_default();
    let ended_keys = [token_key.as_str(), sid_key.as_str()];
    let (customer, ended) = match db::users::customer(&state.db, &sub, ended_keys).await? {
        Some((customer, ended)) => {
            refresh_profile(state, &customer, &claims).await?;
            (customer, ended)
        }
        None => {
            let mut tx = state.db.begin_write().await?;
            let profile = [claims.email.as_deref(), claims.name.as_deref()];
            let stored =
                db::users::store_customer(tx.conn(), &sub, profile, ended_keys, now).await?;
            tx.commit().await?;
            stored.ok_or_else(|| ApiError::Internal("customer not stored".into()))?
        }
    };
    // Ended here (signed out with this token, or its provider session logged out), or
    // issued at or before a back-channel logout of the customer (on the provider's
    // clock, seconds against milliseconds).
    let cut_off = customer
        .tokens_valid_after
        .is_some_and(|after| claims.issued().saturating_mul(1000) <= after);
    if ended || cut_off {
        return Err(Rejection::with_message(
            ErrorCode::Unauthenticated,
            "Your sign-in has ended. Please sign in again.",
        )
        .into());
    }
    let shown = claims
        .email
        .clone()
        .or(customer.email.clone())
        .or(claims.name.clone())
        .unwrap_or_else(|| sub.clone());
    Ok(SignedIn {
        id: customer.id,
        shown,
        agent: claims.agent.clone(),
        expires_at: exp,
        sid: claims.sid.clone(),
        token_key,
        email: claims.email.clone().or(customer.email),
        external_id: sub,
    })
}

/// Keeps a changed e-mail or name (a write only when something changed).
async fn refresh_profile(
    state: &AppState,
    customer: &db::users::Customer,
    claims: &Verified,
) -> Result<(), ApiError> {
    let changed = |new: &Option<String>, old: &Option<String>| new.is_some() && new != old;
    if changed(&claims.email, &customer.email) || changed(&claims.name, &customer.name) {
        let mut tx = state.db.begin_write().await?;
        db::users::update_profile(
            tx.conn(),
            &customer.id,
            claims.email.as_deref(),
            claims.name.as_deref(),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(())
}
