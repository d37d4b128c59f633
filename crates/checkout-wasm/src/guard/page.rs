//! The state of one guarded checkout page ([`GuardedPage`]) and what it does: keep the
//! recovery record in step with storage and the server, ask the core for the local
//! verdict, ask the server for its verdict (retrying transient answers with the core's
//! backoff), and send the pending order action with its key.

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use checkout_core::{
    answer::{self, Reading},
    evaluate_parts,
    recovery::RecoveryRecord,
    Action, ErrorCode, Rejection, SessionView, Verdict, VerdictState,
};
use chrono::{DateTime, Utc};
use wasm_bindgen::{prelude::*, JsCast};
use web_sys::{Event, EventTarget};

use super::{
    browser::{page_visible, sleep_ms},
    get, rejection_js,
    reply::{server_rejection, text, Delivered, OrderActionResult, SessionExtras},
};
use crate::{
    api,
    error::{malformed, to_js},
    storage::{Loaded, RecordStore},
};

pub(super) struct Listener {
    pub(super) target: EventTarget,
    pub(super) name: &'static str,
    pub(super) closure: Closure<dyn FnMut(Event)>,
}

pub(super) struct GuardedPage {
    pub(super) api: String,
    /// The storefront's credentials mode and extra headers.
    pub(super) request: api::RequestOptions,
    pub(super) store: RecordStore,
    pub(super) record: RefCell<Option<RecoveryRecord>>,
    pub(super) page_session: RefCell<Option<String>>,
    pub(super) on_verdict: js_sys::Function,
    pub(super) skew_ms: Cell<f64>,
    pub(super) listeners: RefCell<Vec<Listener>>,
    /// The last session body the server returned (the page renders it without asking
    /// again).
    pub(super) last_session: RefCell<JsValue>,
    /// Bumped whenever the record or the page's session changes: with the verdict,
    /// everything a delivered verdict is made of.
    pub(super) version: Cell<u64>,
    /// The last `localVerdict()` answer and the frozen object returned for it: the core
    /// runs on every call, and an unchanged verdict returns the same object instead of
    /// building a new one.
    pub(super) last_local: RefCell<Option<LastLocal>>,
    /// Transient answers in a row (the core's backoff grows with it; a definite answer
    /// resets it).
    pub(super) retries: Cell<u32>,
    /// Undecided answers (or none) to the pending order action in a row: the core's
    /// backoff for its next retry grows with it; a decided answer resets it.
    pub(super) send_retries: Cell<u32>,
    /// Server verdicts in a row saying the payment is still being confirmed: the core's
    /// backoff for the next poll grows with it; any other verdict resets it.
    pub(super) polls: Cell<u32>,
    /// Whether a check (a retry after a transient answer, or a poll of a pending
    /// payment) is already waiting (never two).
    pub(super) retry_waiting: Cell<bool>,
    /// Set by `detach()`: no retry is scheduled any more.
    pub(super) detached: Cell<bool>,
    /// Whether this page has seen the record hold its own checkout (a record that holds
    /// another since has moved on to a later one: the core's `moved_on`).
    pub(super) page_recorded: Cell<bool>,
}

pub(super) struct LastLocal {
    pub(super) version: u64,
    pub(super) verdict: Verdict,
    pub(super) known: bool,
    pub(super) value: JsValue,
}

impl GuardedPage {
    pub(super) fn now(&self) -> DateTime<Utc> {
        let ms = js_sys::Date::now() + self.skew_ms.get();
        DateTime::from_timestamp_millis(ms as i64).unwrap_or_default()
    }

    /// The freshest record: from storage when it works (other tabs write there), else
    /// the one in memory.
    pub(super) fn refresh(&self) -> Option<RecoveryRecord> {
        self.sync();
        self.record.borrow().clone()
    }

    /// Takes in what another tab stored since this tab last read or wrote the record.
    pub(super) fn sync(&self) {
        if !self.store.degraded() {
            if let Loaded::Changed(stored) = self.store.load_if_changed() {
                self.set_record(Some(*stored));
            }
        }
    }

