//! `CheckoutGuard` in real headless Chromium: storage (persisted, shared, corrupt, full),
//! events (online, popstate, visibilitychange, storage from another tab) and verdicts.

#![cfg(target_arch = "wasm32")]
// `wasm_bindgen_test` functions are tests, but clippy does not know them as such.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use checkout_wasm::guard::CheckoutGuard;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn field(obj: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(obj, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

fn text(obj: &JsValue, name: &str) -> Option<String> {
    field(obj, name).as_string()
}

fn storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

/// A session body as the server returns it, `expires_in_ms` from now.
fn session_body(id: &str, expires_in_ms: f64, is_latest: bool) -> JsValue {
    let now = js_sys::Date::now();
    let iso = |ms: f64| {
        js_sys::Date::new(&JsValue::from_f64(ms))
            .to_iso_string()
            .as_string()
            .unwrap()
    };
    let json = format!(
        r#"{{"id":"{id}","user_id":"u1","number":"CO-22112026-000042","status":"ACTIVE","reason":null,
        "managed":true,"started_at":"{start}","expires_at":"{exp}","is_latest":{is_latest},"generation":0,
        "digest":"sha256:aa","verdict":{{"state":"ACTIVE","allowed":true,"code":null,"message":null,"redirect":null}},
        "order_id":null,"recovery_token":null,"server_time":"{now}"}}"#,
        start = iso(now - 1000.0),
        exp = iso(now + expires_in_ms),
        now = iso(now),
    );
    js_sys::JSON::parse(&json).unwrap()
}

/// A guard whose verdicts are collected into a JS array.
fn guard(key: &str, page: Option<&str>) -> (CheckoutGuard, js_sys::Array) {
    let seen = js_sys::Array::new();
    let sink = seen.clone();
    let callback = Closure::<dyn FnMut(JsValue)>::new(move |v: JsValue| {
        sink.push(&v);
    });
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"onVerdict".into(), callback.as_ref()).unwrap();
    js_sys::Reflect::set(&options, &"storageKey".into(), &key.into()).unwrap();
    // A server that does not exist: only the local verdicts matter here.
    js_sys::Reflect::set(&options, &"apiBase".into(), &"/no-server".into()).unwrap();
    if let Some(page) = page {
        js_sys::Reflect::set(&options, &"pageSessionId".into(), &page.into()).unwrap();
    }
    callback.forget();
    (CheckoutGuard::new(options.into()).unwrap(), seen)
}

#[wasm_bindgen_test]
fn the_record_is_persisted_and_read_by_a_new_page() {
    let key = "t-persist";
    storage().remove_item(key).unwrap();
    let (first, _) = guard(key, None);
    first.remember(session_body("s1", 600_000.0, true)).unwrap();
    assert!(storage().get_item(key).unwrap().is_some());
    let (reloaded, _) = guard(key, None);
    let v = reloaded.local_verdict().unwrap();
    assert_eq!(text(&v, "state").as_deref(), Some("ACTIVE"));
    assert_eq!(field(&v, "known").as_bool(), Some(true));
    assert_eq!(text(&v, "number").as_deref(), Some("CO-22112026-000042"));
    assert_eq!(reloaded.page_session_id().as_deref(), Some("s1"));
}

#[wasm_bindgen_test]
fn an_expired_window_is_refused_locally() {
    let key = "t-expired";
    storage().remove_item(key).unwrap();
    let (g, _) = guard(key, None);
    g.remember(session_body("s1", -1.0, true)).unwrap();
    let v = g.local_verdict().unwrap();
    assert_eq!(text(&v, "state").as_deref(), Some("EXPIRED"));
    assert_eq!(text(&v, "code").as_deref(), Some("CHECKOUT_EXPIRED"));
    assert_eq!(text(&v, "redirect").as_deref(), Some("/cart"));
}

