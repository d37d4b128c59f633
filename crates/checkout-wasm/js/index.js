// checkout-guard: the package's entry. The wasm-bindgen module (checkout_guard.js) with
// what a storefront expects of a JavaScript library around it: errors that are `Error`
// objects carrying the core's `code`, a clear error when used before `init()`, and the
// storefront's own redirect targets.
import initModule, * as wasm from './checkout_guard.js';

/** A refusal from the guard or the server, with the core's code. */
export class CheckoutGuardError extends Error {
  constructor(problem, options) {
    const message = typeof problem?.message === 'string' ? problem.message : String(problem);
    super(message, options);
    this.name = 'CheckoutGuardError';
    this.code = typeof problem?.code === 'string' ? problem.code : 'INTERNAL_ERROR';
    this.redirect = problem?.redirect ?? null;
    this.missing = Array.isArray(problem?.missing) ? problem.missing : [];
    this.pending = problem?.pending === true;
    this.retryInMs = typeof problem?.retryInMs === 'number' ? problem.retryInMs : null;
  }
}

/** A guard was made (or a function called) before `init()` finished. */
export class NotInitializedError extends Error {
  constructor() {
    super('checkout-guard: call `await init()` before using the module');
    this.name = 'NotInitializedError';
  }
}

let initialized = null;
let ready = false;

/** Loads the WebAssembly module (once; later calls return the same promise). With no
 *  argument it is fetched next to this file; pass a URL, a `Response`, bytes or a
 *  compiled `WebAssembly.Module` to load it from elsewhere. */
export default function init(moduleOrPath) {
  const wrapped = moduleOrPath === undefined || moduleOrPath?.module_or_path !== undefined
    ? moduleOrPath
    : { module_or_path: moduleOrPath };
  initialized ??= initModule(wrapped)
    .then((exports) => { ready = true; return exports; })
    .catch((error) => { initialized = null; throw error; });
  return initialized;
}

function needReady() {
  if (!ready) throw new NotInitializedError();
}

const same = (value) => value;

/** Turns what the module throws (plain `{code, message}` objects) into errors, their
 *  redirect mapped. */
function asError(thrown, map = same) {
  if (thrown instanceof Error) return thrown;
  return new CheckoutGuardError(map(thrown));
}

function sync(fn, map) {
  try { return fn(); } catch (thrown) { throw asError(thrown, map); }
}

async function later(fn, map) {
  try { return await fn(); } catch (thrown) { throw asError(thrown, map); }
}

/** Maps the core's redirect targets (`/cart`, `/login`) to the storefront's. A mapped
 *  object is made once per original (the module returns the same frozen verdict while
 *  nothing changed, and so does this). */
function redirecting(redirects) {
  if (!redirects) return same;
  const made = new WeakMap();
  return (value) => {
    const to = value?.redirect;
    if (typeof to !== 'string') return value;
    const key = to.replace(/^\/+|\/+$/g, '');
    if (!Object.hasOwn(redirects, key)) return value;
    if (made.has(value)) return made.get(value);
    const mapped = Object.freeze({ ...value, redirect: redirects[key] });
    made.set(value, mapped);
    return mapped;
  };
}

/** An order action's result with its problem's redirect mapped. */
function mappedResult(map) {
  return (result) => {
    if (!result?.body || typeof result.body !== 'object') return result;
    const body = map(result.body);
    return body === result.body ? result : { ...result, body };
  };
}

/** Hands `value` to `listener`; what a listener throws is reported (as an uncaught
 *  error, in the console) without keeping the value from the others. */
function tell(listener, value) {
  try {
    listener(value);
  } catch (error) {
    queueMicrotask(() => { throw error; });
  }
}

/** Guards one checkout page (see the README). */
export class CheckoutGuard {
  #inner;
  #map;
  #listeners = new Set();
  #latest = null;
  #freed = false;

