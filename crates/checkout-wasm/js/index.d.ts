// checkout-guard: types of the package's entry (index.js). The data types come from
// the module's own declarations, generated from the Rust crate.
import type {
  ActionRequirements, CheckInput, CheckoutGuardOptions as ModuleOptions, CheckoutStep,
  DeliveredVerdict, ErrorCodeName, Missing, OrderAction, OrderActionExtra, OrderActionResult,
  RecoveryRecord, Selections, SessionBody, ShopperSituation, StorageStatus, Verdict,
} from './checkout_guard.js';

export type {
  ActionRequirements, ChangeItem, ChangeKind, CheckInput, CheckoutAction, CheckoutStep, DeliveredVerdict, ErrorCodeName,
  Missing, OrderAction, OrderActionExtra, OrderActionResult, PendingAction, Problem,
  RecoveryRecord, Selections, SessionBody, SessionView, ShopperSituation, StorageStatus, Verdict, VerdictState,
  Viewer,
} from './checkout_guard.js';

// The generated classes declare `[Symbol.dispose]()` (explicit resource management). A
// project whose `lib` predates ES2024's `esnext.disposable` would fail to type-check them;
// this declares the symbol as TypeScript's own lib and @types/node do, so both agree.
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}

/** What `init()` accepts: where the `.wasm` is, its bytes, or the compiled module. */
export type ModuleSource = string | URL | Request | Response | BufferSource | WebAssembly.Module
  | Promise<Response | BufferSource | WebAssembly.Module>;

/** Loads the WebAssembly module (once). Call and await it before anything else. */
export default function init(source?: ModuleSource | { module_or_path: ModuleSource }): Promise<unknown>;

/** A refusal from the guard or the server, with the core's code. */
export class CheckoutGuardError extends Error {
  readonly name: 'CheckoutGuardError';
  readonly code: ErrorCodeName;
  readonly redirect: string | null;
  readonly missing: Missing[];
  /** The order action is kept with its key and will be retried (no answer yet). */
  readonly pending: boolean;
  /** With `pending`: when to ask again. */
  readonly retryInMs: number | null;
}

/** The module was used before `init()` finished. */
export class NotInitializedError extends Error {
  readonly name: 'NotInitializedError';
}

export interface CheckoutGuardOptions extends Omit<ModuleOptions, 'onVerdict'> {
  /** Called with every verdict (optional: `subscribe` does the same for any number of
   *  listeners). */
  onVerdict?: (verdict: DeliveredVerdict) => void;
  /** The storefront's own pages for the core's redirect targets, e.g.
   *  `{ cart: '/basket/', login: '/account/sign-in' }`. */
  redirects?: Partial<Record<'cart' | 'login', string>>;
}

/** Guards one checkout page. */
export class CheckoutGuard {
  constructor(options: CheckoutGuardOptions);
  /** Starts listening (load, back-forward cache, visibility, online, other tabs) and checks. */
  attach(): Promise<DeliveredVerdict>;
  detach(): void;
  check(reason?: string): Promise<DeliveredVerdict>;
  localVerdict(): DeliveredVerdict;
  /** Calls `listener` with every verdict from now on; returns the function that stops
   *  it (call it as often as you like). */
  readonly subscribe: (listener: (verdict: DeliveredVerdict) => void) => () => void;
  /** The last verdict delivered (the same object until the next one), or `null` before
   *  the first: `useSyncExternalStore(guard.subscribe, guard.latestVerdict)`. */
  readonly latestVerdict: () => DeliveredVerdict | null;
  remember(session: SessionBody): void;
  lastSession(): SessionBody | null;
  readonly pageSessionId: string | null;
  timeLeftMs(): number | null;
  setStep(step: CheckoutStep): void;
  setSelections(selections: Selections): void;
  record(): RecoveryRecord | null;
  storageStatus(): StorageStatus;
  /** Sends an order action once (one tab at a time); rejects with a `CheckoutGuardError`. */
  submit(action: OrderAction, extra?: OrderActionExtra): Promise<OrderActionResult>;
  resumePending(extra?: OrderActionExtra): Promise<OrderActionResult | null>;
  /** After a reload, drops a pending payment that cannot be resent (its card is not
   *  kept) once the server shows the checkout active again; the core's message for the
   *  shopper when it did (show it), else `null`. */
  abandonUnsendablePayment(): string | null;
  forget(): void;
  free(): void;
}

export function evaluateVerdict(input: CheckInput): Verdict;
export function actionRequirements(
  action: OrderAction,
  shippingMethod?: string | null,
  paymentMethod?: string | null,
  hasPaymentToken?: boolean,
  hasShippingAddress?: boolean,
): ActionRequirements;
/** The core's words for a situation the page describes to the shopper. */
export function shopperText(situation: ShopperSituation): string;
export function newIdempotencyKey(): string;
