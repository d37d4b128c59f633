//! Where the recovery record lives: `localStorage` through gloo-storage, so every tab of
//! the shop shares it (and hears changes through `storage` events). Storage that is
//! disabled, full or holds garbage never breaks checkout: the record is also kept in
//! memory, the health says what went wrong, and the module works server-only.

use std::cell::RefCell;

use checkout_core::recovery::RecoveryRecord;
use gloo_storage::{LocalStorage, Storage};
use serde::Serialize;

/// What state browser storage is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
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
    /// Whether the module has fallen back to memory (server-only across reloads).
    pub fn degraded(&self) -> bool {
        matches!(self, StorageHealth::Unavailable(_) | StorageHealth::Full(_))
    }
}

/// The record store for one key.
#[derive(Debug)]
pub struct RecordStore {
    key: String,
    health: RefCell<StorageHealth>,
    /// The stored text last parsed, and what it parsed to: an unchanged text is not
    /// parsed again (a verdict on every navigation stays in microseconds).
    parsed: RefCell<Option<(String, RecoveryRecord)>>,
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
            health: RefCell::new(health),
            parsed: RefCell::new(None),
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

    fn usable(&self) -> bool {
        !matches!(*self.health.borrow(), StorageHealth::Unavailable(_))
    }

    /// Reads the record. Anything the core refuses is removed and reported as corrupt.
    pub fn load(&self) -> Option<RecoveryRecord> {
        if !self.usable() {
            return None;
        }
        let raw = LocalStorage::raw().get_item(&self.key).ok().flatten()?;
        if let Some((text, record)) = self.parsed.borrow().as_ref() {
            if *text == raw {
                return Some(record.clone());
            }
        }
        match RecoveryRecord::parse(&raw) {
            Ok(record) => {
                *self.parsed.borrow_mut() = Some((raw, record.clone()));
                Some(record)
            }
            Err(error) => {
                LocalStorage::delete(&self.key);
                *self.health.borrow_mut() = StorageHealth::Corrupt(error.to_string());
                None
            }
        }
    }

    /// Writes the record; a failure (quota) is reported, never thrown.
    pub fn save(&self, record: &RecoveryRecord) {
        if !self.usable() {
            return;
        }
        match LocalStorage::set(&self.key, record) {
            Ok(()) => {
                if self.health().degraded() {
                    *self.health.borrow_mut() = StorageHealth::Ok;
                }
            }
            Err(error) => {
                *self.health.borrow_mut() = StorageHealth::Full(error.to_string());
            }
        }
    }

    /// Removes the record.
    pub fn clear(&self) {
        if self.usable() {
            LocalStorage::delete(&self.key);
        }
    }
}
