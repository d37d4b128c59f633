//! The simulated provider's records: tokens, payments with their events and refunds,
//! kept in memory (a real provider keeps them on its side; the shop's database has no
//! copy), and the test cards' behaviour.

use std::{
    collections::{HashMap, VecDeque},
    time::{Duration, Instant},
};

use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::watch;

use checkout_payment_sim::cards;

/// How long the slow behaviours take.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Between an outcome and its webhook.
    pub webhook_delay: Duration,
    /// The slow card's answer.
    pub slow: Duration,
    /// The webhook-only and out-of-order cards' confirmation.
    pub asynchronous: Duration,
    /// The lasting `processing` card.
    pub lasting: Duration,
    /// The late card's charge.
    pub late: Duration,
}

/// A tokenized card.
#[derive(Debug, Clone)]
pub struct Token {
    pub card: String,
    /// Test control: the answer waits for `/sim/payments/{id}/release` and no webhook
    /// is sent by itself.
    pub hold: bool,
    /// The payment key that used it (a token is single use).
    pub used_by: Option<String>,
}

/// A token is kept this long, used or not (a provider's tokens are single use and
/// short-lived): a retry of a payment comes within seconds, and a simulator that kept
/// every token refused new ones after 200,000, 26 minutes into a full-speed soak.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(600);

/// Tokens kept at most, however fast they are made.
pub const MAX_TOKENS: usize = 200_000;

/// A webhook event, kept so that it can be sent again with the same id.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created: i64,
    pub data: Value,
}

/// A refund.
#[derive(Debug, Clone, Serialize)]
pub struct Refund {
    pub id: String,
    pub payment: String,
    pub amount: i64,
    pub currency: String,
    pub reason: String,
    pub status: &'static str,
}

/// A payment.
#[derive(Debug, Clone, Serialize)]
pub struct Payment {
    pub id: String,
    pub idempotency_key: String,
    pub amount: i64,
    pub currency: String,
    pub checkout_id: String,
    pub status: &'static str,
    pub last4: String,
    pub created: i64,
    /// Money taken (at most once per payment).
    pub charged: bool,
    pub refunds: Vec<Refund>,
    pub events: Vec<Event>,
    #[serde(skip)]
    pub released: Option<watch::Sender<bool>>,
    /// For a challenge card: the challenge page, and where it sends the shopper back.
    #[serde(skip)]
    pub challenge: Option<Challenge>,
}

/// A 3-D Secure challenge of one payment.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// The challenge page (with its secret: only the shopper's browser has it).
    pub url: String,
    /// Its secret, which the page's buttons send back.
    pub secret: String,
    /// The shop's page to send the shopper back to.
    pub return_url: String,
    /// The outcome's webhook comes after `--late-ms`.
    pub late_webhook: bool,
}

impl Payment {
    /// The payment as the API shows it (without its events).
    pub fn public(&self) -> Value {
        json!({
            "id": self.id,
            "object": "payment",
            "idempotency_key": self.idempotency_key,
            "amount": self.amount,
            "currency": self.currency,
            "checkout_id": self.checkout_id,
            "status": self.status,
            "last4": self.last4,
            "created": self.created,
            "amount_refunded": self.refunds.iter().map(|r| r.amount).sum::<i64>(),
            "next_action": self.challenge.as_ref().filter(|_| self.status == "requires_action").map(|c| json!({
                "type": "redirect_to_url",
                "redirect_to_url": {"url": c.url, "return_url": c.return_url},
            })),
        })
    }

    /// Sets the status and records its event; returns the event.
    pub fn move_to(&mut self, status: &'static str) -> Event {
        self.status = status;
        if status == "succeeded" {
            self.charged = true;
        }
        self.record(&format!("payment.{status}"))
    }

    /// Records an event of `kind` about the payment as it stands (a refund leaves the
    /// status `succeeded`, with `amount_refunded`, as Stripe's does).
    pub fn record(&mut self, kind: &str) -> Event {
        let event = Event {
            id: format!("evt_sim_{}", uuid::Uuid::now_v7().simple()),
            kind: kind.to_owned(),
            created: chrono::Utc::now().timestamp(),
            data: json!({ "payment": self.public() }),
        };
        self.events.push(event.clone());
        event
    }
}

