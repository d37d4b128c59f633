//! The TypeScript declarations of the guard's options and of what its methods take and
//! return (the `unchecked_*_type` names in `mod.rs`).

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
export interface Selections {
  shipping_method: string | null;
  payment_method: string | null;
  vouchers: string[];
}
export interface PendingAction {
  action: OrderAction;
  idempotency_key: string;
  digest: string;
  started_at: string;
}
export interface RecoveryRecord {
  version: number;
  session: SessionView;
  checkout_number: string;
  step: CheckoutStep;
  selections: Selections;
  pending: PendingAction | null;
  recovery_token: string | null;
  order_id: string | null;
  saved_at: string;
}
export interface StorageStatus {
  status: "ok" | "unavailable" | "full" | "corrupt";
  reason?: string;
  degraded: boolean;
}
/** What changed, in the shopper's words: a restored checkout against the ended one, or
 *  the current summary against the one the shopper confirmed (`SNAPSHOT_MISMATCH`). */
export interface ChangeItem {
  kind: ChangeKind;
  /** A SKU, promotion id, voucher code, method id, or "total". */
  subject: string;
  /** Minor units for money, units for quantities; null where there is no number. */
  before: number | null;
  after: number | null;
  message: string;
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
/** The problem document of a refused request (RFC 9457 with the product's code). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCodeName;
  redirect: string | null;
  missing?: Missing[];
  /** With SNAPSHOT_MISMATCH: what changed since the summary the shopper confirmed. */
  changes?: ChangeItem[];
}
/** What an order action's request came back with. */
export interface OrderActionResult {
  status: number;
  body: unknown;
  /** The answer decided nothing (an outage, a proxy's page): retry with the same key. */
  transient: boolean;
  /** Not decided yet (still running, or the payment is being confirmed). */
  pending: boolean;
  /** With `pending`: when to ask again (the core's backoff). */
  retryInMs?: number;
  idempotencyKey: string;
}
export interface DeliveredVerdict extends Verdict {
  source: "local" | "server" | "unreachable";
  /** With "unreachable": when the module asks the server again by itself. */
  retry_in_ms: number | null;
  reason: string;
  known: boolean;
  session_id: string | null;
  number: string | null;
  expires_at: string | null;
  order_id: string | null;
}
"#;
