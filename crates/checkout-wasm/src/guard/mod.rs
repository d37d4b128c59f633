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
//!
//! `page.rs` holds the guarded page's state and what it does; `reply.rs` reads the
//! server's answers into what the callback receives; `types.rs` the TypeScript types of
//! the options and of what the methods return; `browser.rs` timers, visibility and
//! random keys.

mod browser;
mod lock;
mod page;
mod reply;
mod types;

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use checkout_core::{
    recovery::{Selections, Step},
    Action, ErrorCode, Rejection,
};
use wasm_bindgen::{prelude::*, JsCast};
use web_sys::{Event, EventTarget, PageTransitionEvent, StorageEvent, VisibilityState};

use crate::{
    error::{malformed, to_js, JsRejection},
    storage::RecordStore,
};

pub use self::reply::Delivered;
use self::{
    browser::random_key,
    page::{GuardedPage, LastLocal, Listener},
};

/// Guards one checkout page. See the module documentation.
#[wasm_bindgen]
pub struct CheckoutGuard {
    inner: Rc<GuardedPage>,
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
                format!(
                    "{} is not place_order, pay or submit_for_approval",
                    checkout_core::detail::Quoted(name)
                ),
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
        let request = crate::api::RequestOptions::read(
            &get(&options, "credentials"),
            &get(&options, "headers"),
        )
        .map_err(|why| malformed("options", why))?;
        let store = RecordStore::new(&key);
        let record = store.load();
        let page_session = get(&options, "pageSessionId").as_string();
        let page_recorded = record
            .as_ref()
            .is_some_and(|r| r.is_about(page_session.as_deref()));
        Ok(CheckoutGuard {
            inner: Rc::new(GuardedPage {
                api: api.trim_end_matches('/').to_owned(),
                request,
                store,
                record: RefCell::new(record),
                page_session: RefCell::new(page_session),
                on_verdict,
                skew_ms: Cell::new(0.0),
                listeners: RefCell::new(Vec::new()),
                last_session: RefCell::new(JsValue::NULL),
                version: Cell::new(0),
                last_local: RefCell::new(None),
                retries: Cell::new(0),
                send_retries: Cell::new(0),
                polls: Cell::new(0),
                retry_waiting: Cell::new(false),
                detached: Cell::new(false),
                page_recorded: Cell::new(page_recorded),
            }),
        })
    }

    /// Starts listening (load, bfcache `pageshow`, `visibilitychange`, `popstate`,
    /// `online`, cross-tab `storage`) and runs the first check.
    #[wasm_bindgen(unchecked_return_type = "Promise<DeliveredVerdict>")]
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
                  reason: fn(&Event, &GuardedPage) -> Option<&'static str>| {
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
            if !(key.is_none() || key.as_deref() == Some(inner.store.key())) {
                return None;
            }
            if !browser::page_visible() {
                // A hidden tab asks the server nothing: it takes in the other tab's
                // record for the local verdict, and checks with the server when shown.
                let (verdict, known) = inner.local_verdict();
                inner.deliver(&inner.delivered(verdict, "local", "storage", known));
                return None;
            }
            Some("storage")
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
    #[wasm_bindgen(unchecked_return_type = "Promise<DeliveredVerdict>")]
    pub fn check(&self, reason: String) -> js_sys::Promise {
        let inner = Rc::clone(&self.inner);
        promise(Box::pin(async move { to_js(&inner.check(reason).await) }))
    }

    /// The local verdict only, synchronously (microseconds; no network). The object is
    /// frozen: while the verdict stays the same, every call returns the same object.
    #[wasm_bindgen(js_name = localVerdict, unchecked_return_type = "DeliveredVerdict")]
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
    pub fn remember(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SessionBody")] session: JsValue,
    ) -> Result<(), JsValue> {
        let (view, _) = self.inner.absorb(&session)?;
        self.inner.set_page_session(view.id);
        Ok(())
    }

    /// The session body of the last server verdict (`null` before one), so the page can
    /// render it without fetching it again.
    #[wasm_bindgen(js_name = lastSession, unchecked_return_type = "SessionBody | null")]
    pub fn last_session(&self) -> JsValue {
        self.inner.last_session.borrow().clone()
    }

    /// The checkout this page shows.
    #[wasm_bindgen(getter, js_name = pageSessionId)]
    pub fn page_session_id(&self) -> Option<String> {
        self.inner.page_session()
    }

    /// Milliseconds until this page's checkout expires or its sign-in ends, whichever
    /// comes first, on the server's clock (the module keeps the offset from the last
    /// answer's `server_time`); `0` once ended, `null` when it does not expire or
    /// nothing is known yet. For a countdown.
    #[wasm_bindgen(js_name = timeLeftMs)]
    pub fn time_left_ms(&self) -> Option<f64> {
        let record = self.inner.record.borrow();
        let record = record.as_ref()?;
        if Some(&record.session.id) != self.inner.page_session().as_ref() {
            return None;
        }
        let session = &record.session;
        let ends = [session.expiry(), session.login_expiry()];
        let expires_at = ends.into_iter().flatten().min()?;
        let left = expires_at
            .signed_duration_since(self.inner.now())
            .num_milliseconds();
        Some(left.max(0) as f64)
    }

    /// Records the current step: `summary`, `shipping`, `payment`, `review`.
    #[wasm_bindgen(js_name = setStep)]
    pub fn set_step(
        &self,
        #[wasm_bindgen(unchecked_param_type = "CheckoutStep")] step: String,
    ) -> Result<(), JsValue> {
        let step = Step::from_name(&step).ok_or_else(|| {
            malformed(
                "step",
                format!(
                    "{} is not summary, shipping, payment, review, submitting or done",
                    checkout_core::detail::Quoted(&step)
                ),
            )
        })?;
        if let Some(mut r) = self.inner.refresh().filter(|_| self.inner.about_page()) {
            r.step = step;
            self.inner.keep(r);
        }
        Ok(())
    }

    /// Records the shopper's choices `{shipping_method, payment_method, vouchers}`.
    #[wasm_bindgen(js_name = setSelections)]
    pub fn set_selections(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Selections")] selections: JsValue,
    ) -> Result<(), JsValue> {
        let selections: Selections =
            crate::de::from_js(&selections).map_err(|e| malformed("selections", e))?;
        if let Some(mut r) = self.inner.refresh().filter(|_| self.inner.about_page()) {
            r.selections = selections;
            self.inner.keep(r);
        }
        Ok(())
    }

    /// The stored recovery record (or `null`).
    #[wasm_bindgen(unchecked_return_type = "RecoveryRecord | null")]
    pub fn record(&self) -> Result<JsValue, JsValue> {
        match self.inner.refresh() {
            Some(r) => to_js(&r),
            None => Ok(JsValue::NULL),
        }
    }

    /// `{status: "ok" | "unavailable" | "full" | "corrupt", reason?, degraded}`.
    #[wasm_bindgen(js_name = storageStatus, unchecked_return_type = "StorageStatus")]
    pub fn storage_status(&self) -> Result<JsValue, JsValue> {
        self.inner.store.health().to_js()
    }

    /// Sends an order action (`place_order`, `pay`, `submit_for_approval`) with `extra`
    /// body fields. The pending action and its idempotency key are stored before the
    /// request leaves; a retry of the same action on the same summary reuses the key.
    /// Resolves to `{status, body, idempotencyKey}`; rejects with `{code, message}`.
    #[wasm_bindgen(unchecked_return_type = "Promise<OrderActionResult>")]
    pub fn submit(
        &self,
        #[wasm_bindgen(unchecked_param_type = "OrderAction")] action: String,
        #[wasm_bindgen(unchecked_param_type = "OrderActionExtra | undefined")] extra: JsValue,
    ) -> js_sys::Promise {
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
            send_alone(inner, extra).await
        }))
    }

    /// Retries a pending order action with its stored key (after a refresh, crash or
    /// reconnect). Resolves to `null` when nothing is pending. `extra` must carry the
    /// same extra fields as the first attempt (a different body is refused by the
    /// server as `IDEMPOTENCY_KEY_REUSED`).
    #[wasm_bindgen(js_name = resumePending, unchecked_return_type = "Promise<OrderActionResult | null>")]
    pub fn resume_pending(
        &self,
        #[wasm_bindgen(unchecked_param_type = "OrderActionExtra | undefined")] extra: JsValue,
    ) -> js_sys::Promise {
        let inner = Rc::clone(&self.inner);
        promise(Box::pin(send_alone(inner, extra)))
    }

    /// After a reload, a pending payment cannot be resent as it was (the card is not
    /// kept): once the server shows the checkout `ACTIVE` again (the payment did not
    /// complete), drops it so the next Pay starts with a fresh key (the core's
    /// `RecoveryRecord::abandon_unsendable_payment`). Returns the core's message for the
    /// shopper when it did, else `undefined`.
    #[wasm_bindgen(js_name = abandonUnsendablePayment)]
    pub fn abandon_unsendable_payment(&self) -> Option<String> {
        let mut record = self.inner.refresh().filter(|_| self.inner.about_page())?;
        let status = record.session.status;
        let said = record.abandon_unsendable_payment(status, self.inner.now())?;
        self.inner.keep(record);
        Some(said.to_owned())
    }

    /// Forgets the local record (for example after showing the confirmation).
    pub fn forget(&self) {
        self.inner.store.clear();
        self.inner.set_record(None);
    }
}

