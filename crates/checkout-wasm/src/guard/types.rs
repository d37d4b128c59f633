//! The TypeScript declarations that no Rust type has: the guard's options (they carry a
//! JavaScript callback and are read field by field), what `submit` takes, and the
//! server's session body (the server's type, in its OpenAPI document). Every other type
//! the package declares is generated from the Rust type that makes or reads the value
//! (`#[derive(Tsify)]`, here and in the core), and the wire enums' unions from the core's
//! tables.

use wasm_bindgen::prelude::*;

// The steps' union, generated from the core's table (`wire_enum!`).
#[wasm_bindgen(typescript_custom_section)]
const TS_STEPS: &'static str = checkout_core::recovery::Step::TS_TYPE;

#[wasm_bindgen(typescript_custom_section)]
const TS_GUARD: &'static str = r#"
export interface CheckoutGuardOptions {
  onVerdict: (verdict: DeliveredVerdict) => void;
  apiBase?: string;
  storageKey?: string;
  pageSessionId?: string;
  /** fetch's credentials mode for the guard's requests (default "same-origin"). */
  credentials?: "same-origin" | "include" | "omit";
  /** Extra headers on every request the guard sends. */
  headers?: Record<string, string>;
}
export type OrderAction = "place_order" | "pay" | "submit_for_approval";
export interface OrderActionExtra {
  /** Pay only: the token the payment provider's tokenization endpoint gave for the
   *  card (`GET /api/v1/payments/config` says where). Never the card number: the
   *  server refuses one. */
  payment_token?: string;
}
/** A session as the server sends it (`GET /checkouts/{id}`, initiation, changes). */
export interface SessionBody extends SessionView {
  number: string;
  snapshot: unknown;
  verdict: Verdict;
  server_time: string;
  recovery_token?: string | null;
  order_id?: string | null;
  /** A restored checkout: the ended one's id. */
  restored_from?: string;
  /** A restored checkout: what changed since the ended one (show it before ordering). */
  changes?: ChangeItem[];
  [field: string]: unknown;
}
"#;