#[wasm_bindgen_test]
fn a_newer_checkout_from_another_tab_supersedes_this_page_locally() {
    let key = "t-tabs";
    storage().remove_item(key).unwrap();
    let (older, _) = guard(key, None);
    older.remember(session_body("s1", 600_000.0, true)).unwrap();
    let (newer, _) = guard(key, None);
    newer.remember(session_body("s2", 600_000.0, true)).unwrap();
    let v = older.local_verdict().unwrap();
    assert_eq!(text(&v, "state").as_deref(), Some("INACTIVE"));
    assert_eq!(text(&v, "code").as_deref(), Some("CHECKOUT_SUPERSEDED"));
    // A read of the older session never overwrites the newer record.
    older
        .remember(session_body("s1", 600_000.0, false))
        .unwrap();
    let (third, _) = guard(key, None);
    assert_eq!(third.page_session_id().as_deref(), Some("s2"));
}

/// `session_body` of a checkout that completed with `order`.
fn completed_body(id: &str, order: &str) -> JsValue {
    let body = session_body(id, 600_000.0, true);
    let set = |name: &str, value: JsValue| {
        js_sys::Reflect::set(&body, &name.into(), &value).unwrap();
    };
    set("status", "COMPLETED".into());
    set("reason", "ORDER_PLACED".into());
    set("order_id", order.into());
    let verdict = field(&body, "verdict");
    js_sys::Reflect::set(&verdict, &"state".into(), &"COMPLETED".into()).unwrap();
    js_sys::Reflect::set(&verdict, &"allowed".into(), &false.into()).unwrap();
    js_sys::Reflect::set(&verdict, &"code".into(), &"CHECKOUT_COMPLETED".into()).unwrap();
    body
}

#[wasm_bindgen_test]
fn a_completed_checkout_says_nothing_about_an_unrelated_one() {
    let key = "t-unrelated";
    storage().remove_item(key).unwrap();
    let (done, _) = guard(key, None);
    done.remember(completed_body("s1", "order-1")).unwrap();
    let own = done.local_verdict().unwrap();
    assert_eq!(text(&own, "state").as_deref(), Some("COMPLETED"));
    assert_eq!(text(&own, "order_id").as_deref(), Some("order-1"));
    // A page guarding another checkout id: nothing is known of it locally, and the
    // other checkout's order, number and expiry are never lent to it.
    let (other, _) = guard(key, Some("s9"));
    let v = other.local_verdict().unwrap();
    assert_eq!(field(&v, "known").as_bool(), Some(false));
    assert_ne!(text(&v, "state").as_deref(), Some("COMPLETED"));
    assert!(
        field(&v, "order_id").is_null(),
        "{:?}",
        field(&v, "order_id")
    );
    assert!(field(&v, "number").is_null());
    assert!(field(&v, "expires_at").is_null());
    assert_eq!(text(&v, "session_id").as_deref(), Some("s9"));
    assert_eq!(other.time_left_ms(), None);
}

#[wasm_bindgen_test]
async fn a_page_never_acts_on_another_checkouts_record() {
    let key = "t-acts";
    storage().remove_item(key).unwrap();
    let (owner, _) = guard(key, None);
    owner.remember(session_body("s2", 600_000.0, true)).unwrap();
    // s2's order is sent; no server answers it, so it stays pending with its key.
    let sent = wasm_bindgen_futures::JsFuture::from(
        owner.submit("place_order".into(), JsValue::UNDEFINED),
    )
    .await;
    let _ = sent;
    let record = owner.record().unwrap();
    let pending = field(&record, "pending");
    assert!(pending.is_object(), "s2's order is pending");
    let stored = storage().get_item(key).unwrap();

    // A page opened on another checkout (a link, a bank's return): it never was this
    // record's, so nothing is known of it here — not even "superseded".
    let (other, _) = guard(key, Some("s3"));
    let v = other.local_verdict().unwrap();
    assert_eq!(field(&v, "known").as_bool(), Some(false));
    // It never resends s2's order, nor changes s2's record.
    let resumed = wasm_bindgen_futures::JsFuture::from(other.resume_pending(JsValue::UNDEFINED))
        .await
        .unwrap();
    assert!(resumed.is_null(), "nothing sent for another checkout");
    let selections = js_sys::JSON::parse(
        r#"{"shipping_method":"express","payment_method":"card","vouchers":[]}"#,
    )
    .unwrap();
    other.set_selections(selections).unwrap();
    other.set_step("review".into()).unwrap();
    assert_eq!(other.abandon_unsendable_payment(), None);
    assert_eq!(
        storage().get_item(key).unwrap(),
        stored,
        "s2's record untouched"
    );
}

