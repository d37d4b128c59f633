// The package's plain API as a Vite user calls it (the package from npm, typed): the
// checks run before the React app mounts; `main.tsx` renders the app with their checkout.
import init, {
  CheckoutGuard, CheckoutGuardError, NotInitializedError, actionRequirements, evaluateVerdict,
  newIdempotencyKey, type DeliveredVerdict, type ErrorCodeName,
} from 'checkout-guard';

export const results: Record<string, unknown> = {};
const log = document.getElementById('verdicts')!;

// Before init(): a named error, not a wasm-bindgen internal.
try {
  newIdempotencyKey();
  results.beforeInit = 'no error';
} catch (e) {
  results.beforeInit = e instanceof NotInitializedError ? 'NotInitializedError' : String(e);
}

await init();

async function json(method: string, path: string, body?: unknown) {
  const r = await fetch(`/api/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: await r.json().catch(() => null) };
}

const user = `vite${Date.now() % 1_000_000}${Math.floor(Math.random() * 1000)}`;
await json('POST', '/auth/signup', { username: user, password: 'vite password' });
await json('POST', '/cart/items', { sku: 'BRW-FUDGE', quantity: 1 });
const started = await json('POST', '/checkouts');

const verdicts: DeliveredVerdict[] = [];
const guard = new CheckoutGuard({
  onVerdict: (v) => { verdicts.push(v); log.textContent += `${v.source} ${v.state} ${v.code ?? ''}\n`; },
  pageSessionId: started.body.id,
  headers: { 'x-storefront': 'vite-test' },
  redirects: { cart: '/basket/' },
});
guard.remember(started.body);
// Any number of listeners besides onVerdict (for frameworks and stores).
const heard: DeliveredVerdict[] = [];
const stop = guard.subscribe((v) => heard.push(v));
const server = await guard.attach();
results.serverState = server.state;
results.subscribed = heard.length > 0 && heard.length === verdicts.length
  && heard.every((v, i) => v === verdicts[i]) && guard.latestVerdict() === verdicts.at(-1);
stop();
stop();
await guard.check('after-stop');
results.afterStop = heard.length < verdicts.length && guard.latestVerdict() === verdicts.at(-1);
// Without onVerdict, and with the two functions handed on unbound (as React's
// useSyncExternalStore takes them).
const quiet = new CheckoutGuard({
  pageSessionId: started.body.id, storageKey: 'quiet', headers: { 'x-storefront': 'vite-test' },
});
const { subscribe, latestVerdict } = quiet;
const before = latestVerdict();
let told = 0;
// A listener that throws is reported (as an uncaught error) and keeps nothing from the
// listeners after it.
subscribe(() => { throw new Error('a listener bug'); });
subscribe(() => { told += 1; });
const quietServer = await quiet.check('unbound');
const latest = latestVerdict();
results.frozen = Object.isFrozen(latest) && Object.isFrozen(heard[0]);
results.unbound = {
  before, told, latestIsServer: latest?.source === 'server' && latest.state === quietServer.state,
};
results.requirements = actionRequirements('place_order', null, 'invoice', false).missing;
results.requirementsWithAddress = actionRequirements('place_order', null, 'invoice', false, true).missing;
results.key = newIdempotencyKey().length > 0;

// The server's answer to an order action the core refuses (no shipping method yet).
const answer = await guard.submit('place_order');
results.answer = { status: answer.status, pending: answer.pending };

// A checkout that is gone: the core's redirect, mapped to the storefront's page, and a
// refusal thrown as an Error subclass with the core's code.
const gone = evaluateVerdict({
  session: null, viewer: { user_id: 'u' }, action: 'view', now: new Date().toISOString(),
});
results.goneCode = gone.code;
const other = new CheckoutGuard({
  onVerdict: () => {}, pageSessionId: 'no-such-checkout', storageKey: 'other', redirects: { cart: '/basket/' },
  headers: { 'x-storefront': 'vite-test' },
});
const missing = await other.check('test');
results.goneRedirect = missing.redirect;
try {
  await other.submit('place_order');
  results.refusal = 'none';
} catch (e) {
  const code: ErrorCodeName | null = e instanceof CheckoutGuardError ? e.code : null;
  results.refusal = { isError: e instanceof Error, code };
}

/** The checkout the checks started, which the React app guards. */
export const checkoutId: string = started.body.id;
