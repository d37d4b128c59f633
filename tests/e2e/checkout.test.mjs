// End-to-end behaviour of the demo storefront in real headless Chromium, one test per
// behaviour of the spec and CONTRACT §9.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  launch, shopper, addToCart, api, advanceClock, startCheckout, ready, noticeCode, shot, openCart, choose,
} from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('initiation: proceed to checkout shows the numbered, priced snapshot and a countdown', async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'BRW-FUDGE', 3);
  await addToCart(context, 'CAKE-CHOC', 1);
  const page = await context.newPage();
  const id = await startCheckout(page);
  assert.match(await page.textContent('#number'), /^CO-\d{8}-\d{6,}$/);
  assert.equal(await page.$$eval('#summary tbody tr', (rows) => rows.length), 2);
  await page.waitForFunction(() => /^\d+:\d\d$/.test(document.getElementById('countdown').textContent));
  assert.match(await page.textContent('#countdown'), /^(10:00|9:\d\d)$/);
  const verdicts = await page.evaluate(() => window.__verdicts.map((v) => `${v.source}:${v.state}`));
  assert.ok(verdicts.includes('server:ACTIVE'), verdicts.join());
  const record = await page.evaluate(() => window.__guard.record());
  assert.equal(record.session.id, id);
  await shot(page, '01-checkout');
  await context.close();
});

test('two tabs: the older tab is blocked at once, on its next action and when shown again', async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'CKE-CHOC', 2);
  const older = await context.newPage();
  const olderId = await startCheckout(older);
  const newer = await context.newPage();
  const newerId = await startCheckout(newer);
  assert.notEqual(olderId, newerId);
  // Its next action is refused locally by the core, before any request.
  const local = await older.evaluate(() => window.__guard.localVerdict());
  assert.equal(local.state, 'INACTIVE');
  assert.equal(local.code, 'CHECKOUT_SUPERSEDED');
  const refused = await older.evaluate(() => window.__guard.submit('place_order', {}).then(() => null, (e) => e.code));
  assert.equal(refused, 'CHECKOUT_SUPERSEDED');
  // Shown again, it re-validates and goes to the cart with the message.
  await older.bringToFront();
  await older.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
  await older.waitForURL(/\/cart\/$/);
  assert.equal(await noticeCode(older), 'CHECKOUT_SUPERSEDED');
  await shot(older, '02-older-tab-superseded');
  // The newer one is the one live checkout.
  const active = await api(context, 'GET', '/checkouts/active');
  assert.equal(active.body.id, newerId);
  await context.close();
});

test('expiry: actions are blocked, the shopper is sent to the cart, the cart is kept', async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'BRW-WALNUT', 2);
  const page = await context.newPage();
  await startCheckout(page);
  await advanceClock(10 * 60);
  await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
  await page.waitForURL(/\/cart\/$/);
  assert.equal(await noticeCode(page), 'CHECKOUT_EXPIRED');
  await page.waitForSelector('#cart tbody tr');
  assert.equal(await page.$$eval('#cart tbody tr', (rows) => rows.length), 1);
  await shot(page, '03-expired-cart-kept');
  await context.close();
});

test('refresh restores progress: the same checkout with its selections', async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'CAKE-RED', 1);
  const page = await context.newPage();
  const id = await startCheckout(page);
  const number = await page.textContent('#number');
  await page.check('input[name=shipping][value=express]');
  await page.waitForFunction(() => window.__guard.record().selections.shipping_method === 'express');
  await page.check('input[name=payment][value=card]');
  await page.waitForFunction(() => window.__guard.record().selections.payment_method === 'card');
  await page.reload();
  await ready(page);
  assert.equal(new URL(page.url()).searchParams.get('id'), id);
  assert.equal(await page.textContent('#number'), number);
  await page.waitForSelector('input[name=shipping][value=express]:checked');
  assert.ok(await page.isChecked('input[name=payment][value=card]'));
  await context.close();
});

test('back/forward after an order: the restored checkout page knows the order exists', async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'BRW-FUDGE', 1);
  const page = await context.newPage();
  const id = await startCheckout(page);
  await choose(page);
  await page.click('#place');
  await page.waitForURL(/\/order\/\?id=/);
  const orderUrl = page.url();
  await page.waitForSelector('#order-status');
  await shot(page, '05-order-confirmation');
  // (A page restored from the back-forward cache fires no new load event: wait for the
  // navigation to commit only.)
  await page.goBack({ waitUntil: 'commit' });
  // Restored from the back-forward cache, the checkout page re-validates and shows the
  // order instead of allowing a second one.
  await page.waitForURL(orderUrl);
  await page.waitForSelector('#order-status');
  const session = await api(context, 'GET', `/checkouts/${id}`);
  assert.equal(session.body.status, 'COMPLETED');
  // Forward again lands on the same confirmation.
  await page.goForward().catch(() => {});
  assert.match(page.url(), /\/order\/\?id=/);
  await context.close();
});

test('a checkout page restored from the back-forward cache re-validates (pageshow persisted)', async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'CKE-OAT', 1);
  const page = await context.newPage();
  await startCheckout(page);
  const verdictsBefore = await page.evaluate(() => window.__verdicts.length);
  await page.goto('/');
  await page.goBack({ waitUntil: 'commit' });
  // The same page came back from the cache (its script state survived, no new load)
  // and re-validated on `pageshow`, locally and with the server.
  const restored = await page.waitForFunction((n) => {
    const after = window.__verdicts.slice(n);
    return after.some((v) => v.reason === 'bfcache' && v.source === 'server') && after;
  }, verdictsBefore);
  const after = await restored.jsonValue();
  assert.ok(after.some((v) => v.reason === 'bfcache' && v.source === 'local' && v.state === 'ACTIVE'));
  assert.ok(!after.some((v) => v.reason === 'load'), 'restored, not reloaded');
  // Restored after the window closed: blocked and sent to the cart.
  await page.goto('/');
  await advanceClock(10 * 60);
  await page.goBack({ waitUntil: 'commit' });
  await page.waitForURL(/\/cart\/$/);
  assert.equal(await noticeCode(page), 'CHECKOUT_EXPIRED');
  await context.close();
});