#[wasm_bindgen_test]
fn garbage_in_storage_is_discarded_and_reported() {
    let key = "t-corrupt";
    storage()
        .set_item(key, "{\"version\":1,\"session\":")
        .unwrap();
    let (g, _) = guard(key, None);
    assert!(g.record().unwrap().is_null());
    let status = g.storage_status().unwrap();
    assert_eq!(text(&status, "status").as_deref(), Some("corrupt"));
    assert_eq!(field(&status, "degraded").as_bool(), Some(false));
    assert!(
        storage().get_item(key).unwrap().is_none(),
        "the garbage was removed"
    );
    g.remember(session_body("s9", 600_000.0, true)).unwrap();
    assert!(
        storage().get_item(key).unwrap().is_some(),
        "storage is used again"
    );
}

#[wasm_bindgen_test]
fn an_unchanged_local_verdict_is_the_same_frozen_object_and_any_change_a_new_one() {
    let key = "t-local-cache";
    storage().remove_item(key).unwrap();
    let (g, _) = guard(key, Some("s7"));
    g.remember(session_body("s7", 600_000.0, true)).unwrap();
    let first = g.local_verdict().unwrap();
    let again = g.local_verdict().unwrap();
    assert!(
        js_sys::Object::is(&first, &again),
        "unchanged: the same object"
    );
    assert!(js_sys::Object::is_frozen(
        first.unchecked_ref::<js_sys::Object>()
    ));
    assert_eq!(text(&first, "state").as_deref(), Some("ACTIVE"));

    // Same verdict (still ACTIVE) but a new expiry in the record: a new object with it.
    g.remember(session_body("s7", 900_000.0, true)).unwrap();
    let extended = g.local_verdict().unwrap();
    assert!(!js_sys::Object::is(&first, &extended));
    assert_eq!(text(&extended, "state").as_deref(), Some("ACTIVE"));
    assert_ne!(text(&extended, "expires_at"), text(&first, "expires_at"));

    // Another tab starts a newer checkout: this page's verdict changes at once.
    let (other, _) = guard(key, None);
    other.remember(session_body("s8", 600_000.0, true)).unwrap();
    let superseded = g.local_verdict().unwrap();
    assert_eq!(
        text(&superseded, "code").as_deref(),
        Some("CHECKOUT_SUPERSEDED")
    );
    assert!(js_sys::Object::is(&superseded, &g.local_verdict().unwrap()));
}

