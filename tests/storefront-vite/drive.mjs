// Drives the Vite storefront (dev server or production preview) in Debian's headless
// Chromium and checks what the page found: `node drive.mjs <url> <label>`.
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const [url, label] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const wasm = [];
  page.on('response', (r) => {
    // (`?url` is Vite's module that gives the file's address, not the module itself.)
    const at = new URL(r.url());
    if (at.pathname.endsWith('.wasm') && !at.searchParams.has('url')) wasm.push({ status: r.status(), type: r.headers()['content-type'] });
  });
  const headers = [];
  let checkoutRequests = 0;
  page.on('request', (r) => {
    if (!new URL(r.url()).pathname.startsWith('/api/v1/checkouts/')) return;
    headers.push(r.headers()['x-storefront'] ?? null);
    checkoutRequests += 1;
  });
  await page.goto(url);
  await page.waitForFunction(() => window.results, null, { timeout: 60_000 }).catch(() => {});
  const results = await page.evaluate(() => window.results ?? null);
  // The one listener that throws on purpose (two verdicts), reported and nothing else.
  const reported = errors.filter((e) => e.includes('a listener bug'));
  assert.deepEqual(errors.filter((e) => !e.includes('a listener bug')), [], `page errors: ${errors.join('; ')}`);
  assert.equal(reported.length, 2, `errors of the listener that throws: ${JSON.stringify(errors)}`);
  assert.deepEqual(results, {
    beforeInit: 'NotInitializedError',
    serverState: 'ACTIVE',
    subscribed: true,
    afterStop: true,
    frozen: true,
    unbound: { before: null, told: 2, latestIsServer: true },
    requirements: ['shipping_address', 'shipping_method'],
    requirementsWithAddress: ['shipping_method'],
    key: true,
    answer: { status: 422, pending: false },
    goneCode: 'CHECKOUT_NOT_FOUND',
    goneRedirect: '/basket/',
    refusal: { isError: true, code: 'CHECKOUT_NOT_FOUND' },
  });
  assert.ok(wasm.length >= 1 && wasm.every((w) => w.status === 200 && w.type?.startsWith('application/wasm')),
    `the module was served as ${JSON.stringify(wasm)}`);
  assert.ok(headers.length >= 1 && headers.every((h) => h === 'vite-test'), `extra header: ${JSON.stringify(headers)}`);
  // The React app (StrictMode: in development the provider mounts, unmounts and mounts
  // again): the hook shows the server's verdict for the checkout.
  const shown = page.locator('#react-verdict[data-source="server"]');
  await shown.waitFor({ timeout: 30_000 });
  assert.equal(await shown.getAttribute('data-state'), 'ACTIVE');
  assert.equal(await shown.textContent(), 'Your checkout is ready.');
  // Re-rendering the page (options written inline, new objects each time) makes no new
  // guard and sends nothing.
  await page.waitForTimeout(500);
  const before = checkoutRequests;
  for (let i = 0; i < 20; i += 1) await page.click('#react-rerender');
  await page.waitForTimeout(1_000);
  assert.equal(await page.textContent('#react-rerender'), 'Re-render (20)');
  assert.equal(checkoutRequests, before, 'a re-render sent a request');
  const renders = await page.evaluate(() => window.renderCount());
  assert.ok(renders < 120, `CheckoutStatus rendered ${renders} times for 20 re-renders`);
  // A check the component asks for arrives through the hook.
  await page.click('#react-check');
  await page.locator('#react-verdict[data-source="server"][data-reason="button"]').waitFor({ timeout: 10_000 });
  assert.equal(checkoutRequests, before + 1, 'one check, one request');
  // The time left, and a countdown that moves by itself.
  const left = Number(await page.getAttribute('#react-time-left', 'data-ms'));
  assert.ok(left > 60_000 && left <= 30 * 60_000, `time left ${left}`);
  const first = Number(await page.getAttribute('#react-countdown', 'data-ms'));
  await page.waitForFunction((f) => Number(document.getElementById('react-countdown').dataset.ms) < f - 400, first);
  // submit through the hook: the server's answer (no address yet: 422), pending while
  // it was on its way and not after.
  await page.click('#react-place');
  await page.waitForFunction(() => document.getElementById('react-answer').textContent !== '');
  assert.equal(await page.textContent('#react-answer'), '422 decided');
  assert.equal(await page.getAttribute('#react-answer', 'data-pending'), 'false');
  assert.equal(await page.isDisabled('#react-place'), false);
  // Another checkout: a new guard for it (the old one freed), its own server verdict.
  await page.click('#react-switch');
  await page.locator('#react-verdict[data-source="server"][data-state="NOT_FOUND"]').waitFor({ timeout: 10_000 });
  await page.click('#react-switch');
  await page.locator('#react-verdict[data-source="server"][data-state="ACTIVE"]').waitFor({ timeout: 10_000 });
  console.log(`storefront-vite react ${label}: ok (the hook showed the server's verdict; 20 re-renders sent no request, ${renders} renders; another checkout got its own guard)`);
  assert.deepEqual(errors.filter((e) => !e.includes('a listener bug')), [], `page errors: ${errors.join('; ')}`);
  console.log(`storefront-vite ${label}: ok (${wasm.length} module fetch, ${headers.length} guard requests with the extra header)`);
} finally {
  await browser.close();
}
