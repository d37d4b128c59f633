//! The global "Checkout Session Settings" group (CONTRACT §4): the enable switch and the
//! timeout, their validation, and the terms a new session is started under. Settings are
//! read once at initiation and copied into the session, which is why a later change never
//! touches a session already started.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, Rejection};

/// Shortest allowed checkout window, in minutes.
pub const MIN_TIMEOUT_MINUTES: i64 = 5;
/// Longest allowed checkout window, in minutes.
pub const MAX_TIMEOUT_MINUTES: i64 = 300;
/// The window a fresh installation uses.
pub const DEFAULT_TIMEOUT_MINUTES: u16 = 10;

/// The "Checkout Session Settings" group. Always valid once constructed through
/// [`CheckoutSettings::apply`] or [`Default`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutSettings {
    /// "Enable Checkout Session Management". Off means a plain checkout: no single-session
    /// rule and no expiry (order placement stays idempotent).
    pub enabled: bool,
    /// "Checkout Session Timeout Duration (Minutes)", 5..=300.
    pub timeout_minutes: u16,
}

impl Default for CheckoutSettings {
    fn default() -> Self {
        CheckoutSettings {
            enabled: true,
            timeout_minutes: DEFAULT_TIMEOUT_MINUTES,
        }
    }
}

/// A partial change to the settings as an admin submits it. Numbers arrive as wide
/// integers so that out-of-range values (negative, huge) are refused with a clear message
/// instead of failing to parse.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsUpdate {
    /// New value of the enable switch, if changing.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// New timeout in minutes, if changing.
    #[serde(default)]
    pub timeout_minutes: Option<i64>,
}

/// The terms a session is started under, fixed for its whole life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionTerms {
    /// Whether session management applies: one live session per shopper, and expiry.
    pub managed: bool,
    /// `started_at + timeout` when managed; `None` when the session never expires.
    pub expires_at: Option<DateTime<Utc>>,
}

impl CheckoutSettings {
    /// Validates a timeout in minutes against the allowed range.
    pub fn validate_timeout(minutes: i64) -> Result<u16, Rejection> {
        if (MIN_TIMEOUT_MINUTES..=MAX_TIMEOUT_MINUTES).contains(&minutes) {
            // The range check above makes the narrowing lossless.
            Ok(minutes as u16)
        } else {
            Err(Rejection::with_message(
                ErrorCode::ValidationFailed,
                format!(
                    "timeout_minutes must be between {MIN_TIMEOUT_MINUTES} and {MAX_TIMEOUT_MINUTES}; got {minutes}"
                ),
            ))
        }
    }

    /// Returns the settings with `update` applied, or the reason it is refused. On
    /// refusal nothing changes: the caller keeps (and stores) `self`.
    pub fn apply(&self, update: &SettingsUpdate) -> Result<CheckoutSettings, Rejection> {
        let timeout_minutes = match update.timeout_minutes {
            Some(minutes) => Self::validate_timeout(minutes)?,
            None => self.timeout_minutes,
        };
        Ok(CheckoutSettings {
            enabled: update.enabled.unwrap_or(self.enabled),
            timeout_minutes,
        })
    }

    /// The configured window as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::minutes(i64::from(self.timeout_minutes))
    }

    /// The terms for a session started at `started_at` under these settings:
    /// `expires_at = started_at + timeout` when management is enabled.
    pub fn terms_at(&self, started_at: DateTime<Utc>) -> SessionTerms {
        SessionTerms {
            managed: self.enabled,
            expires_at: self.enabled.then(|| started_at + self.timeout()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_timeout(minutes: i64) -> Result<CheckoutSettings, Rejection> {
        CheckoutSettings::default().apply(&SettingsUpdate {
            enabled: None,
            timeout_minutes: Some(minutes),
        })
    }

    #[test]
    fn timeout_boundaries() {
        assert_eq!(
            with_timeout(4).unwrap_err().code,
            ErrorCode::ValidationFailed
        );
        assert_eq!(with_timeout(5).unwrap().timeout_minutes, 5);
        assert_eq!(with_timeout(300).unwrap().timeout_minutes, 300);
        assert_eq!(
            with_timeout(301).unwrap_err().code,
            ErrorCode::ValidationFailed
        );
        assert!(with_timeout(-10).is_err());
        assert!(with_timeout(i64::MAX).is_err());
    }

    #[test]
    fn defaults_are_enabled_and_ten_minutes() {
        let s = CheckoutSettings::default();
        assert!(s.enabled);
        assert_eq!(s.timeout_minutes, 10);
    }

    #[test]
    fn expiry_is_start_plus_timeout_and_absent_when_disabled() {
        let start = DateTime::parse_from_rfc3339("2026-01-31T23:55:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let terms = CheckoutSettings::default().terms_at(start);
        assert!(terms.managed);
        assert_eq!(
            terms.expires_at.unwrap().to_rfc3339(),
            "2026-02-01T00:05:00+00:00"
        );
        let off = CheckoutSettings {
            enabled: false,
            timeout_minutes: 10,
        };
        assert_eq!(
            off.terms_at(start),
            SessionTerms {
                managed: false,
                expires_at: None
            }
        );
    }

    #[test]
    fn refused_update_changes_nothing_and_partial_update_keeps_the_rest() {
        let current = CheckoutSettings {
            enabled: false,
            timeout_minutes: 42,
        };
        assert!(current
            .apply(&SettingsUpdate {
                enabled: Some(true),
                timeout_minutes: Some(0)
            })
            .is_err());
        let next = current
            .apply(&SettingsUpdate {
                enabled: Some(true),
                timeout_minutes: None,
            })
            .unwrap();
        assert_eq!(
            next,
            CheckoutSettings {
                enabled: true,
                timeout_minutes: 42
            }
        );
    }
}
