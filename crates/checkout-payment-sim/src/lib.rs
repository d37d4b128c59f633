//! What the simulated provider shares with those who test against it: its test cards.
//! The provider itself is the `checkout-payment-sim` binary (`main.rs`).

pub mod cards;
