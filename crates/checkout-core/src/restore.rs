//! Recovery links (CONTRACT §16): bringing back a checkout that expired or ended when
//! the shopper signed out, on any device, once the shopper signs in.
//!
//! A link carries a token `cgl1.<payload>.<mac>`, sealed like a recovery token (see
//! [`crate::token`]) but with its own prefix under the MAC, so a link is never taken for
//! a recovery token or the other way round. It names the checkout and the shopper and
//! expires a window after the checkout ended (default 7 days): asking for the link again
//! never extends it. It works once: restoring records on the old checkout which
//! checkout replaced it, and a checkout that was restored is `TOKEN_REPLAYED`.
//!
//! [`reprice`] brings the old lines back with today's offer and lists what changed.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    changes::{between, ChangeItem, ChangeKind},
    error::{ErrorCode, Rejection},
    lifecycle::{InactiveReason, SessionStatus},
    offer::Offer,
    snapshot::{PricingInput, Snapshot},
    token::{open, seal, SigningKey},
    verdict::{effective_status, SessionView, Viewer},
};

const PREFIX: &str = "cgl1";

/// How long a link works after its checkout ended, unless configured.
pub const DEFAULT_WINDOW: Duration = Duration::days(7);
/// The shortest window that may be configured.
pub const MIN_WINDOW: Duration = Duration::hours(1);
/// The longest window that may be configured (old ended checkouts are purged later).
pub const MAX_WINDOW: Duration = Duration::days(90);

/// What a recovery link asserts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkClaims {
    /// The ended checkout.
    pub sid: String,
    /// Its shopper.
    pub uid: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds: the checkout's end plus the window.
    pub exp: i64,
}

/// A window in seconds, if it is within [`MIN_WINDOW`]..=[`MAX_WINDOW`].
pub fn window(seconds: i64) -> Result<Duration, Rejection> {
    let window = Duration::try_seconds(seconds).unwrap_or(Duration::MAX);
    if (MIN_WINDOW..=MAX_WINDOW).contains(&window) {
        Ok(window)
    } else {
        Err(Rejection::with_message(
            ErrorCode::ValidationFailed,
            format!(
                "the recovery link window must be {} to {} seconds",
                MIN_WINDOW.num_seconds(),
                MAX_WINDOW.num_seconds()
            ),
        ))
    }
}

/// When the checkout ended in a way a link can undo, or `None`: expired (at its
/// expiry), its login ended (at the login's end) or signed out (at `last_change`, when
/// the sign-out was stored). Checkouts
/// that were superseded, emptied, cancelled, completed or are still live have no link.
pub fn ended_at(
    session: &SessionView,
    last_change: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match effective_status(session, now) {
        SessionStatus::Expired => session.expires_at.or(Some(last_change)),
        SessionStatus::Inactive(InactiveReason::SignedOut) => Some(last_change),
        SessionStatus::Inactive(InactiveReason::LoginExpired) => {
            session.login_expires_at.or(Some(last_change))
        }
        _ => None,
    }
}

impl LinkClaims {
    /// The claims of a link for a checkout that ended at `ended_at`, or `None` when the
    /// window has already closed.
    pub fn issue(
        session: &SessionView,
        ended_at: DateTime<Utc>,
        window: Duration,
        now: DateTime<Utc>,
    ) -> Option<LinkClaims> {
        let exp = (ended_at + window).timestamp();
        (now.timestamp() < exp).then(|| LinkClaims {
            sid: session.id.clone(),
            uid: session.user_id.clone(),
            iat: now.timestamp(),
            exp,
        })
    }
}

/// Seals link claims into the token a link carries.
pub fn sign(claims: &LinkClaims, key: &SigningKey) -> String {
    seal(PREFIX, claims, key)
}

/// Verifies a link's token: any altered byte is `TOKEN_INVALID`, a genuine link past its
/// window `TOKEN_EXPIRED`.
pub fn verify(
    token: &str,
    keys: &[SigningKey],
    now: DateTime<Utc>,
) -> Result<LinkClaims, Rejection> {
    let claims: LinkClaims = open(PREFIX, token, keys)?;
    if now.timestamp() >= claims.exp {
        return Err(Rejection::with_message(
            ErrorCode::TokenExpired,
            "This link to your earlier checkout has expired. Your cart is kept.",
        ));
    }
    Ok(claims)
}

