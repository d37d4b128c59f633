//! One submitter per checkout across tabs (CONTRACT §12): an order action is sent only
//! while this tab holds the Web Lock `checkout-guard:submit:<session id>`, asked for with
//! `ifAvailable`, so a second tab clicking at the same moment sends nothing and is told
//! that the order is already being sent. The lock is held only while the request is in
//! flight, so a page that is hidden or put into the back-forward cache holds none.
//! Where Web Locks are missing, the recovery record still makes both tabs use one key,
//! so the server answers the second with the first's outcome (never a second order).

use std::{cell::RefCell, future::Future, pin::Pin, rc::Rc};

use wasm_bindgen::{prelude::*, JsCast};

/// What [`exclusively`] did.
pub(super) enum Locked {
    /// The lock was free (or Web Locks are missing): `work` ran; its outcome.
    Ran(Result<JsValue, JsValue>),
    /// Another tab holds the lock: `work` did not run.
    Busy,
}

type Work = Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>;

/// The browser's `navigator.locks`, if it has one.
fn lock_manager() -> Option<JsValue> {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let locks = js_sys::Reflect::get(&navigator, &"locks".into()).ok()?;
    let request = js_sys::Reflect::get(&locks, &"request".into()).ok()?;
    request.is_function().then_some(locks)
}

/// Runs `work` holding the lock `name`, unless another tab holds it.
pub(super) async fn exclusively(name: &str, work: Work) -> Locked {
    let Some(locks) = lock_manager() else {
        return Locked::Ran(work.await);
    };
    let work = Rc::new(RefCell::new(Some(work)));
    let outcome: Rc<RefCell<Option<Result<JsValue, JsValue>>>> = Rc::default();
    let callback = {
        let (work, outcome) = (Rc::clone(&work), Rc::clone(&outcome));
        Closure::<dyn FnMut(JsValue) -> js_sys::Promise>::new(move |lock: JsValue| {
            // `null`: another tab holds the lock; the work stays undone.
            let job = if lock.is_null() {
                None
            } else {
                work.borrow_mut().take()
            };
            let outcome = Rc::clone(&outcome);
            wasm_bindgen_futures::future_to_promise(async move {
                if let Some(job) = job {
                    let done = job.await;
                    *outcome.borrow_mut() = Some(done);
                }
                Ok(JsValue::UNDEFINED)
            })
        })
    };
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"ifAvailable".into(), &true.into());
    let asked = js_sys::Reflect::get(&locks, &"request".into())
        .and_then(JsCast::dyn_into::<js_sys::Function>)
        .and_then(|request| {
            request.call3(
                &locks,
                &JsValue::from_str(name),
                &options,
                callback.as_ref().unchecked_ref(),
            )
        })
        .and_then(JsCast::dyn_into::<js_sys::Promise>);
    let granted = match asked {
        Ok(promise) => wasm_bindgen_futures::JsFuture::from(promise).await.is_ok(),
        Err(_) => false,
    };
    drop(callback);
    if let Some(done) = outcome.borrow_mut().take() {
        return Locked::Ran(done);
    }
    let left = work.borrow_mut().take();
    match (granted, left) {
        // The lock manager refused the request itself (an opaque origin, a document
        // being unloaded): the record still keeps one key, so send without the lock
        // rather than never.
        (false, Some(job)) => Locked::Ran(job.await),
        _ => Locked::Busy,
    }
}

/// The lock's name for a checkout.
pub(super) fn name(session_id: &str) -> String {
    format!("checkout-guard:submit:{session_id}")
}
