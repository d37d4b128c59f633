// checkout-guard/react: types of the React provider and hook (react.js).
import type { ReactElement, ReactNode } from 'react';
import type {
  CheckoutGuard, CheckoutGuardOptions, DeliveredVerdict, ModuleSource, OrderAction, OrderActionExtra, OrderActionResult,
} from './index.js';

export interface CheckoutGuardProviderProps {
  /** The guard's options (`new CheckoutGuard(options)`). The guard is made again only
   *  when `pageSessionId` or `storageKey` changes; the rest is read when it is made, so
   *  an object written inline is fine. */
  options?: CheckoutGuardOptions;
  /** Where the WebAssembly module is, or the module compiled early (`init(module)`);
   *  by default it is fetched next to the package. Read once, when the first guard is
   *  made (an inline value is fine). */
  module?: ModuleSource;
  children?: ReactNode;
}

/** Loads the module and guards one checkout for the components below it, in the
 *  browser only: on a server it renders its children with no guard. When the checkout
 *  changes, the old guard is detached and freed (nothing it was doing reaches the page)
 *  and the components see no guard until the new one is made. */
export function CheckoutGuardProvider(props: CheckoutGuardProviderProps): ReactElement;

export interface CheckoutGuardState {
  /** The guard, once the module is loaded in the browser; `null` before (and on a server). */
  guard: CheckoutGuard | null;
  /** The latest verdict (a frozen object, the same until the next), `null` before the first. */
  verdict: DeliveredVerdict | null;
  /** Why the module could not be loaded or the guard made or attached, else `null`. */
  error: unknown;
  /** Milliseconds until the checkout expires or its sign-in ends, when this rendered;
   *  `null` when it does not expire (`useTimeLeft()` re-renders for a countdown). */
  timeLeftMs: number | null;
  /** `guard.submit` (rejects with a `CheckoutGuardError`), with `pending` kept. */
  submit: (action: OrderAction, extra?: OrderActionExtra) => Promise<OrderActionResult>;
  /** An order action of this checkout is on its way, or kept for a retry. */
  pending: boolean;
}

/** The nearest provider's guard and latest verdict; re-renders on every new verdict.
 *  Throws outside a `CheckoutGuardProvider`. */
export function useCheckoutGuard(): CheckoutGuardState;

/** The time left (as `timeLeftMs`), re-rendering every `everyMs` (default 1000). */
export function useTimeLeft(everyMs?: number): number | null;
