// Browser figures for BENCHMARKS.md, in Debian's headless Chromium against the real
// server: time from navigation to the first local verdict on the checkout page (reload,
// split at the page's first script; Back into the back-forward cache), and the cost of
// one local verdict (CheckoutGuard.localVerdict, which reads the record and runs the
// core) and of the pure evaluateVerdict.
// Run by `cargo xtask bench-browser`.
import { launch, shopper, addToCart, startCheckout, ready } from '../e2e/helpers.mjs';

const browser = await launch();
const { context } = await shopper(browser);
await addToCart(context, 'BRW-FUDGE', 2);
const page = await context.newPage();
await startCheckout(page);

// Reloads: navigation start → first local verdict, split at the page's first script
// (the `checkout-guard:first-script` mark in the checkout page's <head>): before it the
// browser alone (request, commit, parse); after it the page's own work (wasm fetch and
// compile, the guard, the core).
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const loads = [];
const firstScript = [];
const own = [];
for (let i = 0; i < 20; i++) {
  await page.reload();
  await ready(page);
  const [at, mark] = await page.evaluate(() => [
    window.__verdicts.find((v) => v.source === 'local' && v.known).at,
    performance.getEntriesByName('checkout-guard:first-script')[0].startTime,
  ]);
  loads.push(at);
  firstScript.push(mark);
  own.push(at - mark);
}

// The same reloads on a 50 ms round trip (Chromium's network emulation): what a shopper
// on a real connection waits, where every request the page makes before its first
// verdict costs a round trip.
const cdp = await context.newCDPSession(page);
await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 50, downloadThroughput: -1, uploadThroughput: -1 });
const slowLoads = [];
for (let i = 0; i < 10; i++) {
  await page.reload();
  await ready(page);
  slowLoads.push(await page.evaluate(() => window.__verdicts.find((v) => v.source === 'local' && v.known).at));
}
await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

// Back-forward cache: leave for the home page and go Back; the restored page gives a
// local verdict on visibilitychange/pageshow. Timed from the moment Back is sent.
const restores = [];
for (let i = 0; i < 10; i++) {
  const seen = await page.evaluate(() => window.__verdicts.length);
  await page.goto('/');
  const sent = Date.now();
  await page.goBack({ waitUntil: 'commit' });
  const verdict = await page.waitForFunction((n) => {
    const v = window.__verdicts.slice(n).find((x) => x.source === 'local');
    return v && { wall: performance.timeOrigin + v.at, reason: v.reason };
  }, seen);
  const { wall, reason } = await verdict.jsonValue();
  if (reason === 'load') throw new Error('the checkout page was reloaded, not restored from the back-forward cache');
  restores.push(wall - sent);
}
await ready(page);

// Per-call costs: the median of 15 batches of 10,000 calls each (one batch is a few
// milliseconds, so a batch hit by a GC or another process does not move the figure).
const perVerdict = await page.evaluate(async () => {
  // The page's own, initialized instance of the module (its versioned address).
  const { evaluateVerdict } = await import(document.querySelector('link[rel=modulepreload][href$="/pkg/checkout_guard.js"]').href);
  const perCallUs = (fn) => {
    const n = 10000;
    for (let i = 0; i < 2000; i++) fn();
    const batches = [];
    for (let b = 0; b < 15; b++) {
      const t = performance.now();
      for (let i = 0; i < n; i++) fn();
      batches.push(((performance.now() - t) * 1000) / n);
    }
    batches.sort((a, b) => a - b);
    return batches[7];
  };
  const guard = window.__guard;
  const guardUs = perCallUs(() => guard.localVerdict());
  const record = guard.record();
  const input = {
    session: { ...record.session },
    viewer: { user_id: record.session.user_id },
    action: 'view',
    now: new Date().toISOString(),
  };
  const pureUs = perCallUs(() => evaluateVerdict(input));
  // The floor under localVerdict(): reading the stored record from JavaScript alone.
  let text = 0;
  const getItemUs = perCallUs(() => { text += localStorage.getItem('checkout-guard').length; });
  return { guardUs, pureUs, getItemUs, text };
});
// Two idle tabs on one checkout for a minute: every API request either sends.
const second = await context.newPage();
await second.goto(page.url());
await second.waitForFunction(() => document.body.dataset.ready === 'yes');
await new Promise((r) => setTimeout(r, 2000));
let idleRequests = 0;
for (const p of [page, second]) {
  p.on('request', (r) => { if (new URL(r.url()).pathname.startsWith('/api/')) idleRequests += 1; });
}
await new Promise((r) => setTimeout(r, 60_000));
await second.close();

const worst = (xs) => Math.max(...xs);
console.log('| measure | value |');
console.log('|---|---|');
console.log(`| reload: navigation start → first local verdict (median of ${loads.length}; worst) | ${median(loads).toFixed(1)} ms; ${worst(loads).toFixed(1)} ms |`);
console.log(`| reload: navigation start → the page's first script (the browser alone; median) | ${median(firstScript).toFixed(1)} ms |`);
console.log(`| reload: first script → first local verdict (wasm fetch + compile + guard; median) | ${median(own).toFixed(1)} ms |`);
console.log(`| reload on a 50 ms round trip (emulated): navigation start → first local verdict (median of ${slowLoads.length}) | ${median(slowLoads).toFixed(1)} ms |`);
console.log(`| Back to a page in the back-forward cache → local verdict (median of ${restores.length}; worst) | ${median(restores).toFixed(1)} ms; ${worst(restores).toFixed(1)} ms |`);
console.log(`| one CheckoutGuard.localVerdict() (storage read + core verdict + answer; median of 15 batches) | ${perVerdict.guardUs.toFixed(2)} µs |`);
console.log(`| one evaluateVerdict() (JS object → core verdict → JS object; median of 15 batches) | ${perVerdict.pureUs.toFixed(2)} µs |`);
console.log(`| for comparison: one localStorage.getItem() of the record from JavaScript | ${perVerdict.getItemUs.toFixed(2)} µs |`);
console.log(`| two idle tabs on one checkout: API requests in 60 s | ${idleRequests} |`);
await browser.close();