  constructor(options) {
    needReady();
    const onVerdict = options?.onVerdict;
    if (onVerdict !== undefined && typeof onVerdict !== 'function') {
      throw new CheckoutGuardError({ code: 'MALFORMED_REQUEST', message: 'options.onVerdict must be a function' });
    }
    const map = redirecting(options?.redirects);
    const { redirects: _, onVerdict: __, ...rest } = options ?? {};
    this.#map = map;
    this.#inner = sync(() => new wasm.CheckoutGuard({ ...rest, onVerdict: (v) => this.#deliver(map(v), onVerdict) }));
  }

  #deliver(verdict, onVerdict) {
    if (this.#freed) return;
    // Shared by every listener and `latestVerdict()`: no one may change it for the others.
    Object.freeze(verdict);
    this.#latest = verdict;
    if (onVerdict) tell(onVerdict, verdict);
    for (const listener of [...this.#listeners]) tell(listener, verdict);
  }

  /** Calls `listener` with every verdict from now on (as `onVerdict`); returns the
   *  function that stops it. Bound to the guard, like `latestVerdict`, so that both can
   *  be handed on as they are: `useSyncExternalStore(guard.subscribe,
   *  guard.latestVerdict)` in React, or any other store. */
  subscribe = (listener) => {
    if (typeof listener !== 'function') {
      throw new CheckoutGuardError({ code: 'MALFORMED_REQUEST', message: 'subscribe takes a function' });
    }
    const entry = (v) => listener(v);
    this.#listeners.add(entry);
    return () => { this.#listeners.delete(entry); };
  };

  /** The last verdict delivered (the same object until the next one), or `null`. */
  latestVerdict = () => this.#latest;

  attach() { return later(() => this.#inner.attach(), this.#map).then(this.#map); }
  detach() { this.#inner.detach(); }
  check(reason = 'check') { return later(() => this.#inner.check(reason), this.#map).then(this.#map); }
  localVerdict() { return this.#map(sync(() => this.#inner.localVerdict(), this.#map)); }
  remember(session) { sync(() => this.#inner.remember(session)); }
  lastSession() { return this.#inner.lastSession() ?? null; }
  get pageSessionId() { return this.#inner.pageSessionId ?? null; }
  timeLeftMs() { return this.#inner.timeLeftMs() ?? null; }
  setStep(step) { sync(() => this.#inner.setStep(step)); }
  setSelections(selections) { sync(() => this.#inner.setSelections(selections)); }
  record() { return sync(() => this.#inner.record()) ?? null; }
  storageStatus() { return this.#inner.storageStatus(); }
  submit(action, extra) {
    return later(() => this.#inner.submit(action, extra), this.#map).then(mappedResult(this.#map));
  }
  resumePending(extra) {
    return later(() => this.#inner.resumePending(extra), this.#map).then(mappedResult(this.#map));
  }
  abandonUnsendablePayment() { return this.#inner.abandonUnsendablePayment() ?? null; }
  forget() { this.#inner.forget(); }
  /** Frees the module's memory for this guard (once; later calls do nothing). Detaches
   *  it first: nothing is delivered after. */
  free() {
    if (this.#freed) return;
    this.#freed = true;
    this.#inner.detach();
    this.#inner.free();
  }
}

/** The core's verdict for a plain input (no network). */
export function evaluateVerdict(input) {
  needReady();
  return sync(() => wasm.evaluateVerdict(input));
}

/** What an order action still needs, from the core's rules (CONTRACT §5a, §18). */
export function actionRequirements(action, shippingMethod = null, paymentMethod = null, hasPaymentToken = false,
  hasShippingAddress = false) {
  needReady();
  return sync(() => wasm.actionRequirements(action, shippingMethod, paymentMethod, hasPaymentToken,
    hasShippingAddress));
}

/** The core's words for a situation the page describes to the shopper (an outage, a
 *  payment being confirmed, a choice not saved…): never a claim the rules do not make. */
export function shopperText(situation) {
  needReady();
  return sync(() => wasm.shopperText(situation));
}

/** A fresh idempotency key for a keyed request the storefront sends itself. */
export function newIdempotencyKey() {
  needReady();
  return wasm.newIdempotencyKey();
}
