//! What the server's parts take from the settings: limits, connection limits and
//! tunables, in their own types and units.

use std::time::Duration;

use super::Config;

impl Config {
    /// The throttling and resource limits.
    pub fn limits(&self) -> crate::auth::throttle::Limits {
        use crate::auth::throttle::Limit;
        let login_window = Duration::from_secs(self.login_window_secs.max(1));
        crate::auth::throttle::Limits {
            concurrent_hashes: self.max_concurrent_hashes.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
            }),
            hash_wait: Duration::from_millis(self.hash_wait_ms),
            login_failures_per_account: Limit {
                max: self.login_failures_per_account,
                window: login_window,
            },
            login_failures_per_address: Limit {
                max: self.login_failures_per_address,
                window: login_window,
            },
            signups_per_address: Limit {
                max: self.signups_per_address_per_hour,
                window: Duration::from_secs(3600),
            },
            initiations_per_shopper: Limit {
                max: self.initiations_per_shopper_per_minute,
                window: Duration::from_secs(60),
            },
            changes_per_shopper: Limit {
                max: self.changes_per_shopper_per_minute,
                window: Duration::from_secs(60),
            },
            card_attempts_per_shopper: Limit {
                max: self.card_attempts_per_shopper_per_hour,
                window: Duration::from_secs(3600),
            },
            card_attempts_per_address: Limit {
                max: self.card_attempts_per_address_per_hour,
                window: Duration::from_secs(3600),
            },
        }
    }

    /// Connection limits and timeouts.
    pub fn connection_limits(&self) -> crate::ops::serve::ConnectionLimits {
        crate::ops::serve::ConnectionLimits {
            header_read: Duration::from_secs(self.header_read_timeout_secs),
            body_read: Duration::from_secs(self.body_read_timeout_secs),
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            max_connections_per_address: usize::try_from(self.max_connections_per_address)
                .unwrap_or(usize::MAX),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
        }
    }

    /// The operator tunables.
    pub fn tuning(&self) -> crate::state::Tuning {
        crate::state::Tuning {
            argon2_memory_kib: self.argon2_memory_kib,
            gateway_timeout: Duration::from_millis(self.gateway_timeout_ms),
            reconcile_after: Duration::from_secs(self.reconcile_after_secs),
            payment_action_timeout_secs: self.payment_action_timeout_secs,
            sweep_every: Duration::from_millis(self.sweep_every_ms.max(10)),
            idempotency_keys_per_shopper: self.idempotency_keys_per_shopper,
            session_retention: Duration::from_secs(self.session_retention_secs),
            recovery_link_window: checkout_core::restore::window(self.recovery_link_window_secs)
                .unwrap_or(checkout_core::restore::DEFAULT_WINDOW),
            outbox_poll: Duration::from_millis(self.outbox_poll_ms.max(10)),
        }
    }
}