    pub(super) fn keep(&self, record: RecoveryRecord) {
        self.store.save(&record);
        self.set_record(Some(record));
    }

    /// The only two writers of what a verdict is delivered with (see `version`).
    pub(super) fn set_record(&self, record: Option<RecoveryRecord>) {
        *self.record.borrow_mut() = record;
        self.note_recorded();
        self.version.set(self.version.get() + 1);
    }

    pub(super) fn set_page_session(&self, id: String) {
        *self.page_session.borrow_mut() = Some(id);
        self.page_recorded.set(false);
        self.note_recorded();
        self.version.set(self.version.get() + 1);
    }

    fn note_recorded(&self) {
        if self.about_page() {
            self.page_recorded.set(true);
        }
    }

    /// Whether the record (as last read) is about this page's checkout: only then may
    /// the page act on it (send or resend its order action, record its progress).
    pub(super) fn about_page(&self) -> bool {
        let page = self.page_session.borrow();
        self.record
            .borrow()
            .as_ref()
            .is_some_and(|r| r.is_about(page.as_deref()))
    }

    pub(super) fn page_session(&self) -> Option<String> {
        self.page_session
            .borrow()
            .clone()
            .or_else(|| self.record.borrow().as_ref().map(|r| r.session.id.clone()))
    }

    /// Hands a verdict to the page, unless the guard was detached since: an answer that
    /// arrives after `detach()` (a check in flight, a React provider unmounted or moved
    /// to another checkout) must not move the page.
    pub(super) fn deliver(&self, d: &Delivered) {
        if self.detached.get() {
            return;
        }
        if let Ok(value) = to_js(d) {
            let _ = self.on_verdict.call1(&JsValue::NULL, &value);
        }
    }

    pub(super) fn delivered(
        &self,
        verdict: Verdict,
        source: &'static str,
        reason: &str,
        known: bool,
    ) -> Delivered {
        let page = self.page_session();
        let record = self.record.borrow();
        // The record's number, expiry and order belong to its own checkout only.
        let record = record.as_ref().filter(|r| r.is_about(page.as_deref()));
        Delivered {
            verdict: verdict.into(),
            source,
            retry_in_ms: None,
            reason: reason.to_owned(),
            known,
            session_id: page,
            number: record.map(|r| r.checkout_number.clone()),
            expires_at: record.and_then(|r| r.session.expires_at),
            order_id: record.and_then(|r| r.order_id.clone()),
        }
    }

    /// The core's verdict from what this tab knows, without the network.
    pub(super) fn local_verdict(&self) -> (Verdict, bool) {
        self.sync();
        // Locally the shopper is the record's owner.
        let known = self.record.borrow().as_ref().and_then(|record| {
            record.local_verdict(
                self.page_session.borrow().as_deref(),
                Some(&record.session.user_id),
                self.now(),
                self.page_recorded.get(),
            )
        });
        match known {
            Some(verdict) => (verdict, true),
            None => (
                evaluate_parts(None, Some(""), Action::View, None, self.now()),
                false,
            ),
        }
    }

    /// Takes in a session body from the server: the view goes into the record (a new
    /// record for a new session), the page adopts the session if it had none, and the
    /// clock skew is corrected.
    pub(super) fn absorb(&self, body: &JsValue) -> Result<(SessionView, SessionExtras), JsValue> {
        let view: SessionView = crate::de::from_js(body).map_err(|e| malformed("session", e))?;
        let extras = SessionExtras::read(body)?;
        self.skew_ms
            .set(extras.server_time.timestamp_millis() as f64 - js_sys::Date::now());
        let Some(record) = RecoveryRecord::absorb(
            self.refresh(),
            view.clone(),
            &extras.number,
            extras.recovery_token.as_deref(),
            extras.order_id.as_deref(),
            self.now(),
        ) else {
            // Nothing new to store; the page still adopts the session it shows.
            let known = self
                .record
                .borrow()
                .as_ref()
                .is_some_and(|r| r.session.id == view.id);
            if known && self.page_session.borrow().is_none() {
                self.set_page_session(view.id.clone());
            }
            return Ok((view, extras));
        };
        if self.page_session.borrow().is_none() {
            self.set_page_session(view.id.clone());
        }
        self.keep(record);
        Ok((view, extras))
    }

