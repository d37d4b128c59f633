//! Confirming a payment: the test card's behaviour, then the answer (at once, late,
//! lost, held for a test, `processing` then `succeeded`, or `requires_action` with the
//! challenge page) and its webhooks.

use std::sync::Arc;

use axum::{
    body::{Body, Bytes},
    http::StatusCode,
    response::Response,
};
use tokio::sync::watch;

use super::{answer, fail, follow_up::send_later, Shared, NEVER};
use crate::ledger::Behaviour;

/// Charges (or declines) the payment under `key` as `behaviour` says, and answers.
pub(super) async fn confirm(sim: Shared, key: String, behaviour: Behaviour) -> Response {
    let mut released = None;
    let events = {
        let mut ledger = sim.ledger();
        let Some(payment) = ledger
            .by_key
            .get(&key)
            .cloned()
            .and_then(|id| ledger.payments.get_mut(&id))
        else {
            return fail(StatusCode::NOT_FOUND, "not_found", "no such payment");
        };
        match behaviour {
            Behaviour::Final { succeeded, .. } => {
                vec![payment.move_to(if succeeded { "succeeded" } else { "failed" })]
            }
            Behaviour::LostAnswer => vec![payment.move_to("succeeded")],
            Behaviour::Held => {
                let (tx, rx) = watch::channel(false);
                payment.released = Some(tx);
                released = Some(rx);
                payment.move_to("succeeded");
                Vec::new()
            }
            Behaviour::Processing { .. } => vec![payment.move_to("processing")],
            Behaviour::Challenge { .. } => vec![payment.move_to("requires_action")],
            Behaviour::Hang | Behaviour::Late { .. } => Vec::new(),
        }
    };
    let delay = sim.timing.webhook_delay;
    match behaviour {
        Behaviour::Final {
            answer_after,
            times,
            ..
        } => {
            let after = answer_after.unwrap_or_default();
            for _ in 0..times {
                send_later(&sim, events.clone(), after + delay);
            }
            tokio::time::sleep(after).await;
            answer(&sim, &key)
        }
        Behaviour::LostAnswer => {
            send_later(&sim, events, delay);
            // Headers go out, then the connection breaks: the answer is lost.
            let broken = futures_util::stream::once(async {
                Err::<Bytes, _>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "connection reset by peer",
                ))
            });
            Response::new(Body::from_stream(broken))
        }
        Behaviour::Held => {
            if let Some(mut rx) = released {
                let _ = tokio::time::timeout(NEVER, rx.wait_for(|r| *r)).await;
            }
            answer(&sim, &key)
        }
        Behaviour::Processing { after, reversed } => {
            let later = Arc::clone(&sim);
            let processing = events;
            if !reversed {
                send_later(&sim, processing.clone(), delay);
            }
            let key2 = key.clone();
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                let succeeded = {
                    let mut ledger = later.ledger();
                    let id = ledger.by_key.get(&key2).cloned().unwrap_or_default();
                    match ledger.payments.get_mut(&id) {
                        Some(p) if p.status == "processing" => p.move_to("succeeded"),
                        _ => return,
                    }
                };
                let order = if reversed {
                    vec![succeeded, processing[0].clone()]
                } else {
                    vec![succeeded]
                };
                send_later(&later, order, delay);
            });
            answer(&sim, &key)
        }
        Behaviour::Challenge { .. } => {
            send_later(&sim, events, delay);
            answer(&sim, &key)
        }
        Behaviour::Hang | Behaviour::Late { .. } => answer(&sim, &key),
    }
}
