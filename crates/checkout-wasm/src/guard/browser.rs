//! What the guard asks of the browser itself: a timer, whether the page is visible, and
//! random keys.

use web_sys::VisibilityState;

/// Resolves after `ms` milliseconds (`setTimeout`).
pub(super) async fn sleep_ms(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let ms = i32::try_from(ms).unwrap_or(i32::MAX);
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Whether the page is visible (a page without a document counts as visible).
pub(super) fn page_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_none_or(|d| d.visibility_state() == VisibilityState::Visible)
}

/// A fresh idempotency key: `crypto.randomUUID()` (secure contexts), otherwise a key
/// from `crypto.getRandomValues`.
pub(super) fn random_key() -> String {
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
