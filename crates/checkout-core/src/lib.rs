//! # checkout-core
//!
//! Every rule of Checkout Guard, in one crate that compiles to native code (inside the
//! authoritative server) and to WebAssembly (inside the browser module), so both give
//! the same verdict and the same error code for the same input.
//!
//! The crate does no I/O and never reads a clock: the time is always a parameter, and
//! so are secrets and fresh idempotency keys. It has no wasm or web dependency.
//!
//! | module | rule |
//! |---|---|
//! | [`settings`] | the enable switch and the 5..=300 minute timeout |
//! | [`numbering`] | the `Checkout` order class: `CO-<DD><MM><YYYY>-<Number>` |
//! | [`money`], [`snapshot`] | integer money, pricing, rounding, the snapshot digest |
//! | [`lifecycle`] | states, named transitions, one live session per shopper |
//! | [`verdict`] | the checks before every action |
//! | [`requirements`] | what each order action needs (shipping, card and token, deferred method) |
//! | [`answer`] | what a server answer means for the browser: a definite verdict or "transient, retry" |
//! | [`idempotency`] | the `Idempotency-Key` decision table |
//! | [`token`] | recovery tokens: claims, HMAC-SHA256, binding |
//! | [`offer`] | what is on sale today, and which cart lines a checkout captures |
//! | [`priced_cart`] | a checkout from the shop's own priced cart: the body checked, priced as any |
//! | [`changes`] | what changed between two summaries, and re-pricing an ended checkout |
//! | [`restore`] | recovery links for expired and signed-out checkouts |
//! | [`approval`] | deciding orders submitted for approval |
//! | [`card`] | card numbers in text: found by Luhn whatever sets their groups apart, masked |
//! | [`outbox`] | order events for downstream systems and their retries |
//! | [`signature`] | `Checkout-Signature`: the payment provider's signed webhooks |
//! | [`webhook`] | Standard Webhooks: how order events are signed for receivers |
//! | [`recovery`] | the browser's local recovery record |
//! | [`time`] | timestamps on the wire (strict RFC 3339) |
//! | [`strict_json`] | JSON read strictly: a key named twice in one object is refused |
//! | [`error`] | the stable codes and RFC 9457 problems |
//! | [`words`] | what a page tells the shopper where no verdict or problem speaks (`shopperText`) |

/// Serde for a unit enum by its wire name: [`as_str`] out, a lookup in `ALL` in, so each
/// name is written once. (Derived impls carry the names again, with string, byte and
/// index visitors per enum, all of it in the browser module.) Also gives `from_name`.
macro_rules! serde_by_name {
    ($ty:ident, $what:literal) => {
        impl $ty {
            /// The value with this wire name, if there is one.
            pub fn from_name(name: &str) -> Option<$ty> {
                $ty::ALL.into_iter().find(|v| v.as_str() == name)
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let name = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                $ty::from_name(&name).ok_or_else(|| {
                    <D::Error as serde::de::Error>::custom(format_args!(
                        concat!("unknown ", $what, " {}"),
                        $crate::detail::Quoted(&name)
                    ))
                })
            }
        }
    };
}

/// A unit enum that crosses the wire by name, each name written once beside its variant:
/// the enum (with its derives), `ALL` (every value, in order), `as_str` (the wire
/// name), `from_name`, serde by name ([`serde_by_name!`]), and `TS_TYPE`, its TypeScript
/// declaration as a union of the names (the browser package's `.d.ts` is generated from
/// it, so the two can never differ).
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $ty:ident as $what:literal, in TypeScript $ts:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $name:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $ty {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $ty {
            /// Every value, in the order declared.
            pub const ALL: [$ty; [$($name),+].len()] = [$($ty::$variant),+];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }

            /// The TypeScript declaration of the wire names.
            pub const TS_TYPE: &'static str = concat!(
                "\n/** Every ", $what, " (checkout-core `", stringify!($ty), "`). */\nexport type ",
                $ts, " =", $("\n  | \"", $name, "\"",)+ ";\n"
            );
        }

        serde_by_name!($ty, $what);
    };
}

