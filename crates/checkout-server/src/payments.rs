//! Payment gateways. [`PaymentGateway`] is what the server needs from one: charge with
//! the server's own idempotency key (a retried charge with the same key never charges
//! twice), and settle a key whose answer was lost — returning what happened, or voiding
//! the key so that a late charge can no longer happen.
//!
//! [`SimulatedGateway`] implements it with test card numbers, keeping its ledger in the
//! `gateway_charges` table (standing in for the gateway's own records; shared by every
//! server instance on the same database):
//!
//! | card | behaviour |
//! |---|---|
//! | `4242424242424242` | approved |
//! | `4000000000000002` | declined |
//! | `4000000000000077` | slow: charged at once, the answer arrives after 2 s |
//! | `4000000000000119` | timeout: never answers (nothing is charged) |
//! | `4000000000009995` | charged, but the answer is lost (connection reset) |
//! | anything else | declined as an unknown test card |

use std::{future::Future, pin::Pin, time::Duration};

use crate::db::Db;

/// A boxed future, for an object-safe trait.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Card numbers of the simulated gateway.
pub mod test_cards {
    /// Approved.
    pub const APPROVE: &str = "4242424242424242";
    /// Declined.
    pub const DECLINE: &str = "4000000000000002";
    /// Charged at once; the approval arrives two seconds later.
    pub const SLOW: &str = "4000000000000077";
    /// Never answers.
    pub const TIMEOUT: &str = "4000000000000119";
    /// Charged, answer lost.
    pub const LOST_ANSWER: &str = "4000000000009995";
}

/// What to charge.
#[derive(Debug, Clone)]
pub struct ChargeRequest {
    /// The server's idempotency key for this payment (one per payment attempt).
    pub payment_key: String,
    /// The checkout being paid.
    pub session_id: String,
    /// Amount in minor units.
    pub amount: i64,
    /// Currency.
    pub currency: String,
    /// The card (or payment token) to charge.
    pub card_number: String,
}

/// A definite answer to a charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    /// Money was taken.
    Approved {
        /// The gateway's reference.
        reference: String,
    },
    /// Nothing was taken.
    Declined {
        /// Why.
        reason: String,
    },
}

/// The final state of a payment key after settling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// It was charged.
    Charged {
        /// The gateway's reference.
        reference: String,
    },
    /// It was declined.
    Declined {
        /// Why.
        reason: String,
    },
    /// It was never charged, and now never will be.
    Voided,
}

/// The gateway did not give a definite answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GatewayError {
    /// No answer in time.
    #[error("the payment gateway did not answer in time")]
    Timeout,
    /// The connection failed.
    #[error("the payment gateway is unavailable: {0}")]
    Unavailable(String),
}

/// What the server needs from a payment gateway.
pub trait PaymentGateway: Send + Sync + 'static {
    /// Charges once per `payment_key`: a repeated call returns the first outcome.
    fn charge<'a>(
        &'a self,
        request: &'a ChargeRequest,
    ) -> BoxFuture<'a, Result<ChargeOutcome, GatewayError>>;

    /// Final outcome of `payment_key`; voids it when it was never charged.
    fn settle<'a>(
        &'a self,
        payment_key: &'a str,
    ) -> BoxFuture<'a, Result<Settlement, GatewayError>>;
}

/// The built-in simulated gateway (see the module documentation for its cards).
#[derive(Debug, Clone)]
pub struct SimulatedGateway {
    db: Db,
    slow: Duration,
}

impl SimulatedGateway {
    /// A gateway keeping its ledger in `db`.
    pub fn new(db: Db) -> Self {
        SimulatedGateway {
            db,
            slow: Duration::from_secs(2),
        }
    }

    /// Records an outcome for a key unless one exists; returns the outcome that stands.
    async fn record(
        &self,
        request: &ChargeRequest,
        outcome: &str,
        reference: &str,
    ) -> Result<(String, String), GatewayError> {
        let unavailable = |e: crate::db::DbError| GatewayError::Unavailable(e.to_string());
        let charge = crate::db::ledger::Charge {
            payment_key: &request.payment_key,
            session_id: &request.session_id,
            amount: request.amount,
            currency: &request.currency,
        };
        let mut tx = self.db.begin_write().await.map_err(unavailable)?;
        let stands =
            crate::db::ledger::record(&mut tx, charge, outcome, reference, chrono::Utc::now())
                .await
                .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(stands)
    }
}

fn outcome_of(outcome: &str, reference: String) -> ChargeOutcome {
    match outcome {
        "CHARGED" => ChargeOutcome::Approved { reference },
        "VOIDED" => ChargeOutcome::Declined {
            reason: "the payment was cancelled".into(),
        },
        _ => ChargeOutcome::Declined {
            reason: "the card was declined".into(),
        },
    }
}

impl PaymentGateway for SimulatedGateway {
    fn charge<'a>(
        &'a self,
        request: &'a ChargeRequest,
    ) -> BoxFuture<'a, Result<ChargeOutcome, GatewayError>> {
        Box::pin(async move {
            let reference = format!("sim_{}", uuid::Uuid::now_v7().simple());
            match request.card_number.as_str() {
                test_cards::TIMEOUT => {
                    // Hangs; the server's own timeout ends the wait. Nothing is charged.
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Err(GatewayError::Timeout)
                }
                test_cards::LOST_ANSWER => {
                    self.record(request, "CHARGED", &reference).await?;
                    Err(GatewayError::Unavailable("connection reset by peer".into()))
                }
                card => {
                    let outcome = if card == test_cards::APPROVE || card == test_cards::SLOW {
                        "CHARGED"
                    } else {
                        "DECLINED"
                    };
                    let (stands, reference) = self.record(request, outcome, &reference).await?;
                    if card == test_cards::SLOW {
                        tokio::time::sleep(self.slow).await;
                    }
                    Ok(outcome_of(&stands, reference))
                }
            }
        })
    }

    fn settle<'a>(
        &'a self,
        payment_key: &'a str,
    ) -> BoxFuture<'a, Result<Settlement, GatewayError>> {
        Box::pin(async move {
            let void = ChargeRequest {
                payment_key: payment_key.to_owned(),
                session_id: String::new(),
                amount: 0,
                currency: String::new(),
                card_number: String::new(),
            };
            let (outcome, reference) = self.record(&void, "VOIDED", "").await?;
            Ok(match outcome.as_str() {
                "CHARGED" => Settlement::Charged { reference },
                "DECLINED" => Settlement::Declined {
                    reason: "the card was declined".into(),
                },
                _ => Settlement::Voided,
            })
        })
    }
}