/// Everything the provider holds.
#[derive(Debug, Default)]
pub struct Ledger {
    pub tokens: HashMap<String, Token>,
    /// The tokens by age, oldest first, to forget them after [`TOKEN_LIFETIME`].
    pub token_ages: VecDeque<(Instant, String)>,
    pub payments: HashMap<String, Payment>,
    /// Idempotency key → payment id.
    pub by_key: HashMap<String, String>,
    /// Checkout id → its payments' ids, oldest first.
    pub by_checkout: HashMap<String, Vec<String>>,
    /// Refund idempotency key → (payment id, refund id).
    pub refund_keys: HashMap<String, (String, String)>,
}

impl Ledger {
    /// Keeps a new token, after forgetting those older than [`TOKEN_LIFETIME`]; `false`
    /// (nothing kept) when [`MAX_TOKENS`] younger ones are held.
    pub fn add_token(&mut self, id: String, token: Token, now: Instant) -> bool {
        while let Some((made, old)) = self.token_ages.front() {
            if now.saturating_duration_since(*made) < TOKEN_LIFETIME {
                break;
            }
            self.tokens.remove(old);
            self.token_ages.pop_front();
        }
        if self.tokens.len() >= MAX_TOKENS {
            return false;
        }
        self.token_ages.push_back((now, id.clone()));
        self.tokens.insert(id, token);
        true
    }

    /// Records a new payment made under its idempotency key.
    pub fn record(&mut self, payment: Payment) {
        self.by_key
            .insert(payment.idempotency_key.clone(), payment.id.clone());
        self.by_checkout
            .entry(payment.checkout_id.clone())
            .or_default()
            .push(payment.id.clone());
        self.payments.insert(payment.id.clone(), payment);
    }

    /// The payments made under `key` or for `checkout`, found by index: a lookup costs
    /// the same however many payments the provider holds (a scan of all of them made
    /// every webhook slower as a long run went on).
    pub fn find(&self, key: Option<&str>, checkout: Option<&str>) -> Vec<&Payment> {
        let mut ids: Vec<&String> = key.and_then(|k| self.by_key.get(k)).into_iter().collect();
        for id in checkout
            .and_then(|c| self.by_checkout.get(c))
            .into_iter()
            .flatten()
        {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids.into_iter()
            .filter_map(|id| self.payments.get(id))
            .collect()
    }
}

/// What confirming a payment with this card does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Final now: succeeded or failed; `answer_after` delays the answer; the webhook is
    /// sent `times` times.
    Final {
        succeeded: bool,
        answer_after: Option<Duration>,
        times: u32,
    },
    /// Charged, answer lost.
    LostAnswer,
    /// Never answered, nothing charged.
    Hang,
    /// `processing` now, `succeeded` after the delay (webhooks reversed when asked).
    Processing { after: Duration, reversed: bool },
    /// Unknown until it is charged after the delay; never answered.
    Late { after: Duration },
    /// Test control: charged now, answered when released, webhooks on request.
    Held,
    /// `requires_action` now: the shopper approves or fails on the challenge page.
    Challenge { late_webhook: bool },
}

/// The behaviour of `card` under `timing`.
pub fn behaviour(card: &str, hold: bool, timing: &Timing) -> Behaviour {
    let approve = |answer_after, times| Behaviour::Final {
        succeeded: true,
        answer_after,
        times,
    };
    if hold {
        return Behaviour::Held;
    }
    match card {
        cards::APPROVE => approve(None, 1),
        cards::SLOW => approve(Some(timing.slow), 1),
        cards::WEBHOOK_TWICE => approve(None, 2),
        cards::TIMEOUT => Behaviour::Hang,
        cards::LOST_ANSWER => Behaviour::LostAnswer,
        cards::WEBHOOK_ONLY => Behaviour::Processing {
            after: timing.asynchronous,
            reversed: false,
        },
        cards::OUT_OF_ORDER => Behaviour::Processing {
            after: timing.asynchronous,
            reversed: true,
        },
        cards::LASTING => Behaviour::Processing {
            after: timing.lasting,
            reversed: false,
        },
        cards::LATE => Behaviour::Late { after: timing.late },
        cards::CHALLENGE => Behaviour::Challenge {
            late_webhook: false,
        },
        cards::CHALLENGE_WEBHOOK_LATE => Behaviour::Challenge { late_webhook: true },
        // The decline card and any unknown number.
        _ => Behaviour::Final {
            succeeded: false,
            answer_after: None,
            times: 1,
        },
    }
}

