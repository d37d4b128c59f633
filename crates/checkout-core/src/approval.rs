//! Approval of submitted orders (CONTRACT §15): "Submit for Approval" makes an order
//! `PENDING_APPROVAL`; an approver (the admin, or a shopper the admin made an approver)
//! approves it — bound to the digest of the snapshot that was submitted, so nobody
//! approves something other than what they looked at — or rejects it with a reason.
//! An order is decided once; a shopper never decides their own order.

use crate::error::{ErrorCode, Rejection};

/// The status of an order waiting for an approver.
pub const PENDING: &str = "PENDING_APPROVAL";
/// The status of an approved order.
pub const APPROVED: &str = "APPROVED";
/// The status of a rejected order.
pub const REJECTED: &str = "REJECTED";
/// Longest reason for a rejection, in characters.
pub const MAX_REASON: usize = 500;

/// What an approver decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Approve the order whose submitted snapshot has this digest.
    Approve {
        /// The digest the approver saw.
        digest: String,
    },
    /// Reject the order, saying why.
    Reject {
        /// What the shopper reads.
        reason: String,
    },
}

/// The name recorded as the decider of a decision made with the admin's bearer token
/// (capitalised: no shopper's username can be it).
pub const ADMIN_NAME: &str = "Admin";

/// Who decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approver {
    /// The shop's admin (bearer token).
    Admin,
    /// A shopper with the approver role.
    Shopper {
        /// Their user id.
        user_id: String,
    },
}

/// The order as the decision needs it.
#[derive(Debug, Clone, Copy)]
pub struct Submitted<'a> {
    /// Its status now.
    pub status: &'a str,
    /// The shopper who submitted it.
    pub user_id: &'a str,
    /// The digest of the submitted snapshot.
    pub digest: &'a str,
}

/// Judges a decision on an order: it must be waiting (`CHECKOUT_COMPLETED` once
/// decided: its one outcome is known), not the approver's own (`FORBIDDEN`), approved
/// with the digest of what was submitted (`SNAPSHOT_MISMATCH`), rejected with a reason
/// of 1 to [`MAX_REASON`] characters and no control character (`VALIDATION_FAILED`).
/// Returns the new status.
pub fn decide(
    order: Submitted<'_>,
    approver: &Approver,
    decision: &Decision,
) -> Result<&'static str, Rejection> {
    if order.status != PENDING {
        return Err(Rejection::with_message(
            ErrorCode::CheckoutCompleted,
            format!(
                "This order is {} already: it is decided once.",
                order.status.to_lowercase().replace('_', " ")
            ),
        ));
    }
    if let Approver::Shopper { user_id } = approver {
        if user_id == order.user_id {
            return Err(Rejection::with_message(
                ErrorCode::Forbidden,
                "You cannot decide on your own order: another approver must.",
            ));
        }
    }
    match decision {
        Decision::Approve { digest } if digest == order.digest => Ok(APPROVED),
        Decision::Approve { .. } => Err(Rejection::with_message(
            ErrorCode::SnapshotMismatch,
            "This is not the order that was submitted. Look at it again before approving.",
        )),
        Decision::Reject { reason } => {
            let length = reason.trim().chars().count();
            if (1..=MAX_REASON).contains(&length) && !reason.chars().any(char::is_control) {
                Ok(REJECTED)
            } else {
                Err(Rejection::with_message(
                    ErrorCode::ValidationFailed,
                    format!("Say why the order is rejected, in 1 to {MAX_REASON} characters."),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: Submitted<'static> = Submitted {
        status: PENDING,
        user_id: "buyer",
        digest: "sha256:aa",
    };

    fn approve(digest: &str) -> Decision {
        Decision::Approve {
            digest: digest.into(),
        }
    }

    fn boss() -> Approver {
        Approver::Shopper {
            user_id: "boss".into(),
        }
    }

    #[test]
    fn approve_with_the_submitted_digest_or_reject_with_a_reason() {
        assert_eq!(
            decide(ORDER, &boss(), &approve("sha256:aa")).unwrap(),
            APPROVED
        );
        assert_eq!(
            decide(ORDER, &Approver::Admin, &approve("sha256:aa")).unwrap(),
            APPROVED
        );
        assert_eq!(
            decide(ORDER, &boss(), &approve("sha256:bb"))
                .unwrap_err()
                .code,
            ErrorCode::SnapshotMismatch
        );
        let reject = |reason: &str| Decision::Reject {
            reason: reason.into(),
        };
        assert_eq!(
            decide(ORDER, &boss(), &reject("Over budget")).unwrap(),
            REJECTED
        );
        for bad in [
            "",
            "   ",
            "\u{0}",
            "two\nlines",
            &"x".repeat(MAX_REASON + 1),
        ] {
            assert_eq!(
                decide(ORDER, &boss(), &reject(bad)).unwrap_err().code,
                ErrorCode::ValidationFailed
            );
        }
        assert!(decide(ORDER, &boss(), &reject(&"é".repeat(MAX_REASON))).is_ok());
    }

    #[test]
    fn decided_once_and_never_by_the_buyer() {
        let own = Approver::Shopper {
            user_id: "buyer".into(),
        };
        assert_eq!(
            decide(ORDER, &own, &approve("sha256:aa")).unwrap_err().code,
            ErrorCode::Forbidden
        );
        for status in [APPROVED, REJECTED, "PLACED"] {
            let decided = Submitted { status, ..ORDER };
            assert_eq!(
                decide(decided, &boss(), &approve("sha256:aa"))
                    .unwrap_err()
                    .code,
                ErrorCode::CheckoutCompleted
            );
        }
    }
}
