// The checkout page under outages (CONTRACT §12) and the order-action rules of §5a, in
// real headless Chromium against the real server; faults are injected with Playwright's
// request interception.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  launch, shopper, addToCart, api, startCheckout, ready, shot, choose, giveAddress,
} from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const noticeCode = (page) => page.$eval('#notice', (n) => (n.hidden ? '' : n.dataset.code));

const FAULTS = {
  'a 500 problem': (route) => route.fulfill({
    status: 500,
    contentType: 'application/problem+json',
    body: JSON.stringify({ type: '/problems#internal-error', title: 'Internal error', status: 500, detail: 'boom', code: 'INTERNAL_ERROR', redirect: null }),
  }),
  'a 503 HTML page from a proxy': (route) => route.fulfill({
    status: 503, contentType: 'text/html', body: '<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>',
  }),
  'a 404 HTML page from a proxy': (route) => route.fulfill({
    status: 404, contentType: 'text/html', body: '<html><body>Not Found</body></html>',
  }),
  'a dropped connection': (route) => route.abort('connectionreset'),
};

test('an outage on GET /checkouts/{id} keeps the shopper on the checkout, says so, and recovers by itself', async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'BRW-FUDGE', 1);
  const page = await context.newPage();
  const id = await startCheckout(page);
  const url = page.url();
  for (const [name, fault] of Object.entries(FAULTS)) {
    let failing = true;
    let hits = 0;
    const pattern = `**/api/v1/checkouts/${id}`;
    await page.route(pattern, async (route) => {
      if (route.request().method() !== 'GET' || !failing) return route.continue();
      hits += 1;
      return fault(route);
    });
    const before = await page.evaluate(() => window.__verdicts.length);
    page.evaluate(() => window.__guard.check('test')).catch(() => {});
    await page.waitForFunction(() => document.getElementById('notice').dataset.code === 'SERVICE_UNAVAILABLE');
    assert.match(await page.textContent('#notice'), /briefly unreachable/, name);
    // The module retries by itself (1 s, then 2 s, …): still failing, the shopper stays.
    await page.waitForFunction((n) => window.__verdicts.slice(n).some((v) => v.reason === 'retry' && v.source === 'unreachable'), before);
    assert.equal(page.url(), url, `${name}: the shopper was not moved`);
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'ACTIVE', name);
    if (name === 'a 503 HTML page from a proxy') await shot(page, '11-outage-message');
    failing = false;
    // The next retry reaches the server: the message goes, the checkout is usable.
    await page.waitForFunction(() => document.getElementById('notice').hidden, null, { timeout: 15000 });
    assert.equal(page.url(), url, name);
    assert.ok(hits >= 2, `${name}: ${hits} failed request(s)`);
    await page.unroute(pattern);
    const session = await api(context, 'GET', `/checkouts/${id}`);
    assert.equal(session.body.status, 'ACTIVE', name);
  }
  await context.close();
});

test('a 502 on place order after the order was made: the retry with the same key ends on that one order', async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'CAKE-CHOC', 1);
  const page = await context.newPage();
  const id = await startCheckout(page);
  await choose(page);
  const keys = [];
  await page.route('**/place-order', async (route) => {
    keys.push(route.request().headers()['idempotency-key']);
    if (keys.length === 1) {
      const real = await route.fetch(); // the server makes the order …
      assert.equal(real.status(), 201);
      return route.fulfill({ status: 502, contentType: 'text/html', body: '<h1>502 Bad Gateway</h1>' }); // … the proxy loses it
    }
    return route.continue();
  });
  await page.click('#place');
  await page.waitForURL(/\/order\/\?id=/, { timeout: 15000 });
  assert.equal(keys.length, 2, 'one retry');
  assert.equal(keys[0], keys[1], 'the retry reused the idempotency key');
  const session = await api(context, 'GET', `/checkouts/${id}`);
  assert.equal(session.body.status, 'COMPLETED');
  assert.equal(new URL(page.url()).searchParams.get('id'), session.body.order_id, 'the page shows the one order');
  await context.close();
});

const buttons = (page) => page.evaluate(() => Object.fromEntries(['place', 'pay', 'approval']
  .map((id) => [id, !document.getElementById(id).disabled])));