/// What the server knows of the checkout a link names, besides its view.
#[derive(Debug, Clone, Copy)]
pub struct Since {
    /// A checkout restored it already (its link was used).
    pub restored: bool,
    /// The shopper placed an order from a newer checkout since: the link would bring
    /// back what they may just have bought.
    pub ordered: bool,
    /// When it last changed (a signed-out checkout ended then).
    pub last_change: DateTime<Utc>,
    /// It was made from the shop's own priced cart (CONTRACT §24) and the shopper has a
    /// newer checkout: the shop's newer cart replaces it, at the shop's newer prices.
    pub replaced_by_shop: bool,
}

/// Checks verified claims against the checkout they name, for the signed-in `viewer`:
/// the link's shopper, a checkout that still exists, was not restored before
/// (`TOKEN_REPLAYED`), has no newer order of the shopper after it and, made from the
/// shop's priced cart, no newer checkout (`CHECKOUT_SUPERSEDED`), and ended in a way a
/// link undoes. A live checkout is
/// refused: it needs no restoring.
pub fn check(
    claims: &LinkClaims,
    session: Option<&SessionView>,
    since: Since,
    viewer: &Viewer,
    now: DateTime<Utc>,
) -> Result<(), Rejection> {
    let Since {
        restored,
        ordered,
        last_change,
        replaced_by_shop,
    } = since;
    let Some(user) = viewer.user_id.as_deref() else {
        return Err(Rejection::new(ErrorCode::Unauthenticated));
    };
    if claims.uid != user {
        return Err(Rejection::with_message(
            ErrorCode::TokenInvalid,
            "This link belongs to another account. Sign in as the shopper it was sent to.",
        ));
    }
    let session = match session {
        Some(s) if s.id == claims.sid && s.user_id == claims.uid => s,
        _ => return Err(Rejection::new(ErrorCode::CheckoutNotFound)),
    };
    if restored {
        return Err(Rejection::with_message(
            ErrorCode::TokenReplayed,
            "This link was already used: your checkout was brought back before.",
        ));
    }
    if ordered {
        return Err(Rejection::with_message(
            ErrorCode::CheckoutSuperseded,
            "You have ordered since this checkout ended, so this link no longer applies. Your cart is kept.",
        ));
    }
    if replaced_by_shop {
        return Err(Rejection::with_message(
            ErrorCode::CheckoutSuperseded,
            "The shop has a newer checkout for you, so this link no longer applies. Continue from the shop.",
        ));
    }
    if ended_at(session, last_change, now).is_some() {
        return Ok(());
    }
    Err(match effective_status(session, now) {
        SessionStatus::Completed(_) => Rejection::new(ErrorCode::CheckoutCompleted),
        SessionStatus::Active | SessionStatus::PaymentPending => Rejection::with_message(
            ErrorCode::ValidationFailed,
            "This checkout is still open: continue it from your cart.",
        ),
        _ => Rejection::with_message(
            ErrorCode::CheckoutInactive,
            "This checkout was replaced or ended and cannot be brought back.",
        ),
    })
}

/// An ended checkout brought back with today's offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repriced {
    /// What the new checkout is priced from.
    pub input: PricingInput,
    /// The new checkout's snapshot.
    pub snapshot: Snapshot,
    /// What differs from the ended checkout's snapshot.
    pub changes: Vec<ChangeItem>,
}

