//! Bounded resources against floods (CONTRACT §11): at most a few password hashes at a
//! time (Argon2id takes ~19 MiB each, so hundreds at once would take gigabytes), and
//! fixed-window counters for wrong passwords per account and per client address,
//! sign-ups per address, and per shopper: initiations and changes to a checkout. A
//! refusal is `RATE_LIMITED` (429) or, for a hash that could not start in time,
//! `SERVICE_UNAVAILABLE` (503), both with `Retry-After`.
//!
//! These counters live in this instance's memory, bounded in size; several instances
//! each count on their own (an attacker spreading over N instances gets N times the
//! limit, still bounded). Card payments sent to the provider (card testing with stolen
//! numbers) are counted in the database instead ([`card_attempt`]), per shopper and per
//! client address: a restart does not reset them and all instances share them. Windows
//! are measured on the server's clock, so the test clock moves them too.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use checkout_core::{ErrorCode, Rejection};
use chrono::{DateTime, Utc};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::http::error::ApiError;

/// At most this many keys are counted per limit; beyond it the oldest windows go first.
pub const MAX_TRACKED_KEYS: usize = 50_000;

/// "At most `max` in `window`".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// How many events a key may have in one window.
    pub max: u32,
    /// The window's length.
    pub window: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: DateTime<Utc>,
    count: u32,
}

/// One limit, counted per key (an account, an address, a shopper).
#[derive(Debug)]
pub struct Throttle {
    what: &'static str,
    limit: Limit,
    windows: Mutex<HashMap<String, Window>>,
}

impl Throttle {
    /// A throttle for `limit`; `what` names it in the refusal's message.
    pub fn new(what: &'static str, limit: Limit) -> Throttle {
        Throttle {
            what,
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn window_len(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.limit.window).unwrap_or(chrono::Duration::hours(1))
    }

    fn windows(&self) -> std::sync::MutexGuard<'_, HashMap<String, Window>> {
        self.windows.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refuses when `key` used up its window; counts nothing.
    pub fn check(&self, key: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
        self.refused(&self.windows(), key, now)
    }

    fn refused(
        &self,
        windows: &HashMap<String, Window>,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        match windows.get(key) {
            Some(w) if w.count >= self.limit.max && now < w.started + self.window_len() => {
                Err(self.refusal(w.started + self.window_len() - now))
            }
            _ => Ok(()),
        }
    }

    /// Counts one event for `key`.
    pub fn count(&self, key: &str, now: DateTime<Utc>) {
        self.count_in(&mut self.windows(), key, now);
    }

    fn count_in(&self, windows: &mut HashMap<String, Window>, key: &str, now: DateTime<Utc>) {
        let len = self.window_len();
        if windows.len() >= MAX_TRACKED_KEYS && !windows.contains_key(key) {
            windows.retain(|_, w| now < w.started + len);
            if windows.len() >= MAX_TRACKED_KEYS {
                let oldest = windows
                    .iter()
                    .min_by_key(|(_, w)| w.started)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    windows.remove(&oldest);
                }
            }
        }
        let window = windows.entry(key.to_owned()).or_insert(Window {
            started: now,
            count: 0,
        });
        if now >= window.started + len {
            *window = Window {
                started: now,
                count: 0,
            };
        }
        window.count = window.count.saturating_add(1);
    }

    /// Checks, then counts: for events that count whatever their outcome.
    pub fn hit(&self, key: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
        // One lock for both, so that parallel requests cannot all pass the check first.
        let mut windows = self.windows();
        self.refused(&windows, key, now)?;
        self.count_in(&mut windows, key, now);
        Ok(())
    }