/// Sends the pending order action holding this checkout's submit lock; when another tab
/// holds it (it is sending the same action right now), sends nothing and rejects with
/// `REQUEST_IN_PROGRESS`, `pending: true` and the core's wait before asking again.
async fn send_alone(inner: Rc<GuardedPage>, extra: JsValue) -> Result<JsValue, JsValue> {
    // The checkout the pending action is for (the one `send_pending` posts to).
    let Some(session) = inner.refresh().map(|record| record.session.id) else {
        return inner.send_pending(extra).await;
    };
    let sender = Rc::clone(&inner);
    match lock::exclusively(&lock::name(&session), Box::pin(sender.send_pending(extra))).await {
        lock::Locked::Ran(outcome) => outcome,
        lock::Locked::Busy => {
            let error = rejection_js(Rejection::with_message(
                ErrorCode::RequestInProgress,
                "This order is being sent from another tab. This page shows the outcome as soon as it is known.",
            ));
            js_sys::Reflect::set(&error, &"pending".into(), &true.into())?;
            let wait = inner.next_send_delay();
            js_sys::Reflect::set(&error, &"retryInMs".into(), &wait.into())?;
            Err(error)
        }
    }
}

/// A fresh idempotency key, from the same generator the guard uses for order actions
/// (`crypto.randomUUID()`, or 128 bits from `crypto.getRandomValues`): for a keyed
/// request the storefront sends itself, such as starting a checkout.
#[wasm_bindgen(js_name = newIdempotencyKey)]
pub fn new_idempotency_key() -> String {
    random_key()
}