test('order buttons follow the core: none before the first verdict, then only what the server would take', async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'BRW-FUDGE', 1);
  const page = await context.newPage();
  const id = await startCheckout(page);
  // Nothing chosen yet: no order action is possible, and the page says what to choose.
  assert.deepEqual(await buttons(page), { place: false, pay: false, approval: false });
  assert.match(await page.textContent('#needs'), /shipping address/);
  await giveAddress(page);
  await page.waitForFunction(() => !/shipping address/.test(document.getElementById('needs').textContent));
  assert.match(await page.textContent('#needs'), /shipping method/);
  await page.check('input[name=shipping][value=standard]');
  await page.waitForFunction(() => !document.getElementById('approval').disabled);
  assert.deepEqual(await buttons(page), { place: false, pay: false, approval: true });
  await choose(page, { payment: 'invoice' });
  assert.deepEqual(await buttons(page), { place: true, pay: false, approval: true });
  assert.match(await page.getAttribute('#pay', 'title'), /Pay Now charges a card/);
  await choose(page, { payment: 'card' });
  assert.deepEqual(await buttons(page), { place: false, pay: true, approval: true });
  assert.match(await page.getAttribute('#place', 'title'), /Pay Now/);
  await page.fill('#card', '');
  assert.deepEqual(await buttons(page), { place: false, pay: false, approval: true });
  await shot(page, '12-buttons-follow-requirements');
  // A reload while the server is slow: nothing can be pressed before its verdict.
  let release;
  const held = new Promise((r) => { release = r; });
  await page.route(`**/api/v1/checkouts/${id}`, async (route) => { await held; return route.continue(); });
  await page.reload({ waitUntil: 'domcontentloaded' });
  await page.waitForFunction(() => window.__verdicts?.some((v) => v.source === 'local'));
  assert.deepEqual(await buttons(page), { place: false, pay: false, approval: false });
  release();
  await ready(page);
  await page.waitForFunction(() => !document.getElementById('approval').disabled);
  await context.close();
});

test('two idle tabs on one checkout stay quiet', async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'BRW-FUDGE', 1);
  const first = await context.newPage();
  const id = await startCheckout(first);
  const second = await context.newPage();
  await second.goto(`/checkout/?id=${id}`);
  await ready(second);
  await new Promise((r) => setTimeout(r, 1000)); // let both settle
  let requests = 0;
  for (const page of [first, second]) {
    page.on('request', (r) => { if (r.url().includes('/api/')) requests += 1; });
  }
  await new Promise((r) => setTimeout(r, 10_000));
  assert.ok(requests <= 6, `${requests} API requests in 10 s from two idle tabs`);
  // A change in one tab still reaches the other.
  await choose(first);
  await second.waitForFunction(() => document.querySelector('input[name=shipping][value=standard]')?.checked
    || window.__guard.record().selections.shipping_method === 'standard');
  await context.close();
});

test('a shipping change that does not reach the shop shows the confirmed method, says so next to it, keeps the focus, and can be retried', async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'BRW-FUDGE', 1);
  const page = await context.newPage();
  const id = await startCheckout(page);
  await choose(page, { shipping: 'standard', payment: 'invoice' });
  for (const [name, fault] of Object.entries(FAULTS)) {
    const pattern = `**/api/v1/checkouts/${id}/shipping-method`;
    await page.route(pattern, fault);
    await page.focus('input[name=shipping][value=standard]');
    await page.keyboard.press('ArrowDown'); // to express: a change event, as a keyboard user makes it
    await page.waitForFunction(() => /Not saved/.test(document.getElementById('shipping-said').textContent));
    // The page shows what the shop has, not the choice that was lost.
    assert.equal(await page.isChecked('input[name=shipping][value=standard]'), true, name);
    assert.equal(await page.isChecked('input[name=shipping][value=express]'), false, name);
    assert.equal(await page.evaluate(() => document.activeElement?.name), 'shipping', `focus stays (${name})`);
    const said = await page.$eval('#shipping-said', (p) => ({ text: p.textContent, role: p.getAttribute('role') }));
    assert.match(said.text, /could not be reached/, name);
    assert.equal(said.role, 'status');
    const server = (await api(context, 'GET', `/checkouts/${id}`)).body;
    assert.equal(server.snapshot.shipping_method.id, 'standard', name);
    await page.unroute(pattern);
  }
  await shot(page, 'outage-shipping-not-saved');
  // The retry, once the shop answers again, saves it.
  await page.click('#shipping-said button');
  await page.waitForFunction(() => /Saved/.test(document.getElementById('shipping-said').textContent));
  assert.equal(await page.isChecked('input[name=shipping][value=express]'), true);
  const server = (await api(context, 'GET', `/checkouts/${id}`)).body;
  assert.equal(server.snapshot.shipping_method.id, 'express');
  await context.close();
});