    pub(super) async fn server_verdict(self: Rc<Self>, reason: String) -> Delivered {
        let url = match self.page_session() {
            Some(id) => format!("{}/checkouts/{id}", self.api),
            None => format!("{}/checkouts/active", self.api),
        };
        let Ok(reply) = api::send(&self.request, "GET", &url, None, None).await else {
            return Rc::clone(&self).undecided(&reason, None);
        };
        let rejection = match reply.reading() {
            Reading::Success => match self.absorb(&reply.body) {
                Ok((view, extras)) => {
                    *self.last_session.borrow_mut() = reply.body.clone();
                    self.retries.set(0);
                    let pending = extras.verdict.state == VerdictState::PaymentPending;
                    let mut delivered = self.delivered(extras.verdict, "server", &reason, true);
                    // What the server said of this checkout (the record may be
                    // another's: a newer checkout's record is never overwritten).
                    delivered.number = Some(extras.number);
                    delivered.expires_at = view.expires_at;
                    delivered.order_id = extras.order_id.or(delivered.order_id);
                    if pending {
                        // The bank has not answered yet: ask the session again (GET,
                        // never the payment) after the core's backoff.
                        let wait = next_delay(&self.polls, None);
                        delivered.retry_in_ms = Some(wait);
                        Rc::clone(&self).check_later(wait, "poll");
                    } else {
                        self.polls.set(0);
                    }
                    return delivered;
                }
                // A 2xx that is not a session body (a proxy, a portal) decides nothing.
                Err(_) => return Rc::clone(&self).undecided(&reason, None),
            },
            Reading::Transient { retry_after_secs } => {
                return Rc::clone(&self).undecided(&reason, retry_after_secs)
            }
            Reading::Definite(core) => server_rejection(&reply.body, "detail").unwrap_or(core),
        };
        self.retries.set(0);
        let verdict = Verdict {
            state: VerdictState::for_code(rejection.code),
            rejection: Some(rejection),
        };
        self.delivered(verdict, "server", &reason, true)
    }

    /// No decision from the server (no answer, or a transient one): the local verdict
    /// stands, and one retry is scheduled after the core's backoff.
    pub(super) fn undecided(
        self: Rc<Self>,
        reason: &str,
        retry_after_secs: Option<u32>,
    ) -> Delivered {
        let wait = next_delay(&self.retries, retry_after_secs);
        let (verdict, known) = self.local_verdict();
        let mut delivered = self.delivered(verdict, "unreachable", reason, known);
        delivered.retry_in_ms = Some(wait);
        Rc::clone(&self).check_later(wait, "retry");
        delivered
    }

    /// Checks again after `wait` ms, unless a check is already waiting. A hidden tab
    /// asks again when it becomes visible; a detached guard never.
    fn check_later(self: Rc<Self>, wait: u32, reason: &'static str) {
        if self.retry_waiting.replace(true) {
            return;
        }
        wasm_bindgen_futures::spawn_local(async move {
            sleep_ms(wait).await;
            self.retry_waiting.set(false);
            if !self.detached.get() && page_visible() {
                let server = Rc::clone(&self).check(reason.to_owned()).await;
                drop(server);
            }
        });
    }

    /// Local verdict now, server verdict when it arrives; returns the latter.
    pub(super) async fn check(self: Rc<Self>, reason: String) -> Delivered {
        let (verdict, known) = self.local_verdict();
        self.deliver(&self.delivered(verdict, "local", &reason, known));
        let server = Rc::clone(&self).server_verdict(reason).await;
        self.deliver(&server);
        server
    }

