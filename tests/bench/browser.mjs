// Browser figures for BENCHMARKS.md, in Debian's headless Chromium against the real
// server: time from navigation start to the first local verdict on the checkout page
// (cold load and refresh), and the cost of one local verdict (CheckoutGuard.localVerdict,
// which reads the record and runs the core) and of the pure evaluateVerdict.
// Run by `cargo xtask bench-browser`.
import { launch, shopper, addToCart, startCheckout, ready } from '../e2e/helpers.mjs';

const browser = await launch();
const { context } = await shopper(browser);
await addToCart(context, 'BRW-FUDGE', 2);
const page = await context.newPage();
await startCheckout(page);

const firstLocal = async () => page.evaluate(() => {
  const at = window.__verdicts.find((v) => v.source === 'local' && v.known).at;
  return [at, at - window.__scriptStart];
});
const loads = [];
const fromScript = [];
for (let i = 0; i < 20; i++) {
  await page.reload();
  await ready(page);
  const [nav, script] = await firstLocal();
  loads.push(nav);
  fromScript.push(script);
}
loads.sort((a, b) => a - b);
fromScript.sort((a, b) => a - b);

const perVerdict = await page.evaluate(async () => {
  const { evaluateVerdict } = await import('/pkg/checkout_guard.js');
  const guard = window.__guard;
  const n = 20000;
  for (let i = 0; i < 2000; i++) guard.localVerdict();
  let t = performance.now();
  for (let i = 0; i < n; i++) guard.localVerdict();
  const guardUs = ((performance.now() - t) * 1000) / n;
  const record = guard.record();
  const input = {
    session: { ...record.session },
    viewer: { user_id: record.session.user_id },
    action: 'view',
    now: new Date().toISOString(),
  };
  for (let i = 0; i < 2000; i++) evaluateVerdict(input);
  t = performance.now();
  for (let i = 0; i < n; i++) evaluateVerdict(input);
  const pureUs = ((performance.now() - t) * 1000) / n;
  // The floor under localVerdict(): reading the stored record from JavaScript alone.
  let text = 0;
  t = performance.now();
  for (let i = 0; i < n; i++) text += localStorage.getItem('checkout-guard').length;
  const getItemUs = ((performance.now() - t) * 1000) / n;
  return { guardUs, pureUs, getItemUs, text };
});
const median = loads[Math.floor(loads.length / 2)];
console.log('| measure | value |');
console.log('|---|---|');
console.log(`| navigation start → first local verdict (refresh, median of ${loads.length}) | ${median.toFixed(1)} ms |`);
console.log(`| navigation start → first local verdict (refresh, worst) | ${loads[loads.length - 1].toFixed(1)} ms |`);
console.log(`| page script start → first local verdict (wasm fetch + compile + guard; median) | ${fromScript[Math.floor(fromScript.length / 2)].toFixed(1)} ms |`);
console.log(`| one CheckoutGuard.localVerdict() (storage read + core verdict + answer) | ${perVerdict.guardUs.toFixed(2)} µs |`);
console.log(`| one evaluateVerdict() (JS object → core verdict → JS object) | ${perVerdict.pureUs.toFixed(2)} µs |`);
console.log(`| for comparison: one localStorage.getItem() of the record from JavaScript | ${perVerdict.getItemUs.toFixed(2)} µs |`);
await browser.close();