pub mod action;
pub mod address;
pub mod answer;
pub mod approval;
pub mod card;
pub mod cart;
pub mod catalog;
pub mod changes;
pub mod detail;
pub mod error;
pub mod idempotency;
pub mod lifecycle;
pub mod money;
pub mod numbering;
pub mod offer;
pub mod outbox;
pub mod payment;
pub mod priced_cart;
pub mod recovery;
pub mod requirements;
pub mod restore;
pub mod settings;
pub mod signature;
pub mod snapshot;
pub mod strict_json;
pub mod time;
pub mod token;
#[cfg(feature = "test-vectors")]
pub mod vectors;
pub mod verdict;
pub mod webhook;
pub mod words;

pub use error::{ErrorCode, Problem, Rejection};
pub use lifecycle::{Change, Completion, Event, InactiveReason, SessionStatus, Transition};
pub use verdict::{
    evaluate, evaluate_parts, Action, CheckInput, SessionView, Verdict, VerdictBody, VerdictState,
    Viewer,
};

#[cfg(test)]
mod wire_name_tests {
    use std::collections::HashSet;

    use super::{recovery::Step, requirements, Action, ErrorCode, VerdictState};

    /// Each `ALL` is as long as the enum has variants, so distinct entries mean every
    /// variant is listed; each name reads back to its value; anything else is refused.
    fn check<T>(all: &[T], as_str: fn(&T) -> &'static str)
    where
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let names: HashSet<&str> = all.iter().map(as_str).collect();
        assert_eq!(names.len(), all.len(), "a value is listed twice in ALL");
        for value in all {
            let json = serde_json::to_string(value).unwrap();
            assert_eq!(json, format!("\"{}\"", as_str(value)));
            assert_eq!(&serde_json::from_str::<T>(&json).unwrap(), value);
        }
        for bad in ["\"\"", "\"nope\"", "0", "null", "{}"] {
            assert!(
                serde_json::from_str::<T>(bad).is_err(),
                "{bad} was accepted"
            );
        }
        let lower = as_str(&all[0]).to_lowercase();
        let upper = as_str(&all[0]).to_uppercase();
        let other = if lower == as_str(&all[0]) {
            upper
        } else {
            lower
        };
        assert!(serde_json::from_str::<T>(&format!("\"{other}\"")).is_err());
    }

    /// The names a `TS_TYPE` union lists, in order.
    fn union(ts: &str) -> Vec<&str> {
        ts.split("| \"")
            .skip(1)
            .map(|part| part.split('"').next().unwrap_or_default())
            .collect()
    }

    #[test]
    fn the_typescript_unions_are_the_wire_names() {
        let names = |all: &[&'static str]| all.to_vec();
        assert_eq!(
            union(ErrorCode::TS_TYPE),
            names(&ErrorCode::ALL.map(ErrorCode::as_str))
        );
        assert!(ErrorCode::TS_TYPE.contains("export type ErrorCodeName ="));
        assert_eq!(union(Step::TS_TYPE), names(&Step::ALL.map(Step::as_str)));
        assert_eq!(
            union(crate::changes::ChangeKind::TS_TYPE),
            names(&crate::changes::ChangeKind::ALL.map(crate::changes::ChangeKind::as_str))
        );
        assert!(VerdictState::TS_TYPE.trim_end().ends_with("\"NOT_FOUND\";"));
    }

    #[test]
    fn names_round_trip_and_nothing_else_is_accepted() {
        check(&ErrorCode::ALL, |c| c.as_str());
        check(&requirements::Missing::ALL, |m| m.as_str());
        check(&Action::ALL, |a| a.as_str());
        check(&VerdictState::ALL, |s| s.as_str());
        check(&Step::ALL, |s| s.as_str());
        check(&crate::changes::ChangeKind::ALL, |k| k.as_str());
        check(&crate::outbox::EventType::ALL, |t| t.as_str());
    }
}
