//! The shop's customer ids its backend named, resolved to ours (CONTRACT §24), per
//! instance: the mapping never changes (a customer's id is never reused or deleted), so a
//! customer seen before costs the backend call no lookup. The e-mail last stored is kept
//! with it, so a changed e-mail is still written.

use std::{collections::HashMap, sync::Mutex};

/// Most customers remembered; past it the memory starts again.
const MAX_KNOWN: usize = 100_000;

/// The shop's customer ids already resolved: ours, with the e-mail last stored.
#[derive(Debug, Default)]
pub struct Customers(Mutex<HashMap<String, (String, Option<String>)>>);

impl Customers {
    pub(super) fn get(&self, id: &str) -> Option<(String, Option<String>)> {
        self.0.lock().ok()?.get(id).cloned()
    }

    pub(super) fn put(&self, id: &str, ours: &str, email: Option<&str>) {
        if let Ok(mut known) = self.0.lock() {
            if known.len() >= MAX_KNOWN {
                known.clear();
            }
            known.insert(id.to_owned(), (ours.to_owned(), email.map(str::to_owned)));
        }
    }
}
