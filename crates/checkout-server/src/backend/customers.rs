//! The shop's customers as its backend names them (CONTRACT §24): resolved to ours once
//! and then remembered, so a backend call costs no lookup for a customer seen before.
//! The mapping never changes (a customer's id is never reused or deleted); the e-mail
//! last stored is remembered with it, so a changed e-mail is still written.

use checkout_core::priced_cart::{unknown_customer, PricedCustomer};
use chrono::{DateTime, Utc};

use crate::{
    db,
    http::error::{ApiError, ApiResult},
    state::AppState,
};

/// Our id of the shop's customer. With the shop's sign-in (CONTRACT §19) it is the
/// customer whose tokens' `sub` is `id`, stored on first sight as a token's first use
/// would (and its e-mail kept); with built-in accounts only, the account of that
/// username, which must exist.
pub(super) async fn customer(
    state: &AppState,
    customer: &PricedCustomer,
    now: DateTime<Utc>,
) -> ApiResult<String> {
    let email = customer.email.as_deref();
    if let Some((known, known_email)) = state.backend_customers.get(&customer.id) {
        if email.is_none() || email == known_email.as_deref() {
            return Ok(known);
        }
    }
    if state.identity.is_none() {
        let known = db::users::id_of(&state.db, &customer.id)
            .await?
            .ok_or_else(|| unknown_customer(&customer.id))?;
        state.backend_customers.put(&customer.id, &known, None);
        return Ok(known);
    }
    if let Some((known, _)) = db::users::customer(&state.db, &customer.id, ["", ""]).await? {
        if email.is_some() && email != known.email.as_deref() {
            let mut tx = state.db.begin_write().await?;
            db::users::update_profile(tx.conn(), &known.id, email, None).await?;
            tx.commit().await?;
        }
        state
            .backend_customers
            .put(&customer.id, &known.id, email.or(known.email.as_deref()));
        return Ok(known.id);
    }
    let mut tx = state.db.begin_write().await?;
    let stored =
        db::users::store_customer(tx.conn(), &customer.id, [email, None], ["", ""], now).await?;
    tx.commit().await?;
    let (stored, _) = stored.ok_or_else(|| ApiError::Internal("customer not stored".into()))?;
    state
        .backend_customers
        .put(&customer.id, &stored.id, stored.email.as_deref());
    Ok(stored.id)
}
