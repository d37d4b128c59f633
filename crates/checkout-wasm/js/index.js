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

/** Turns what the module throws (plain `{code, message}` objects) into errors. */
function asError(thrown) {
  if (thrown instanceof Error) return thrown;
  return new CheckoutGuardError(thrown);
}

function sync(fn) {
  try { return fn(); } catch (thrown) { throw asError(thrown); }
}

async function later(promise) {
  try { return await promise; } catch (thrown) { throw asError(thrown); }
}

/** Maps the core's redirect targets (`/cart`, `/login`) to the storefront's. */
function redirecting(redirects) {
  if (!redirects) return (value) => value;
  return (value) => {
    const to = value?.redirect;
    if (typeof to !== 'string') return value;
    const key = to.replace(/^\/+|\/+$/g, '');
    return key in redirects ? { ...value, redirect: redirects[key] } : value;
  };
}

/** Guards one checkout page (see the README). */
export class CheckoutGuard {
  #inner;
  #map;

  constructor(options) {
    needReady();
    if (typeof options?.onVerdict !== 'function') {
      throw new CheckoutGuardError({ code: 'MALFORMED_REQUEST', message: 'options.onVerdict must be a function' });
    }
    const map = redirecting(options.redirects);
    const { redirects: _, onVerdict, ...rest } = options;
    this.#map = map;
    this.#inner = sync(() => new wasm.CheckoutGuard({ ...rest, onVerdict: (v) => onVerdict(map(v)) }));
  }

  attach() { return later(sync(() => this.#inner.attach())).then(this.#map); }
  detach() { this.#inner.detach(); }
  check(reason = 'check') { return later(this.#inner.check(reason)).then(this.#map); }
  localVerdict() { return this.#map(sync(() => this.#inner.localVerdict())); }
  remember(session) { sync(() => this.#inner.remember(session)); }
  lastSession() { return this.#inner.lastSession() ?? null; }
  get pageSessionId() { return this.#inner.pageSessionId ?? null; }
  timeLeftMs() { return this.#inner.timeLeftMs() ?? null; }
  setStep(step) { sync(() => this.#inner.setStep(step)); }
  setSelections(selections) { sync(() => this.#inner.setSelections(selections)); }
  record() { return sync(() => this.#inner.record()) ?? null; }
  storageStatus() { return this.#inner.storageStatus(); }
  submit(action, extra) { return later(this.#inner.submit(action, extra)); }
  resumePending(extra) { return later(this.#inner.resumePending(extra)); }
  forget() { this.#inner.forget(); }
  free() { this.#inner.free(); }
}

/** The core's verdict for a plain input (no network). */
export function evaluateVerdict(input) {
  needReady();
  return sync(() => wasm.evaluateVerdict(input));
}

/** What an order action still needs, from the core's rules. */
export function actionRequirements(action, shippingMethod = null, paymentMethod = null, hasPaymentToken = false) {
  needReady();
  return sync(() => wasm.actionRequirements(action, shippingMethod, paymentMethod, hasPaymentToken));
}

/** A fresh idempotency key for a keyed request the storefront sends itself. */
export function newIdempotencyKey() {
  needReady();
  return wasm.newIdempotencyKey();
}
