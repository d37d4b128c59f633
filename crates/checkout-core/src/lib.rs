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
//! | [`idempotency`] | the `Idempotency-Key` decision table |
//! | [`token`] | recovery tokens: claims, HMAC-SHA256, binding |
//! | [`recovery`] | the browser's local recovery record |
//! | [`error`] | the stable codes and RFC 9457 problems |

pub mod error;
pub mod idempotency;
pub mod lifecycle;
pub mod money;
pub mod numbering;
pub mod recovery;
pub mod settings;
pub mod snapshot;
pub mod token;
#[cfg(feature = "test-vectors")]
pub mod vectors;
pub mod verdict;

pub use error::{ErrorCode, Problem, Rejection};
pub use lifecycle::{Completion, InactiveReason, SessionStatus, Transition};
pub use verdict::{evaluate, Action, CheckInput, SessionView, Verdict, VerdictState, Viewer};