#[wasm_bindgen_test]
fn selections_are_checked_element_by_element() {
    let key = "t-selections";
    storage().remove_item(key).unwrap();
    let (g, _) = guard(key, None);
    g.remember(session_body("s5", 600_000.0, true)).unwrap();
    let good =
        js_sys::JSON::parse(r#"{"shipping_method":"standard","vouchers":["SWEET5"]}"#).unwrap();
    g.set_selections(good).unwrap();
    let stored = field(&field(&g.record().unwrap(), "selections"), "vouchers");
    assert_eq!(
        js_sys::Array::from(&stored).get(0).as_string().as_deref(),
        Some("SWEET5")
    );
    let bad = js_sys::JSON::parse(r#"{"vouchers":["SWEET5", 7]}"#).unwrap();
    let err = g.set_selections(bad).unwrap_err();
    assert_eq!(text(&err, "code").as_deref(), Some("MALFORMED_REQUEST"));
    assert_eq!(
        text(&err, "message").as_deref(),
        Some("selections: vouchers[1]: expected a string, found an integer")
    );
    // The refused call changed nothing.
    let stored = field(&field(&g.record().unwrap(), "selections"), "vouchers");
    assert_eq!(js_sys::Array::from(&stored).length(), 1);
}

#[wasm_bindgen_test]
fn full_storage_degrades_without_breaking() {
    let key = "t-full";
    storage().remove_item(key).unwrap();
    let (g, _) = guard(key, None);
    // Fill localStorage to its quota, down to the last character.
    let mut filled = Vec::new();
    for size in [512 * 1024, 64 * 1024, 8 * 1024, 1024, 128, 16, 1] {
        let chunk = "x".repeat(size);
        for _ in 0..4096 {
            let name = format!("filler-{}", filled.len());
            if storage().set_item(&name, &chunk).is_err() {
                break;
            }
            filled.push(name);
        }
    }
    let result = g.remember(session_body("s1", 600_000.0, true));
    for name in &filled {
        storage().remove_item(name).unwrap();
    }
    assert!(result.is_ok(), "a full storage never throws");
    let status = g.storage_status().unwrap();
    assert_eq!(text(&status, "status").as_deref(), Some("full"));
    assert_eq!(field(&status, "degraded").as_bool(), Some(true));
    // The record is still kept in memory: the verdict works.
    let v = g.local_verdict().unwrap();
    assert_eq!(text(&v, "state").as_deref(), Some("ACTIVE"));
}

#[wasm_bindgen_test]
async fn navigation_events_trigger_a_local_verdict_at_once() {
    let key = "t-events";
    storage().remove_item(key).unwrap();
    let (g, seen) = guard(key, None);
    g.remember(session_body("s1", 600_000.0, true)).unwrap();
    let attached = g.attach().unwrap();
    let _ = wasm_bindgen_futures::JsFuture::from(attached).await;
    let window = web_sys::window().unwrap();
    window
        .dispatch_event(&web_sys::Event::new("online").unwrap())
        .unwrap();
    window
        .dispatch_event(&web_sys::Event::new("popstate").unwrap())
        .unwrap();
    window
        .document()
        .unwrap()
        .dispatch_event(&web_sys::Event::new("visibilitychange").unwrap())
        .unwrap();
    let init = web_sys::StorageEventInit::new();
    init.set_key(Some(key));
    window
        .dispatch_event(&web_sys::StorageEvent::new_with_event_init_dict("storage", &init).unwrap())
        .unwrap();
    // An unrelated key is ignored.
    let other = web_sys::StorageEventInit::new();
    other.set_key(Some("someone-else"));
    window
        .dispatch_event(
            &web_sys::StorageEvent::new_with_event_init_dict("storage", &other).unwrap(),
        )
        .unwrap();
    // Local verdicts are delivered synchronously inside each handler's task; give the
    // spawned tasks one turn.
    let tick = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 50)
            .unwrap();
    });
    let _ = wasm_bindgen_futures::JsFuture::from(tick).await;
    let reasons: Vec<String> = seen
        .iter()
        .filter(|v| text(v, "source").as_deref() == Some("local"))
        .filter_map(|v| text(&v, "reason"))
        .collect();
    for expected in ["load", "online", "popstate", "visible", "storage"] {
        assert!(
            reasons.iter().any(|r| r == expected),
            "{expected} missing from {reasons:?}"
        );
    }
    assert_eq!(reasons.iter().filter(|r| *r == "storage").count(), 1);
    for v in seen
        .iter()
        .filter(|v| text(v, "source").as_deref() == Some("local"))
    {
        assert_eq!(text(&v, "state").as_deref(), Some("ACTIVE"));
    }
    g.detach();
}

#[wasm_bindgen_test]
async fn nothing_is_delivered_after_detach() {
    let key = "t-detached";
    storage().remove_item(key).unwrap();
    let (g, seen) = guard(key, None);
    g.remember(session_body("s-detached", 600_000.0, true))
        .unwrap();
    // The local verdict comes at once; the server's (here: no API, so an answer that
    // decides nothing) arrives after the guard was detached, and must not reach the page.
    let check = g.check("before-detach".into());
    // One turn of the microtask queue: the check's task starts and delivers the local
    // verdict, then waits for the network.
    let turn = js_sys::Promise::resolve(&JsValue::NULL);
    let _ = wasm_bindgen_futures::JsFuture::from(turn).await;
    let before = seen.length();
    assert!(before >= 1, "the local verdict is delivered at once");
    g.detach();
    let answered = wasm_bindgen_futures::JsFuture::from(check).await.unwrap();
    assert_ne!(text(&answered, "source").as_deref(), Some("local"));
    assert_eq!(
        seen.length(),
        before,
        "a verdict was delivered after detach"
    );
}
