//! # checkout-wasm
//!
//! The browser side of Checkout Guard: a thin binding over `checkout-core`, compiled to
//! WebAssembly and imported by storefront JavaScript. Every rule comes from the core; this
//! crate converts plain data at the boundary (plain JS objects, no JSON strings: read by
//! its own serde reader `de`, written with serde-wasm-bindgen) and
//! turns core rejections into objects with a stable `code` JavaScript can branch on.
//!
//! One module per exported item: [`verdict`] (the pure verdict function) and [`guard`]
//! (the `CheckoutGuard` class); [`storage`] and [`api`] are its browser plumbing.

pub mod api;
mod de;
mod error;
pub mod guard;
pub mod storage;
pub mod verdict;

pub use error::JsRejection;

/// Talc instead of the default dlmalloc: smaller in the module and faster for the many
/// small allocations of a verdict (the module is single-threaded; no atomics).
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
