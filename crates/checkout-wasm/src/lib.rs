//! # checkout-wasm
//!
//! The browser side of Checkout Guard: a thin binding over `checkout-core`, compiled to
//! WebAssembly and imported by storefront JavaScript. Every rule comes from the core; this
//! crate converts plain data at the boundary (serde-wasm-bindgen, no JSON strings) and
//! turns core rejections into objects with a stable `code` JavaScript can branch on.
//!
//! One module per exported item: [`verdict`] (the pure verdict function) and [`guard`]
//! (the `CheckoutGuard` class); [`storage`] and [`api`] are its browser plumbing.

pub mod api;
mod error;
pub mod guard;
pub mod storage;
pub mod verdict;

pub use error::JsRejection;
