//! Where the recovery record lives: `localStorage` through gloo-storage, so every tab of
//! the shop shares it (and hears changes through `storage` events). Storage that is
//! disabled, full or holds garbage never breaks checkout: the record is also kept in
//! memory, the health says what went wrong, and the module works server-only.
//!
//! The text is parsed and written with the browser's own `JSON` (serde_json would add a
//! third of the module's size); the parsed value is read with the module's `de` reader and written
//! with serde-wasm-bindgen, and the core's checks apply as they do natively.

use std::cell::RefCell;

use checkout_core::recovery::{RecordError, RecoveryRecord};
use gloo_storage::{LocalStorage, Storage};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::to_js;

/// What state browser storage is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageHealth {
    /// Reads and writes work.
    Ok,
    /// `localStorage` cannot be used at all (disabled, blocked, private mode).
    Unavailable(String),
    /// A write failed (quota exceeded); the record is kept in memory only.
    Full(String),
    /// A stored record was unreadable and was discarded.
    Corrupt(String),
}

impl StorageHealth {
    /// `ok`, `unavailable`, `full` or `corrupt`.
    pub fn status(&self) -> &'static str {
        match self {
            StorageHealth::Ok => "ok",
            StorageHealth::Unavailable(_) => "unavailable",
            StorageHealth::Full(_) => "full",
            StorageHealth::Corrupt(_) => "corrupt",
        }
    }

    /// What went wrong, when something did.
    pub fn reason(&self) -> Option<&str> {
        match self {
            StorageHealth::Ok => None,
            StorageHealth::Unavailable(r) | StorageHealth::Full(r) | StorageHealth::Corrupt(r) => {
                Some(r)
            }
        }
    }

    /// `{status, reason?, degraded}` for JavaScript.
    pub fn to_js(&self) -> Result<JsValue, JsValue> {
        crate::error::to_js(&StorageStatus {
            status: self.status(),
            reason: self.reason(),
            degraded: self.degraded(),
        })
    }

    /// Whether the module has fallen back to memory (server-only across reloads).
    pub fn degraded(&self) -> bool {
        matches!(self, StorageHealth::Unavailable(_) | StorageHealth::Full(_))
    }
}

/// What `storageStatus()` returns.
#[derive(Debug, serde::Serialize, tsify::Tsify)]
#[tsify(missing_as_null)]
pub struct StorageStatus<'a> {
    /// Whether the browser's storage works: `ok`, or why not.
    #[tsify(type = "\"ok\" | \"unavailable\" | \"full\" | \"corrupt\"")]
    status: &'static str,
    /// What went wrong, when something did.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    /// The module fell back to memory: the record lasts only as long as the page.
    degraded: bool,
}

/// The record store for one key.
#[derive(Debug)]
pub struct RecordStore {
    key: String,
    health: RefCell<StorageHealth>,
    /// The stored text last read or written, as the JavaScript string itself: an
    /// unchanged record costs one string comparison in JavaScript, no copy into wasm
    /// memory and no parse (a verdict on every navigation stays in microseconds).
    seen: RefCell<JsValue>,
    /// `localStorage` and the key as JavaScript values, looked up once (not on every
    /// read); `None` when storage was unusable at the start.
    handle: Option<(JsValue, JsValue)>,
}

/// What [`RecordStore::load_if_changed`] found.
#[derive(Debug)]
pub enum Loaded {
    /// The same text as last read or written.
    Unchanged,
    /// A different, valid record (another tab wrote it).
    Changed(Box<RecoveryRecord>),
    /// Nothing usable: no record, storage unusable, or a corrupt record (removed).
    Nothing,
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// A `Storage` whose `getItem` returns the JavaScript string as is (web-sys copies
    /// it into a Rust `String`).
    #[wasm_bindgen(js_name = Storage)]
    type RawStorage;

    #[wasm_bindgen(method, catch, js_name = getItem)]
    fn get_item(this: &RawStorage, key: &JsValue) -> Result<JsValue, JsValue>;
}

/// Reads stored text as a record: the core's checks, with the browser's JSON parser
/// (the shared record vectors hold it to the native reader's results).
pub fn parse_record(text: &str) -> Result<RecoveryRecord, RecordError> {
    RecoveryRecord::check_size(text.len())?;
    let value = js_sys::JSON::parse(text).map_err(|e| RecordError::Unreadable(describe(&e)))?;
    let version = js_sys::Reflect::get(&value, &JsValue::from_str("version"))
        .ok()
        .and_then(|v| v.as_f64())
        .filter(|v| v.fract() == 0.0 && *v >= 0.0)
        .map(|v| v as u64);
    RecoveryRecord::check_version(version)?;
    let record: RecoveryRecord =
        crate::de::from_js(&value).map_err(|e| RecordError::Unreadable(e.to_string()))?;
    record.validated()
}