/// A card number as typed: 12 to 19 digits once spaces and dashes are dropped.
pub fn card_digits(text: &str) -> Option<String> {
    let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    ((12..=19).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(id: &str, key: &str, checkout: &str) -> Payment {
        Payment {
            id: id.into(),
            idempotency_key: key.into(),
            amount: 100,
            currency: "EUR".into(),
            checkout_id: checkout.into(),
            status: "succeeded",
            last4: "4242".into(),
            created: 0,
            charged: true,
            refunds: Vec::new(),
            events: Vec::new(),
            released: None,
            challenge: None,
        }
    }

    fn ids(found: Vec<&Payment>) -> Vec<&str> {
        found.into_iter().map(|p| p.id.as_str()).collect()
    }

    /// The lookups the shop makes (by its key, by its checkout) find exactly the
    /// payments the old scan of every payment found, among many others.
    #[test]
    fn lookups_by_key_and_checkout_find_what_a_scan_finds() {
        let mut ledger = Ledger::default();
        for i in 0..1000 {
            ledger.record(payment(
                &format!("pi_{i}"),
                &format!("k{i}"),
                &format!("c{}", i / 2),
            ));
        }
        assert_eq!(ids(ledger.find(Some("k7"), None)), ["pi_7"]);
        assert_eq!(ids(ledger.find(None, Some("c3"))), ["pi_6", "pi_7"]);
        assert_eq!(ids(ledger.find(Some("k6"), Some("c3"))), ["pi_6", "pi_7"]);
        assert_eq!(
            ids(ledger.find(Some("k1"), Some("c3"))),
            ["pi_1", "pi_6", "pi_7"]
        );
        assert!(ledger.find(Some("unknown"), Some("unknown")).is_empty());
        assert!(ledger.find(None, None).is_empty());
        for (key, checkout) in [
            (Some("k9"), None),
            (None, Some("c9")),
            (Some("k2"), Some("c8")),
        ] {
            let mut scanned: Vec<&str> = ledger
                .payments
                .values()
                .filter(|p| {
                    key == Some(p.idempotency_key.as_str())
                        || checkout == Some(p.checkout_id.as_str())
                })
                .map(|p| p.id.as_str())
                .collect();
            let mut found = ids(ledger.find(key, checkout));
            scanned.sort_unstable();
            found.sort_unstable();
            assert_eq!(found, scanned);
        }
    }

    fn token() -> Token {
        Token {
            card: "4242424242424242".into(),
            hold: false,
            used_by: None,
        }
    }

    /// Tokens are forgotten after their lifetime, oldest first, so a long run never
    /// reaches the cap; young ones up to the cap are kept and the next is refused.
    #[test]
    fn tokens_are_forgotten_after_their_lifetime_and_capped() {
        let mut ledger = Ledger::default();
        let start = Instant::now();
        assert!(ledger.add_token("old".into(), token(), start));
        assert!(ledger.add_token("young".into(), token(), start + TOKEN_LIFETIME / 2));
        let later = start + TOKEN_LIFETIME + Duration::from_secs(1);
        assert!(ledger.add_token("new".into(), token(), later));
        assert!(
            !ledger.tokens.contains_key("old"),
            "the old token is forgotten"
        );
        assert!(ledger.tokens.contains_key("young") && ledger.tokens.contains_key("new"));
        assert_eq!(ledger.token_ages.len(), ledger.tokens.len());
        for i in ledger.tokens.len()..MAX_TOKENS {
            assert!(ledger.add_token(format!("t{i}"), token(), later));
        }
        assert!(
            !ledger.add_token("one more".into(), token(), later),
            "the cap holds"
        );
        assert_eq!(ledger.tokens.len(), MAX_TOKENS);
        let much_later = later + TOKEN_LIFETIME;
        assert!(ledger.add_token("after".into(), token(), much_later));
        assert_eq!(ledger.tokens.len(), 1, "every older token is forgotten");
    }
}