    /// Takes back one event of `key` (an attempt counted before its outcome was known,
    /// which then did not count: a right password, a failed initiation).
    pub fn uncount(&self, key: &str) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(window) = windows.get_mut(key) {
            window.count = window.count.saturating_sub(1);
        }
    }

    /// Forgets `key` (a right password ends the account's run of wrong ones).
    pub fn forget(&self, key: &str) {
        self.windows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// How many keys are counted now (for tests and metrics).
    pub fn tracked(&self) -> usize {
        self.windows.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn refusal(&self, left: chrono::Duration) -> ApiError {
        refusal(self.what, left)
    }
}

fn refusal(what: &str, left: chrono::Duration) -> ApiError {
    let secs = u64::try_from(left.num_seconds()).unwrap_or(0).max(1);
    ApiError::RetryLater {
        rejection: Rejection::with_message(
            ErrorCode::RateLimited,
            format!("Too many {what}. Please wait {secs} s and try again."),
        ),
        after_secs: secs,
    }
}

/// Counts one card payment about to be sent to the provider, for the shopper and for
/// the client's address, in the request's write transaction; refuses (counting nothing)
/// when either has used up its hour.
pub async fn card_attempt(
    guards: &Guards,
    tx: &mut crate::db::WriteTx,
    shopper: &str,
    address: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let (per_shopper, per_address) = guards.card_attempts;
    let shopper_key = format!("card:shopper:{shopper}");
    let mut keys = vec![(
        shopper_key,
        per_shopper,
        "card payments tried in a short time",
    )];
    if address.is_some() {
        let what = "card payments tried from your network in a short time";
        keys.push((
            format!("card:address:{}", address_key(address)),
            per_address,
            what,
        ));
    }
    let mut counted: Vec<&str> = Vec::new();
    for (key, limit, what) in &keys {
        let window = i64::try_from(limit.window.as_millis()).unwrap_or(i64::MAX);
        match crate::db::limits::hit(tx, key, limit.max, window, now).await? {
            Ok(()) => counted.push(key),
            Err(ends_at) => {
                for key in counted {
                    crate::db::limits::uncount(tx, key).await?;
                }
                let left = crate::clock::from_ms(ends_at) - now;
                return Err(refusal(what, left));
            }
        }
    }
    Ok(())
}

/// The limits an operator sets (server flags; see the README).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Password hashes computed at once.
    pub concurrent_hashes: usize,
    /// How long a sign-in waits for a free hashing slot before `SERVICE_UNAVAILABLE`.
    pub hash_wait: Duration,
    /// Wrong passwords per account.
    pub login_failures_per_account: Limit,
    /// Wrong passwords per client address.
    pub login_failures_per_address: Limit,
    /// Sign-ups per client address.
    pub signups_per_address: Limit,
    /// Checkouts started per shopper.
    pub initiations_per_shopper: Limit,
    /// Changes to checkouts (shipping, payment, voucher, line removal) per shopper.
    pub changes_per_shopper: Limit,
    /// Card payments sent to the provider per shopper.
    pub card_attempts_per_shopper: Limit,
    /// Card payments sent to the provider per client address (an IPv6 address counts
    /// by its /64).
    pub card_attempts_per_address: Limit,
}

/// Work for a hashing thread.
type HashJob = Box<dyn FnOnce() + Send>;

/// Every guard of one instance.
#[derive(Debug)]
pub struct Guards {
    hashing: Semaphore,
    /// The hashing threads' queue: one thread per slot, started once. (Hashing on
    /// tokio's blocking pool started a new thread whenever the last one had not yet
    /// gone idle, and every such thread kept its 19 MiB in its own malloc arena: 200
    /// concurrent logins still peaked at +346 MiB with two slots.)
    jobs: Mutex<std::sync::mpsc::Sender<HashJob>>,
    hash_wait: Duration,
    /// Wrong passwords, by username.
    pub login_account: Throttle,
    /// Wrong passwords, by client address.
    pub login_address: Throttle,
    /// Sign-ups, by client address.
    pub signup_address: Throttle,
    /// Initiations, by shopper id.
    pub initiations: Throttle,
    /// Checkout changes, by shopper id.
    pub changes: Throttle,
    /// Card payments per shopper and per address (counted in the database).
    card_attempts: (Limit, Limit),
}