/// Prices the lines of an ended checkout (`old`, priced into `old_snapshot`) with
/// today's `offer`: today's prices, promotions and tax; quantities cut to today's
/// maximum; products no longer sold left out; vouchers kept while valid and their
/// minimum met, in their order; the shipping and payment methods kept while offered
/// (a free-shipping threshold is judged again). `CART_EMPTY` when none of the lines
/// is sold any more. A checkout made from the shop's own priced cart is priced from what
/// the shop sent instead ([`Offer::own`]): it comes back unchanged.
pub fn reprice(
    old: &PricingInput,
    old_snapshot: &Snapshot,
    offer: &Offer,
) -> Result<Repriced, Rejection> {
    // A checkout made from the shop's own priced cart has no catalog to re-price from:
    // it comes back as the shop priced it (CONTRACT §24), while its link works.
    let own = Offer::own(old);
    let offer = own.as_ref().unwrap_or(offer);
    let mut input = PricingInput {
        own_offer: old.own_offer.clone(),
        currency: offer.currency.clone(),
        lines: Vec::with_capacity(old.lines.len()),
        tax_rates: offer.tax_rates.clone(),
        promotions: offer.promotions.clone(),
        prices_include_tax: offer.prices_include_tax,
        origin_country: offer.origin_country.clone(),
        shipping_address: old.shipping_address.clone(),
        billing_address: old.billing_address.clone(),
        catalog_version: offer.version,
        ..PricingInput::default()
    };
    let mut capped = Vec::new();
    for line in &old.lines {
        if let Some(product) = offer.product(&line.sku) {
            let quantity = line.quantity.min(product.limit());
            if quantity < line.quantity {
                capped.push(line.sku.as_str());
            }
            input.lines.push(product.line(quantity));
        }
    }
    if input.lines.is_empty() {
        return Err(Rejection::with_message(
            ErrorCode::CartEmpty,
            "None of the items of that checkout are sold any more.",
        ));
    }
    input.shipping_method = old
        .shipping_method
        .as_ref()
        .and_then(|m| offer.shipping(&m.id).ok())
        .filter(|m| {
            input
                .shipping_address
                .as_ref()
                .is_none_or(|a| m.delivers_to(&a.country))
        });
    input.payment_method = old
        .payment_method
        .as_ref()
        .and_then(|m| offer.payment(&m.id).ok());
    let mut voucher_trouble = Vec::new();
    for old_voucher in &old.vouchers {
        let Ok(voucher) = offer.voucher(&old_voucher.code) else {
            voucher_trouble.push((old_voucher.code.as_str(), "has been withdrawn"));
            continue;
        };
        let mut trial = input.clone();
        trial.vouchers.push(voucher);
        if Snapshot::capture(&trial).is_ok() {
            input = trial;
        } else {
            voucher_trouble.push((old_voucher.code.as_str(), "needs a larger order now"));
        }
    }
    let snapshot = Snapshot::capture(&input)?;
    let mut changes = between(old_snapshot, &snapshot);
    for change in &mut changes {
        let subject = change.subject.as_str();
        match change.kind {
            ChangeKind::ItemRemoved => {
                let name = old
                    .lines
                    .iter()
                    .find(|l| l.sku == subject)
                    .map_or(subject, |l| l.name.as_str());
                change.kind = ChangeKind::ItemGone;
                change.message = format!("{name} is no longer sold, so it was left out.");
            }
            ChangeKind::QuantityChanged if capped.contains(&subject) => {
                let name = input
                    .lines
                    .iter()
                    .find(|l| l.sku == subject)
                    .map_or(subject, |l| l.name.as_str());
                change.kind = ChangeKind::QuantityCapped;
                change.message = format!(
                    "{name}: at most {} per order now, so you have {} (was {}).",
                    change.after.unwrap_or_default(),
                    change.after.unwrap_or_default(),
                    change.before.unwrap_or_default()
                );
            }
            ChangeKind::PromotionEnded if offer.promotions.iter().all(|p| p.id != subject) => {
                change.message = change.message.replace("no longer applies", "has ended");
            }
            ChangeKind::VoucherRemoved => {
                let why = voucher_trouble
                    .iter()
                    .find(|(code, _)| *code == subject)
                    .map_or("no longer applies", |(_, why)| *why);
                change.kind = ChangeKind::VoucherInvalid;
                change.message = format!("The voucher {subject} {why}, so it was taken off.");
            }
            _ => {}
        }
    }
    Ok(Repriced {
        input,
        snapshot,
        changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn key(byte: u8) -> SigningKey {
        SigningKey::new(vec![byte; 32]).unwrap()
    }

    fn session(status: SessionStatus) -> SessionView {
        SessionView {
            id: "s1".into(),
            user_id: "u1".into(),
            status,
            managed: true,
            expires_at: Some(at("2026-12-01T10:10:00Z")),
            login_expires_at: None,
            is_latest: true,
            digest: "sha256:aa".into(),
            generation: 0,
        }
    }

    fn viewer(user: &str) -> Viewer {
        Viewer {
            user_id: Some(user.into()),
            acting_admin: None,
        }
    }

    #[test]
    fn a_link_works_for_its_window_after_the_checkout_ended() {
        let s = session(SessionStatus::Active);
        let later = at("2026-12-01T12:00:00Z");
        let ended = ended_at(&s, later, later).expect("expired at read time");
        assert_eq!(ended, at("2026-12-01T10:10:00Z"));
        let claims = LinkClaims::issue(&s, ended, DEFAULT_WINDOW, later).unwrap();
        let token = sign(&claims, &key(1));
        assert!(token.starts_with("cgl1."));
        assert_eq!(verify(&token, &[key(1)], later).unwrap(), claims);
        let closing = at("2026-12-08T10:10:00Z");
        assert_eq!(
            verify(&token, &[key(1)], closing).unwrap_err().code,
            ErrorCode::TokenExpired
        );
        assert!(LinkClaims::issue(&s, ended, DEFAULT_WINDOW, closing).is_none());
        assert_eq!(
            verify(&token, &[key(2)], later).unwrap_err().code,
            ErrorCode::TokenInvalid
        );
    }

    #[test]
    fn links_and_recovery_tokens_are_never_taken_for_each_other() {
        let s = session(SessionStatus::Active);
        let now = at("2026-12-01T10:00:00Z");
        let recovery = crate::token::sign(&crate::token::RecoveryClaims::issue(&s, now), &key(1));
        assert_eq!(
            verify(&recovery, &[key(1)], now).unwrap_err().code,
            ErrorCode::TokenInvalid
        );
        let claims = LinkClaims::issue(&s, now, DEFAULT_WINDOW, now).unwrap();
        let link = sign(&claims, &key(1));
        assert_eq!(
            crate::token::verify(&link, &[key(1)], now)
                .unwrap_err()
                .code,
            ErrorCode::TokenInvalid
        );
        // The same payload under the other prefix: the MAC covers the prefix.
        let swapped = link.replacen("cgl1", "cgr1", 1);
        assert_eq!(
            crate::token::verify(&swapped, &[key(1)], now)
                .unwrap_err()
                .code,
            ErrorCode::TokenInvalid
        );
    }

    #[test]
    fn only_expired_and_signed_out_checkouts_are_restored_once_by_their_shopper() {
        let now = at("2026-12-01T12:00:00Z");
        let last = at("2026-12-01T10:05:00Z");
        let signed_out = session(SessionStatus::Inactive(InactiveReason::SignedOut));
        assert_eq!(ended_at(&signed_out, last, now), Some(last));
        let claims = LinkClaims::issue(&signed_out, last, DEFAULT_WINDOW, now).unwrap();
        let code = |r: Result<(), Rejection>| r.unwrap_err().code;
        let fresh = Since {
            restored: false,
            ordered: false,
            last_change: last,
            replaced_by_shop: false,
        };
        let replaced = Since {
            replaced_by_shop: true,
            ..fresh
        };
        let used = Since {
            restored: true,
            ..fresh
        };
        let ordered = Since {
            ordered: true,
            ..fresh
        };
        let alice = viewer("u1");
        let s = Some(&signed_out);
        assert!(check(&claims, s, fresh, &alice, now).is_ok());
        assert_eq!(
            code(check(&claims, s, used, &alice, now)),
            ErrorCode::TokenReplayed
        );
        assert_eq!(
            code(check(&claims, s, ordered, &alice, now)),
            ErrorCode::CheckoutSuperseded
        );
        assert_eq!(
            code(check(&claims, s, replaced, &alice, now)),
            ErrorCode::CheckoutSuperseded
        );
        assert_eq!(
            code(check(&claims, s, fresh, &viewer("u2"), now)),
            ErrorCode::TokenInvalid
        );
        assert_eq!(
            code(check(&claims, None, fresh, &alice, now)),
            ErrorCode::CheckoutNotFound
        );
        let anonymous = Viewer {
            user_id: None,
            acting_admin: None,
        };
        assert_eq!(
            code(check(&claims, s, fresh, &anonymous, now)),
            ErrorCode::Unauthenticated
        );
        let superseded = session(SessionStatus::Inactive(InactiveReason::Superseded));
        assert_eq!(ended_at(&superseded, last, now), None);
        assert_eq!(
            code(check(&claims, Some(&superseded), fresh, &alice, now)),
            ErrorCode::CheckoutInactive
        );
        let done = session(SessionStatus::Completed(
            crate::lifecycle::Completion::OrderPlaced,
        ));
        assert_eq!(
            code(check(&claims, Some(&done), fresh, &alice, now)),
            ErrorCode::CheckoutCompleted
        );
        let open = session(SessionStatus::Active);
        let early = at("2026-12-01T10:00:00Z");
        assert_eq!(
            code(check(&claims, Some(&open), fresh, &alice, early)),
            ErrorCode::ValidationFailed
        );
    }

    #[test]
    fn windows_are_bounded() {
        assert_eq!(window(604_800).unwrap(), DEFAULT_WINDOW);
        for bad in [0, 3_599, 7_776_001, -1, i64::MAX, i64::MIN] {
            assert!(window(bad).is_err(), "{bad}");
        }
    }
}