/// A thrown JavaScript value as text (`QuotaExceededError: …`, `SyntaxError: …`).
fn describe(error: &JsValue) -> String {
    match error.dyn_ref::<js_sys::Error>() {
        Some(e) => format!("{}: {}", String::from(e.name()), String::from(e.message())),
        None => error
            .as_string()
            .unwrap_or_else(|| "unknown error".to_owned()),
    }
}

fn storage_usable() -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let storage = window
        .local_storage()
        .map_err(|_| "localStorage is blocked".to_owned())?
        .ok_or("localStorage is disabled")?;
    let probe = "__checkout_guard_probe";
    storage
        .set_item(probe, "1")
        .map_err(|_| "localStorage refuses writes".to_owned())?;
    let _ = storage.remove_item(probe);
    Ok(())
}

impl RecordStore {
    /// A store for `key`, probing whether storage works at all.
    pub fn new(key: &str) -> RecordStore {
        let health = match storage_usable() {
            Ok(()) => StorageHealth::Ok,
            Err(reason) => StorageHealth::Unavailable(reason),
        };
        RecordStore {
            key: key.to_owned(),
            handle: matches!(health, StorageHealth::Ok)
                .then(|| (LocalStorage::raw().into(), JsValue::from_str(key))),
            health: RefCell::new(health),
            seen: RefCell::new(JsValue::NULL),
        }
    }

    /// The storage key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The current health.
    pub fn health(&self) -> StorageHealth {
        self.health.borrow().clone()
    }

    /// Whether the module has fallen back to memory.
    pub fn degraded(&self) -> bool {
        self.health.borrow().degraded()
    }

    /// Storage is unusable exactly when it was found so at the start (no handle).
    fn usable(&self) -> bool {
        self.handle.is_some()
    }

    /// Reads the record if its stored text changed since it was last read or written.
    /// Anything the core refuses is removed and reported as corrupt.
    pub fn load_if_changed(&self) -> Loaded {
        let Some((storage, key)) = &self.handle else {
            return Loaded::Nothing;
        };
        let raw = match storage.unchecked_ref::<RawStorage>().get_item(key) {
            Ok(raw) if !raw.is_null() => raw,
            _ => return Loaded::Nothing,
        };
        if raw == *self.seen.borrow() {
            return Loaded::Unchanged;
        }
        let parsed = raw
            .as_string()
            .ok_or(RecordError::Inconsistent("not a string"));
        match parsed.and_then(|text| parse_record(&text)) {
            Ok(record) => {
                *self.seen.borrow_mut() = raw;
                Loaded::Changed(Box::new(record))
            }
            Err(error) => {
                LocalStorage::delete(&self.key);
                *self.seen.borrow_mut() = JsValue::NULL;
                *self.health.borrow_mut() = StorageHealth::Corrupt(error.to_string());
                Loaded::Nothing
            }
        }
    }

    /// Reads the record, changed or not.
    pub fn load(&self) -> Option<RecoveryRecord> {
        *self.seen.borrow_mut() = JsValue::NULL;
        match self.load_if_changed() {
            Loaded::Changed(record) => Some(*record),
            Loaded::Unchanged | Loaded::Nothing => None,
        }
    }

    /// Writes the record; a failure (quota) is reported, never thrown.
    pub fn save(&self, record: &RecoveryRecord) {
        if !self.usable() {
            return;
        }
        let written = to_js(record)
            .and_then(|value| js_sys::JSON::stringify(&value))
            .and_then(|text| {
                LocalStorage::raw().set_item(&self.key, &String::from(&text))?;
                Ok(text)
            });
        match written {
            Ok(text) => {
                *self.seen.borrow_mut() = text.into();
                if self.health().degraded() {
                    *self.health.borrow_mut() = StorageHealth::Ok;
                }
            }
            Err(error) => {
                *self.health.borrow_mut() = StorageHealth::Full(describe(&error));
            }
        }
    }

    /// Removes the record.
    pub fn clear(&self) {
        *self.seen.borrow_mut() = JsValue::NULL;
        if self.usable() {
            LocalStorage::delete(&self.key);
        }
    }
}