impl Guards {
    /// The guards for `limits`.
    pub fn new(limits: Limits) -> Arc<Guards> {
        let threads = limits.concurrent_hashes.max(1);
        let (jobs, queue) = std::sync::mpsc::channel::<HashJob>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = Arc::clone(&queue);
            let _ = std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || loop {
                    let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    match job {
                        Ok(job) => job(),
                        // The server is gone.
                        Err(_) => break,
                    }
                });
        }
        Arc::new(Guards {
            jobs: Mutex::new(jobs),
            hashing: Semaphore::new(threads),
            hash_wait: limits.hash_wait,
            login_account: Throttle::new(
                "wrong passwords for this account",
                limits.login_failures_per_account,
            ),
            login_address: Throttle::new(
                "wrong passwords from your address",
                limits.login_failures_per_address,
            ),
            signup_address: Throttle::new("sign-ups from your address", limits.signups_per_address),
            initiations: Throttle::new(
                "checkouts started in a short time",
                limits.initiations_per_shopper,
            ),
            changes: Throttle::new(
                "changes to your checkout in a short time",
                limits.changes_per_shopper,
            ),
            card_attempts: (
                limits.card_attempts_per_shopper,
                limits.card_attempts_per_address,
            ),
        })
    }

    /// Runs `work` (a password hash) on one of the hashing threads, once a slot is free
    /// (waiting at most the configured time, else `SERVICE_UNAVAILABLE`).
    pub async fn hash<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let _slot = self.hashing_slot().await?;
        let (done, answer) = tokio::sync::oneshot::channel();
        let job: HashJob = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(job)
            .map_err(|_| ApiError::Internal("the hashing threads have stopped".into()))?;
        answer
            .await
            .map_err(|_| ApiError::Internal("a hashing thread failed".into()))
    }

    /// A slot to hash a password in, waiting at most the configured time.
    async fn hashing_slot(&self) -> Result<SemaphorePermit<'_>, ApiError> {
        match tokio::time::timeout(self.hash_wait, self.hashing.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => {
                crate::ops::metrics::hash_refused();
                Err(ApiError::RetryLater {
                    rejection: Rejection::with_message(
                        ErrorCode::ServiceUnavailable,
                        "Many people are signing in right now. Please try again in a moment.",
                    ),
                    after_secs: 1,
                })
            }
        }
    }
}

/// The key of a client address for the address limits: an IPv4 address, or the /64 of
/// an IPv6 one (one host owns at least a /64).
pub fn address_key(ip: Option<IpAddr>) -> String {
    match ip {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap_or_default()
    }

    fn code(e: ApiError) -> (ErrorCode, u64) {
        match e {
            ApiError::RetryLater {
                rejection,
                after_secs,
            } => (rejection.code, after_secs),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_key_gets_its_limit_per_window_then_waits_for_the_next() {
        let t = Throttle::new(
            "tries",
            Limit {
                max: 3,
                window: Duration::from_secs(60),
            },
        );
        for _ in 0..3 {
            t.hit("a", at(0)).unwrap();
        }
        assert_eq!(
            code(t.hit("a", at(10)).unwrap_err()),
            (ErrorCode::RateLimited, 50)
        );
        t.hit("b", at(10)).unwrap(); // another key is not affected
        t.hit("a", at(60)).unwrap(); // a new window
        t.forget("a");
        assert!(t.check("a", at(61)).is_ok());
    }

    #[test]
    fn the_table_stays_bounded() {
        let t = Throttle::new(
            "tries",
            Limit {
                max: 1,
                window: Duration::from_secs(3600),
            },
        );
        // All in one window: nothing expires, so the oldest windows make room.
        for i in 0..(MAX_TRACKED_KEYS + 100) {
            t.count(&format!("k{i}"), at(0));
        }
        assert_eq!(t.tracked(), MAX_TRACKED_KEYS);
        // The newest key is still limited.
        let newest = format!("k{}", MAX_TRACKED_KEYS + 99);
        assert!(t.check(&newest, at(10)).is_err());
        // Expired windows go first.
        t.count("late", at(7_200));
        assert_eq!(t.tracked(), 1);
    }

    #[test]
    fn addresses_are_keyed_by_host() {
        assert_eq!(address_key("127.0.0.1".parse().ok()), "127.0.0.1");
        assert_eq!(address_key("::ffff:10.1.2.3".parse().ok()), "10.1.2.3");
        assert_eq!(
            address_key("2001:db8:1:2:aaaa::1".parse().ok()),
            address_key("2001:db8:1:2:bbbb::9".parse().ok())
        );
        assert_eq!(address_key(None), "unknown");
    }
}
