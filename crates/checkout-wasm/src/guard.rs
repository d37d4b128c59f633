//! `CheckoutGuard`, the class a storefront instantiates on its checkout pages. On page
//! load, `pageshow` from the back-forward cache, `visibilitychange` to visible,
//! `popstate`, `online` and `storage` changes from other tabs it gives the callback a
//! local verdict from the core at once, then the server's. It keeps the recovery record
//! (step, selections, the pending order action with its idempotency key) in browser
//! storage, written before a request leaves, and retries with the same key.
//!
//! Every rule is the core's: the verdict (`RecoveryRecord::local_verdict`), which key a
//! retry uses (`RecoveryRecord::begin`), what an answer settles
//! (`RecoveryRecord::settle`). This file only wires them to the browser.

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use checkout_core::{
    answer::{self, Reading},
    evaluate_parts,
    recovery::{RecoveryRecord, Selections, Step},
    time, Action, ErrorCode, Rejection, SessionView, Verdict, VerdictState,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use wasm_bindgen::{prelude::*, JsCast};
use web_sys::{Event, EventTarget, PageTransitionEvent, StorageEvent, VisibilityState};

use crate::{
    api,
    error::{malformed, to_js, JsRejection},
    storage::{Loaded, RecordStore},
};

/// What the `onVerdict` callback receives.
#[derive(Debug, Serialize)]
pub struct Delivered {
    /// `ACTIVE`, `PAYMENT_PENDING`, `INACTIVE`, `EXPIRED`, `COMPLETED`, `NOT_FOUND`.
    pub state: VerdictState,
    /// Whether the checkout may be resumed.
    pub allowed: bool,
    /// Why not, when not.
    pub code: Option<ErrorCode>,
    /// Message for the shopper.
    pub message: Option<String>,
    /// Where to send the shopper.
    pub redirect: Option<String>,
    /// `local` (from the core, at once), `server`, or `unreachable` (no answer, or an
    /// answer that decided nothing: a 5xx, a 429, a proxy's page; the local verdict
    /// stands and the module asks again after `retry_in_ms`).
    pub source: &'static str,
    /// With `unreachable`: when the module asks the server again (the core's backoff,
    /// never sooner than the server's `Retry-After`).
    pub retry_in_ms: Option<u32>,
    /// What triggered the check: `load`, `bfcache`, `visible`, `popstate`, `online`,
    /// `storage`, or what the storefront passed to `check()`.
    pub reason: String,
    /// Whether anything was known locally (`false` before the first server answer).
    pub known: bool,
    /// The checkout this page shows.
    pub session_id: Option<String>,
    /// Its checkout number, when known.
    pub number: Option<String>,
    /// Its expiry, for a countdown.
    pub expires_at: Option<DateTime<Utc>>,
    /// The order, once completed.
    pub order_id: Option<String>,
}

/// The fields of a session body the module reads besides the core's `SessionView`
/// (read field by field: a derived deserializer per body shape would cost the module
/// more than the fields themselves).
#[derive(Debug)]
struct SessionExtras {
    number: String,
    /// The server's verdict, `verdict: {state, code, message, redirect}`.
    verdict: Verdict,
    recovery_token: Option<String>,
    order_id: Option<String>,
    server_time: DateTime<Utc>,
}

fn text(object: &JsValue, name: &str) -> Option<String> {
    get(object, name).as_string()
}

impl SessionExtras {
    fn read(body: &JsValue) -> Result<SessionExtras, JsValue> {
        let missing = |what: &str| malformed("session", format!("{what} is missing or invalid"));
        let verdict = get(body, "verdict");
        let state = text(&verdict, "state")
            .and_then(|s| VerdictState::from_name(&s))
            .ok_or_else(|| missing("verdict.state"))?;
        Ok(SessionExtras {
            number: text(body, "number").ok_or_else(|| missing("number"))?,
            verdict: Verdict {
                state,
                rejection: server_rejection(&verdict, "message"),
            },
            recovery_token: text(body, "recovery_token"),
            order_id: text(body, "order_id"),
            server_time: text(body, "server_time")
                .and_then(|t| time::parse(&t).ok())
                .ok_or_else(|| missing("server_time"))?,
        })
    }
}

/// The rejection a server answer carries: its `code`, the message under `message_field`
/// (`message` in a verdict, `detail` in a problem) and its `redirect`, each falling back
/// to the core's default for the code. `None` without a known code.
fn server_rejection(object: &JsValue, message_field: &str) -> Option<Rejection> {
    let code = text(object, "code").and_then(|c| ErrorCode::from_name(&c))?;
    let mut rejection = Rejection::new(code);
    if let Some(message) = text(object, message_field) {
        rejection.message = message;
    }
    if let Some(redirect) = text(object, "redirect") {
        rejection.redirect = Some(redirect);
    }
    Some(rejection)
}

struct Listener {
    target: EventTarget,
    name: &'static str,
    closure: Closure<dyn FnMut(Event)>,
}

struct Inner {
    api: String,
    store: RecordStore,
    record: RefCell<Option<RecoveryRecord>>,
    page_session: RefCell<Option<String>>,
    on_verdict: js_sys::Function,
    skew_ms: Cell<f64>,
    listeners: RefCell<Vec<Listener>>,
    /// The last session body the server returned (the page renders it without asking
    /// again).
    last_session: RefCell<JsValue>,
    /// Bumped whenever the record or the page's session changes: with the verdict,
    /// everything a delivered verdict is made of.
    version: Cell<u64>,
    /// The last `localVerdict()` answer and the frozen object returned for it: the core
    /// runs on every call, and an unchanged verdict returns the same object instead of
    /// building a new one.
    last_local: RefCell<Option<LastLocal>>,
    /// Transient answers in a row (the core's backoff grows with it; a definite answer
    /// resets it).
    retries: Cell<u32>,
    /// Whether a retry after a transient answer is already waiting (never two).
    retry_waiting: Cell<bool>,
    /// Set by `detach()`: no retry is scheduled any more.
    detached: Cell<bool>,
}

struct LastLocal {
    version: u64,
    verdict: Verdict,
    known: bool,
    value: JsValue,
}

/// Guards one checkout page. See the module documentation.
#[wasm_bindgen]
pub struct CheckoutGuard {
    inner: Rc<Inner>,
}

impl std::fmt::Debug for CheckoutGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckoutGuard")
            .field("api", &self.inner.api)
            .field("page_session", &self.inner.page_session.borrow())
            .finish_non_exhaustive()
    }
}