    pub(super) async fn send_pending(self: Rc<Self>, extra: JsValue) -> Result<JsValue, JsValue> {
        let record = self
            .refresh()
            .ok_or_else(|| rejection_js(ErrorCode::CheckoutNotFound.into()))?;
        // Another checkout's pending action is never sent from this page.
        let Some(pending) = record.pending.clone().filter(|_| self.about_page()) else {
            return Ok(JsValue::NULL);
        };
        let segment = pending
            .action
            .order_segment()
            .ok_or_else(|| malformed("pending action", "not an order action"))?;
        let body = js_sys::Object::new();
        if extra.is_object() {
            js_sys::Object::assign(&body, &extra.clone().unchecked_into());
        }
        js_sys::Reflect::set(
            &body,
            &"snapshot_digest".into(),
            &pending.digest.clone().into(),
        )?;
        let url = format!("{}/checkouts/{}/{segment}", self.api, record.session.id);
        let reply = match api::send(
            &self.request,
            "POST",
            &url,
            Some(&body),
            Some(&pending.idempotency_key),
        )
        .await
        {
            Ok(reply) => reply,
            Err(_) => {
                // No answer: the pending action (and its key) stays for the retry.
                let error = rejection_js(Rejection::with_message(
                    ErrorCode::RequestInProgress,
                    "The connection dropped before the answer came. Your order is kept and is sent again by itself; it can never be placed twice.",
                ));
                js_sys::Reflect::set(&error, &"pending".into(), &true.into())?;
                let ms = next_delay(&self.send_retries, None);
                js_sys::Reflect::set(&error, &"retryInMs".into(), &ms.into())?;
                return Err(error);
            }
        };
        let order = text(&reply.body, "id");
        let reading = reply.order_reading();
        // Only a definite answer settles the pending action; an outage (a 502 from a
        // proxy while the order may in fact exist) keeps it and its key for the retry.
        let outcome = match (&reading, reply.status, &order) {
            (Reading::Success, 201, Some(order)) => Some(Ok(order.as_str())),
            (Reading::Definite(rejection), ..) => Some(Err(rejection.code)),
            _ => None,
        };
        // A `202` decided something: the payment waits for the shopper at the provider
        // (`next_action`, CONTRACT §20); the pending action and its key stay, so the
        // page that comes back from the provider resumes from them.
        let next_action = get(&reply.body, "next_action");
        let waits_for_shopper = reply.status == 202 && next_action.is_object();
        let transient = outcome.is_none() && !waits_for_shopper;
        // Undecided (no verdict, or "still running / being confirmed"): the key is kept
        // and the retry waits the core's backoff, never less than `Retry-After`.
        let undecided = match outcome {
            None => true,
            Some(Err(code)) => code.is_undecided(),
            Some(Ok(_)) => false,
        };
        let retry_in_ms = if undecided {
            let retry_after = match reading {
                Reading::Transient { retry_after_secs } => retry_after_secs,
                _ => reply
                    .retry_after
                    .as_deref()
                    .and_then(answer::parse_retry_after),
            };
            Some(next_delay(&self.send_retries, retry_after))
        } else {
            self.send_retries.set(0);
            None
        };
        if let (Some(outcome), Some(mut fresh)) = (outcome, self.refresh()) {
            fresh.settle(&pending.idempotency_key, outcome, self.now());
            self.keep(fresh);
        }
        crate::error::to_js(&OrderActionResult {
            status: reply.status,
            body: reply.body,
            transient,
            pending: undecided,
            retry_in_ms,
            idempotency_key: pending.idempotency_key,
            next_action: if waits_for_shopper {
                next_action
            } else {
                JsValue::NULL
            },
        })
    }
}

impl GuardedPage {
    /// The core's wait before the pending order action is tried again (and counts it).
    pub(super) fn next_send_delay(&self) -> u32 {
        next_delay(&self.send_retries, None)
    }
}

/// The core's wait before the next retry counted by `attempts` (and counts it).
fn next_delay(attempts: &Cell<u32>, retry_after_secs: Option<u32>) -> u32 {
    let attempt = attempts.get();
    attempts.set(attempt.saturating_add(1));
    answer::retry_delay_ms(attempt, retry_after_secs)
}
