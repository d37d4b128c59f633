//! The server's clock: wall time plus an offset that only `--test-clock` can move
//! (`POST /api/v1/admin/test-clock`), like Stripe's test clocks. The core never reads a
//! clock; handlers take `now` from here once per request and pass it in.

use std::sync::{
    atomic::{AtomicI64, Ordering},
    Arc,
};

use chrono::{DateTime, Duration, Utc};

/// Wall clock with a test offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The current time as the server sees it, in whole milliseconds: the precision it
    /// is stored with, so an answer built from `now` and a later read of the same row
    /// agree to the digit.
    pub fn now(&self) -> DateTime<Utc> {
        let now = Utc::now() + Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed));
        from_ms(to_ms(now))
    }

    /// Moves the clock forward (never backward: a negative advance is refused by the
    /// caller, so expiry decisions never go back on themselves).
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }
}

/// Milliseconds since the epoch, the storage form of instants.
pub fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Back from storage; out-of-range values (never written by us) clamp to the epoch.
pub fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