fn get(options: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(options, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

fn action_named(name: &str) -> Result<Action, JsValue> {
    Action::from_name(name)
        .filter(|a| a.places_order())
        .ok_or_else(|| {
            malformed(
                "action",
                format!("{name:?} is not place_order, pay or submit_for_approval"),
            )
        })
}

/// Every promise the class returns goes through this one instantiation of
/// `future_to_promise` (one per future type would each add to the module).
fn promise(
    future: std::pin::Pin<Box<dyn std::future::Future<Output = Result<JsValue, JsValue>>>>,
) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(future)
}

fn rejection_js(r: Rejection) -> JsValue {
    to_js(&JsRejection::from(r)).unwrap_or_else(|e| e)
}

impl Inner {
    fn now(&self) -> DateTime<Utc> {
        let ms = js_sys::Date::now() + self.skew_ms.get();
        DateTime::from_timestamp_millis(ms as i64).unwrap_or_default()
    }

    /// The freshest record: from storage when it works (other tabs write there), else
    /// the one in memory.
    fn refresh(&self) -> Option<RecoveryRecord> {
        self.sync();
        self.record.borrow().clone()
    }

    /// Takes in what another tab stored since this tab last read or wrote the record.
    fn sync(&self) {
        if !self.store.degraded() {
            if let Loaded::Changed(stored) = self.store.load_if_changed() {
                self.set_record(Some(*stored));
            }
        }
    }

    fn keep(&self, record: RecoveryRecord) {
        self.store.save(&record);
        self.set_record(Some(record));
    }

    /// The only two writers of what a verdict is delivered with (see `version`).
    fn set_record(&self, record: Option<RecoveryRecord>) {
        *self.record.borrow_mut() = record;
        self.version.set(self.version.get() + 1);
    }

    fn set_page_session(&self, id: String) {
        *self.page_session.borrow_mut() = Some(id);
        self.version.set(self.version.get() + 1);
    }

    fn page_session(&self) -> Option<String> {
        self.page_session
            .borrow()
            .clone()
            .or_else(|| self.record.borrow().as_ref().map(|r| r.session.id.clone()))
    }

    fn deliver(&self, d: &Delivered) {
        if let Ok(value) = to_js(d) {
            let _ = self.on_verdict.call1(&JsValue::NULL, &value);
        }
    }

    fn delivered(
        &self,
        verdict: Verdict,
        source: &'static str,
        reason: &str,
        known: bool,
    ) -> Delivered {
        let record = self.record.borrow();
        let (code, message, redirect) = match verdict.rejection {
            Some(r) => (Some(r.code), Some(r.message), r.redirect),
            None => (None, None, None),
        };
        Delivered {
            state: verdict.state,
            allowed: code.is_none(),
            code,
            message,
            redirect,
            source,
            retry_in_ms: None,
            reason: reason.to_owned(),
            known,
            session_id: self.page_session(),
            number: record.as_ref().map(|r| r.checkout_number.clone()),
            expires_at: record.as_ref().and_then(|r| r.session.expires_at),
            order_id: record.as_ref().and_then(|r| r.order_id.clone()),
        }
    }

    /// The core's verdict from what this tab knows, without the network.
    fn local_verdict(&self) -> (Verdict, bool) {
        self.sync();
        match self.record.borrow().as_ref() {
            // Locally the shopper is the record's owner.
            Some(record) => (
                record.local_verdict(
                    self.page_session.borrow().as_deref(),
                    Some(&record.session.user_id),
                    self.now(),
                ),
                true,
            ),
            None => (
                evaluate_parts(None, Some(""), Action::View, None, self.now()),
                false,
            ),
        }
    }

    /// Takes in a session body from the server: the view goes into the record (a new
    /// record for a new session), the page adopts the session if it had none, and the
    /// clock skew is corrected.
    fn absorb(&self, body: &JsValue) -> Result<(SessionView, SessionExtras), JsValue> {
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

    async fn server_verdict(self: Rc<Self>, reason: String) -> Delivered {
        let url = match self.page_session() {
            Some(id) => format!("{}/checkouts/{id}", self.api),
            None => format!("{}/checkouts/active", self.api),
        };
        let Ok(reply) = api::send("GET", &url, None, None).await else {
            return Rc::clone(&self).undecided(&reason, None);
        };
        let rejection = match reply.reading() {
            Reading::Success => match self.absorb(&reply.body) {
                Ok((_, extras)) => {
                    *self.last_session.borrow_mut() = reply.body.clone();
                    self.retries.set(0);
                    return self.delivered(extras.verdict, "server", &reason, true);
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
    fn undecided(self: Rc<Self>, reason: &str, retry_after_secs: Option<u32>) -> Delivered {
        let attempt = self.retries.get();
        self.retries.set(attempt.saturating_add(1));
        let wait = answer::retry_delay_ms(attempt, retry_after_secs);
        let (verdict, known) = self.local_verdict();
        let mut delivered = self.delivered(verdict, "unreachable", reason, known);
        delivered.retry_in_ms = Some(wait);
        if !self.retry_waiting.replace(true) {
            wasm_bindgen_futures::spawn_local(async move {
                sleep_ms(wait).await;
                self.retry_waiting.set(false);
                // A hidden tab asks again when it becomes visible; a detached guard never.
                if !self.detached.get() && page_visible() {
                    let server = Rc::clone(&self).check("retry".to_owned()).await;
                    drop(server);
                }
            });
        }
        delivered
    }

    /// Local verdict now, server verdict when it arrives; returns the latter.
    async fn check(self: Rc<Self>, reason: String) -> Delivered {
        let (verdict, known) = self.local_verdict();
        self.deliver(&self.delivered(verdict, "local", &reason, known));
        let server = Rc::clone(&self).server_verdict(reason).await;
        self.deliver(&server);
        server
    }

    async fn send_pending(self: Rc<Self>, extra: JsValue) -> Result<JsValue, JsValue> {
        let record = self
            .refresh()
            .ok_or_else(|| rejection_js(ErrorCode::CheckoutNotFound.into()))?;
        let Some(pending) = record.pending.clone() else {
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
        let reply = match api::send("POST", &url, Some(&body), Some(&pending.idempotency_key)).await
        {
            Ok(reply) => reply,
            Err(_) => {
                // No answer: the pending action (and its key) stays for the retry.
                return Err(rejection_js(Rejection::with_message(
                    ErrorCode::RequestInProgress,
                    "The connection dropped before the answer arrived. Your order request is kept and will be retried with the same key, so it can never be placed twice.",
                )));
            }
        };
        let order = text(&reply.body, "id");
        let reading = reply.reading();
        // Only a definite answer settles the pending action; an outage (a 502 from a
        // proxy while the order may in fact exist) keeps it and its key for the retry.
        let outcome = match (&reading, reply.status, &order) {
            (Reading::Success, 201, Some(order)) => Some(Ok(order.as_str())),
            (Reading::Definite(rejection), ..) => Some(Err(rejection.code)),
            _ => None,
        };
        let retry_in_ms = match (&outcome, &reading) {
            (Some(_), _) => None,
            (None, Reading::Transient { retry_after_secs }) => {
                Some(answer::retry_delay_ms(0, *retry_after_secs))
            }
            (None, _) => Some(answer::FIRST_RETRY_MS),
        };
        if let (Some(outcome), Some(mut fresh)) = (outcome, self.refresh()) {
            fresh.settle(&pending.idempotency_key, outcome, self.now());
            self.keep(fresh);
        }
        let result = js_sys::Object::new();
        js_sys::Reflect::set(&result, &"transient".into(), &retry_in_ms.is_some().into())?;
        if let Some(ms) = retry_in_ms {
            js_sys::Reflect::set(&result, &"retryInMs".into(), &ms.into())?;
        }
        js_sys::Reflect::set(&result, &"status".into(), &reply.status.into())?;
        js_sys::Reflect::set(&result, &"body".into(), &reply.body)?;
        js_sys::Reflect::set(
            &result,
            &"idempotencyKey".into(),
            &pending.idempotency_key.into(),
        )?;
        Ok(result.into())
    }
}

/// Resolves after `ms` milliseconds (`setTimeout`).
async fn sleep_ms(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let ms = i32::try_from(ms).unwrap_or(i32::MAX);
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Whether the page is visible (a page without a document counts as visible).
fn page_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_none_or(|d| d.visibility_state() == VisibilityState::Visible)
}

/// A fresh idempotency key: `crypto.randomUUID()` (secure contexts), otherwise a key
/// from `crypto.getRandomValues`.
fn random_key() -> String {
    let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) else {
        return format!("k-{}", js_sys::Date::now() as u64);
    };
    if let Ok(uuid) = js_sys::Reflect::get(&crypto, &"randomUUID".into()) {
        if uuid.is_function() {
            return crypto.random_uuid();
        }
    }
    let mut bytes = [0u8; 16];
    let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[wasm_bindgen]
impl CheckoutGuard {
    /// `new CheckoutGuard({onVerdict, apiBase = "/api/v1", storageKey =
    /// "checkout-guard", pageSessionId})`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "CheckoutGuardOptions")] options: JsValue,
    ) -> Result<CheckoutGuard, JsValue> {
        let on_verdict: js_sys::Function = get(&options, "onVerdict")
            .dyn_into()
            .map_err(|_| malformed("options", "onVerdict must be a function"))?;
        let api = get(&options, "apiBase")
            .as_string()
            .unwrap_or_else(|| "/api/v1".into());
        let key = get(&options, "storageKey")
            .as_string()
            .unwrap_or_else(|| "checkout-guard".into());
        let store = RecordStore::new(&key);
        let record = store.load();
        Ok(CheckoutGuard {
            inner: Rc::new(Inner {
                api: api.trim_end_matches('/').to_owned(),
                store,
                record: RefCell::new(record),
                page_session: RefCell::new(get(&options, "pageSessionId").as_string()),
                on_verdict,
                skew_ms: Cell::new(0.0),
                listeners: RefCell::new(Vec::new()),
                last_session: RefCell::new(JsValue::NULL),
                version: Cell::new(0),
                last_local: RefCell::new(None),
                retries: Cell::new(0),
                retry_waiting: Cell::new(false),
                detached: Cell::new(false),
            }),
        })
    }

    /// Starts listening (load, bfcache `pageshow`, `visibilitychange`, `popstate`,
    /// `online`, cross-tab `storage`) and runs the first check.
    pub fn attach(&self) -> Result<js_sys::Promise, JsValue> {
        self.detach();
        self.inner.detached.set(false);
        let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
        let document = window
            .document()
            .ok_or_else(|| JsValue::from_str("no document"))?;
        let inner = &self.inner;
        let on = |target: &EventTarget,
                  name: &'static str,
                  reason: fn(&Event, &Inner) -> Option<&'static str>| {
            let weak = Rc::downgrade(inner);
            let closure = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
                if let Some(inner) = weak.upgrade() {
                    if let Some(reason) = reason(&event, &inner) {
                        // The promise is not awaited: its verdicts go to `onVerdict`.
                        let _ = promise(Box::pin(async move {
                            to_js(&inner.check(reason.to_owned()).await)
                        }));
                    }
                }
            });
            let _ = target.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
            inner.listeners.borrow_mut().push(Listener {
                target: target.clone(),
                name,
                closure,
            });
        };
        on(&window, "pageshow", |e, _| {
            e.dyn_ref::<PageTransitionEvent>()
                .filter(|p| p.persisted())
                .map(|_| "bfcache")
        });
        on(&document, "visibilitychange", |_, _| {
            let visible = web_sys::window()
                .and_then(|w| w.document())
                .is_some_and(|d| d.visibility_state() == VisibilityState::Visible);
            visible.then_some("visible")
        });
        on(&window, "popstate", |_, _| Some("popstate"));
        on(&window, "online", |_, _| Some("online"));
        on(&window, "storage", |e, inner| {
            let key = e.dyn_ref::<StorageEvent>().and_then(StorageEvent::key);
            // A null key means the whole storage was cleared.
            (key.is_none() || key.as_deref() == Some(inner.store.key())).then_some("storage")
        });
        Ok(self.check("load".into()))
    }

    /// Stops listening.
    pub fn detach(&self) {
        self.inner.detached.set(true);
        for l in self.inner.listeners.borrow_mut().drain(..) {
            let _ = l
                .target
                .remove_event_listener_with_callback(l.name, l.closure.as_ref().unchecked_ref());
        }
    }

    /// Gives the local verdict at once and the server's when it arrives (both to
    /// `onVerdict`); the promise resolves to the server's.
    pub fn check(&self, reason: String) -> js_sys::Promise {
        let inner = Rc::clone(&self.inner);
        promise(Box::pin(async move { to_js(&inner.check(reason).await) }))
    }

    /// The local verdict only, synchronously (microseconds; no network). The object is
    /// frozen: while the verdict stays the same, every call returns the same object.
    #[wasm_bindgen(js_name = localVerdict)]
    pub fn local_verdict(&self) -> Result<JsValue, JsValue> {
        let (verdict, known) = self.inner.local_verdict();
        let version = self.inner.version.get();
        let mut last = self.inner.last_local.borrow_mut();
        if let Some(last) = last.as_ref() {
            if last.version == version && last.known == known && last.verdict == verdict {
                return Ok(last.value.clone());
            }
        }
        let value = to_js(
            &self
                .inner
                .delivered(verdict.clone(), "local", "call", known),
        )?;
        js_sys::Object::freeze(value.unchecked_ref::<js_sys::Object>());
        *last = Some(LastLocal {
            version,
            verdict,
            known,
            value: value.clone(),
        });
        Ok(value)
    }

    /// Records a session body the server returned (initiation, a change, recovery).
    pub fn remember(&self, session: JsValue) -> Result<(), JsValue> {
        let (view, _) = self.inner.absorb(&session)?;
        self.inner.set_page_session(view.id);
        Ok(())
    }

    /// The session body of the last server verdict (`null` before one), so the page can
    /// render it without fetching it again.
    #[wasm_bindgen(js_name = lastSession)]
    pub fn last_session(&self) -> JsValue {
        self.inner.last_session.borrow().clone()
    }

    /// The checkout this page shows.
    #[wasm_bindgen(getter, js_name = pageSessionId)]
    pub fn page_session_id(&self) -> Option<String> {
        self.inner.page_session()
    }

    /// Records the current step: `summary`, `shipping`, `payment`, `review`.
    #[wasm_bindgen(js_name = setStep)]
    pub fn set_step(&self, step: String) -> Result<(), JsValue> {
        let step = Step::from_name(&step).ok_or_else(|| {
            malformed(
                "step",
                format!("{step:?} is not summary, shipping, payment, review, submitting or done"),
            )
        })?;
        if let Some(mut r) = self.inner.refresh() {
            r.step = step;
            self.inner.keep(r);
        }
        Ok(())
    }

    /// Records the shopper's choices `{shipping_method, payment_method, vouchers}`.
    #[wasm_bindgen(js_name = setSelections)]
    pub fn set_selections(&self, selections: JsValue) -> Result<(), JsValue> {
        let selections: Selections =
            crate::de::from_js(&selections).map_err(|e| malformed("selections", e))?;
        if let Some(mut r) = self.inner.refresh() {
            r.selections = selections;
            self.inner.keep(r);
        }
        Ok(())
    }

    /// The stored recovery record (or `null`).
    pub fn record(&self) -> Result<JsValue, JsValue> {
        match self.inner.refresh() {
            Some(r) => to_js(&r),
            None => Ok(JsValue::NULL),
        }
    }

    /// `{status: "ok" | "unavailable" | "full" | "corrupt", reason?, degraded}`.
    #[wasm_bindgen(js_name = storageStatus)]
    pub fn storage_status(&self) -> Result<JsValue, JsValue> {
        self.inner.store.health().to_js()
    }

    /// Sends an order action (`place_order`, `pay`, `submit_for_approval`) with `extra`
    /// body fields. The pending action and its idempotency key are stored before the
    /// request leaves; a retry of the same action on the same summary reuses the key.
    /// Resolves to `{status, body, idempotencyKey}`; rejects with `{code, message}`.
    pub fn submit(&self, action: String, extra: JsValue) -> js_sys::Promise {
        let inner = Rc::clone(&self.inner);
        promise(Box::pin(async move {
            let action = action_named(&action)?;
            let (verdict, _) = inner.local_verdict();
            if let Some(rejection) = verdict.rejection {
                return Err(rejection_js(rejection));
            }
            let mut record = inner
                .refresh()
                .ok_or_else(|| rejection_js(ErrorCode::CheckoutNotFound.into()))?;
            record
                .begin(action, &random_key(), inner.now())
                .map_err(rejection_js)?;
            inner.keep(record);
            inner.send_pending(extra).await
        }))
    }

    /// Retries a pending order action with its stored key (after a refresh, crash or
    /// reconnect). Resolves to `null` when nothing is pending. `extra` must carry the
    /// same extra fields as the first attempt (a different body is refused by the
    /// server as `IDEMPOTENCY_KEY_REUSED`).
    #[wasm_bindgen(js_name = resumePending)]
    pub fn resume_pending(&self, extra: JsValue) -> js_sys::Promise {
        let inner = Rc::clone(&self.inner);
        promise(Box::pin(async move { inner.send_pending(extra).await }))
    }

    /// Forgets the local record (for example after showing the confirmation).
    pub fn forget(&self) {
        self.inner.store.clear();
        self.inner.set_record(None);
    }
}

#[wasm_bindgen(typescript_custom_section)]
const TS_GUARD: &'static str = r#"
export interface CheckoutGuardOptions {
  onVerdict: (verdict: DeliveredVerdict) => void;
  apiBase?: string;
  storageKey?: string;
  pageSessionId?: string;
}
export interface DeliveredVerdict extends Verdict {
  source: "local" | "server" | "unreachable";
  /** With "unreachable": when the module asks the server again by itself. */
  retry_in_ms: number | null;
  reason: string;
  known: boolean;
  session_id: string | null;
  number: string | null;
  expires_at: string | null;
  order_id: string | null;
}
"#;
