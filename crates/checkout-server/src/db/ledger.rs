//! The simulated gateway's ledger (`gateway_charges`): one outcome per payment key, the
//! first recorded one standing. A real provider keeps this on its side; the simulation
//! keeps it in the shop's database so that a crashed server finds it again.

use chrono::{DateTime, Utc};

use super::{query, DbError, WriteTx};
use crate::clock::to_ms;

/// A charge as the gateway is asked to record it.
#[derive(Debug, Clone, Copy)]
pub struct Charge<'a> {
    /// The server's payment key (the gateway's idempotency key).
    pub payment_key: &'a str,
    /// The session paid for.
    pub session_id: &'a str,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217.
    pub currency: &'a str,
}

/// Records `outcome` for the charge's key unless one is recorded already; returns the
/// outcome that stands and its reference.
pub async fn record(
    tx: &mut WriteTx,
    charge: Charge<'_>,
    outcome: &str,
    reference: &str,
    now: DateTime<Utc>,
) -> Result<(String, String), DbError> {
    query(
        "INSERT INTO gateway_charges (payment_key, session_id, amount, currency, outcome, reference, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (payment_key) DO NOTHING",
    )
    .bind(charge.payment_key)
    .bind(charge.session_id)
    .bind(charge.amount)
    .bind(charge.currency)
    .bind(outcome)
    .bind(reference)
    .bind(to_ms(now))
    .execute(tx.conn())
    .await?;
    let row = query("SELECT outcome, reference FROM gateway_charges WHERE payment_key = $1")
        .bind(charge.payment_key)
        .fetch_one(tx.conn())
        .await?;
    Ok((row.try_get("outcome")?, row.try_get("reference")?))
}