test('opening /checkout with no session goes to the cart with a message, every time', async () => {
  const { context } = await shopper(browser);
  const page = await context.newPage();
  for (let run = 0; run < 5; run += 1) {
    await page.goto('/checkout/');
    await page.waitForURL(/\/cart\/$/);
    assert.equal(await noticeCode(page), 'CHECKOUT_NOT_FOUND', `run ${run}`);
  }
  await context.close();
});

test('a cart change in another tab leaves the checkout as it was', async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'BRW-BLONDIE', 2);
  const page = await context.newPage();
  await startCheckout(page);
  const total = await page.textContent('#grand-total');
  const cartTab = await context.newPage();
  await openCart(cartTab);
  await cartTab.fill('#cart input.qty', '7');
  await cartTab.dispatchEvent('#cart input.qty', 'change');
  await cartTab.waitForFunction(() => document.querySelector('#cart input.qty')?.value === '7');
  await page.reload();
  await ready(page);
  assert.equal(await page.textContent('#grand-total'), total);
  assert.equal(await page.$eval('#summary tbody tr td.num', (td) => td.textContent), '2');
  await context.close();
});

test('connection dropped during place order: exactly one order after reconnecting', async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'CAKE-CHOC', 1);
  const page = await context.newPage();
  const id = await startCheckout(page);
  const keys = [];
  // The first attempt reaches the server (the order is made) but its answer is lost.
  await page.route('**/place-order', async (route) => {
    keys.push(route.request().headers()['idempotency-key']);
    if (keys.length === 1) {
      await route.fetch();
      await route.abort('connectionreset');
    } else {
      await route.continue();
    }
  });
  await choose(page);
  await page.click('#place');
  await page.waitForFunction(() => document.getElementById('notice').dataset.code === 'REQUEST_IN_PROGRESS');
  const pending = await page.evaluate(() => window.__guard.record().pending);
  assert.ok(pending?.idempotency_key, 'the pending action was stored before the request left');
  // Back online: the module retries with the same key and gets the order.
  await context.setOffline(true);
  await context.setOffline(false);
  await page.waitForURL(/\/order\/\?id=/);
  assert.equal(keys.length, 2);
  assert.equal(keys[0], keys[1], 'the retry reused the idempotency key');
  const session = await api(context, 'GET', `/checkouts/${id}`);
  assert.equal(session.body.status, 'COMPLETED');
  assert.equal(new URL(page.url()).searchParams.get('id'), session.body.order_id);
  await context.close();
});

test('paying in one tab while starting checkout in another: PAYMENT_IN_PROGRESS, the payment completes', async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'BOX-GIFT', 1);
  const paying = await context.newPage();
  await startCheckout(paying);
  await choose(paying, { payment: 'card' });
  await paying.fill('#card', '4000000000000077'); // slow: charged at once, answered after 2 s
  await paying.click('#pay');
  const other = await context.newPage();
  await openCart(other);
  await other.click('#proceed');
  assert.equal(await noticeCode(other), 'PAYMENT_IN_PROGRESS');
  await shot(other, '09-payment-in-progress');
  await paying.waitForURL(/\/order\/\?id=/, { timeout: 15000 });
  await paying.waitForSelector('#order-status[data-status=PAID]');
  await context.close();
});

test('removing the last line ends the checkout and the cart shows empty', async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'CKE-CHOC', 1);
  const page = await context.newPage();
  await startCheckout(page);
  await page.click('#summary .remove');
  await page.waitForURL(/\/cart\/$/);
  await page.waitForSelector('#empty');
  assert.equal(await noticeCode(page), 'CHECKOUT_INACTIVE');
  const said = await page.textContent('#notice');
  assert.match(said, /removed the last item/);
  assert.doesNotMatch(said, /cart is kept/, 'an empty cart is not "kept"');
  await shot(page, '10-last-line-removed-cart-empty');
  await context.close();
});

test('storage disabled: checkout still works, server-only, and says so', async () => {
  const { context } = await shopper(browser);
  await context.addInitScript(() => {
    Object.defineProperty(window, 'localStorage', { get() { throw new DOMException('denied', 'SecurityError'); } });
  });
  await addToCart(context, 'BRW-FUDGE', 1);
  const page = await context.newPage();
  await startCheckout(page);
  assert.equal(await page.$eval('#storage', (s) => s.dataset.status), 'unavailable');
  await choose(page);
  await page.click('#place');
  await page.waitForURL(/\/order\/\?id=/);
  await context.close();
});

test('garbage in storage is discarded without breaking checkout', async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'BRW-FUDGE', 1);
  const page = await context.newPage();
  await page.goto('/');
  await page.evaluate(() => localStorage.setItem('checkout-guard', '{"version":1,"session":"nope"'));
  await startCheckout(page);
  const record = await page.evaluate(() => window.__guard.record());
  assert.ok(record?.session?.id, 'a fresh record replaced the garbage');
  await choose(page);
  await page.click('#place');
  await page.waitForURL(/\/order\/\?id=/);
  await context.close();
});
