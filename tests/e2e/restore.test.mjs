// Recovering an expired checkout (CONTRACT §16) as a shopper would: the checkout expires
// (test clock), the shop changes a price, the shopper opens the link from the e-mail on
// another browser profile, signs in, sees what changed before anything can be ordered,
// and places the order at today's price. The link then works no more.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  launch, shopper, addToCart, advanceClock, startCheckout, choose, ready, noticeCode, shot, api, BASE, ADMIN,
} from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** The shop changes one product's price through the catalog API: read it, put it back. */
async function setPrice(sku, price) {
  const auth = { authorization: `Bearer ${ADMIN}` };
  const read = await fetch(`${BASE}/api/v1/admin/catalog`, { headers: auth });
  const doc = await read.json();
  const product = doc.products.find((p) => p.sku === sku);
  const r = await fetch(`${BASE}/api/v1/admin/catalog/products/${sku}`, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/json', 'if-match': read.headers.get('etag') },
    body: JSON.stringify({ ...product, unit_price: price }),
  });
  assert.equal(r.status, 200, await r.text());
}

test('an expired checkout comes back on another device with what changed, then orders at today\'s price', async () => {
  const { context: laptop, username } = await shopper(browser);
  await addToCart(laptop, 'CAKE-RED', 1);
  await addToCart(laptop, 'BRW-WALNUT', 2);
  const page = await laptop.newPage();
  const oldId = await startCheckout(page);
  await choose(page, { shipping: 'standard', payment: 'invoice' });
  const oldTotal = (await api(laptop, 'GET', `/checkouts/${oldId}`)).body.snapshot.totals.grand_total;

  await advanceClock(11 * 60);
  await setPrice('CAKE-RED', 3_599);
  try {
    // The account page offers to continue, with the e-mail a shop would send.
    await page.goto('/account/');
    await page.waitForFunction(() => document.body.dataset.ready === 'yes');
    assert.equal(await page.isVisible('#saved'), true);
    const link = await page.getAttribute('#mail-link', 'href');
    assert.match(link, /\/restore\/\?token=cgl1\./);
    // The cart offers it too.
    await page.goto('/cart/');
    await page.waitForFunction(() => document.body.dataset.ready === 'yes');
    // The same checkout (each offer is signed afresh, so the tokens differ by their time).
    const checkoutOf = (href) => JSON.parse(Buffer.from(new URL(href, BASE).searchParams.get('token').split('.')[1], 'base64url')).sid;
    assert.equal(checkoutOf(await page.getAttribute('#continue', 'href')), checkoutOf(link));
    assert.equal(checkoutOf(link), oldId);
    await shot(page, 'restore-1-account-offer');

    // Another browser profile, signed out: sign in, and the link does the rest.
    const phone = await browser.newContext({ baseURL: BASE });
    const other = await phone.newPage();
    const requests = [];
    other.on('request', (r) => { if (r.url().includes('/checkouts/restore')) requests.push(r.method()); });
    await other.goto(link);
    await other.waitForURL(/\/login\/\?next=/);
    await other.fill('input[name=username]', username);
    await other.fill('input[name=password]', 'e2e password');
    await other.click('button[value=login]');
    await other.waitForURL(/\/checkout\/\?id=/);
    await ready(other);
    const newId = new URL(other.url()).searchParams.get('id');
    assert.notEqual(newId, oldId);
    assert.deepEqual(requests, ['POST'], 'one restore request');

    // What changed is shown first; nothing can be ordered until the shopper read it.
    await other.waitForSelector('#changes:not([hidden])');
    const kinds = await other.$$eval('#changes-list li', (items) => items.map((i) => i.dataset.kind));
    assert.deepEqual(kinds, ['price_up', 'total_changed']);
    assert.match(await other.textContent('#changes-list'), /Red velvet cake now costs \$35\.99 \(was \$32\.99\)/);
    assert.equal(await other.isDisabled('#place'), true);
    await shot(other, 'restore-2-changes');
    await other.click('#changes-ok');
    await other.waitForFunction(() => !document.getElementById('place').disabled);

    const session = (await api(phone, 'GET', `/checkouts/${newId}`)).body;
    assert.ok(session.snapshot.totals.grand_total > oldTotal, 'dearer today');
    await other.click('#place');
    await other.waitForURL(/\/order\/\?id=/);
    const orderId = new URL(other.url()).searchParams.get('id');
    const order = (await api(phone, 'GET', `/orders/${orderId}`)).body;
    assert.equal(order.grand_total, session.snapshot.totals.grand_total);
    await shot(other, 'restore-3-ordered');

    // The link works once: opened again it says so, on the cart.
    await other.goto(link);
    await other.waitForURL((url) => url.pathname === '/cart/');
    assert.equal(await noticeCode(other), 'TOKEN_REPLAYED');
    await phone.close();
  } finally {
    await setPrice('CAKE-RED', 3_299);
    await laptop.close();
  }
});

test('a summary changed in another tab: Place Order says what changed, then orders the current one', async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'BRW-FUDGE', 2);
  const first = await context.newPage();
  const id = await startCheckout(first);
  await choose(first, { shipping: 'standard', payment: 'invoice' });
  // Another device applies a voucher: this page has not heard of it yet.
  const r = await api(context, 'POST', `/checkouts/${id}/vouchers`, { code: 'WELCOME10' });
  assert.equal(r.status, 200);
  const current = r.body.snapshot.totals.grand_total;
  await first.click('#place');
  await first.waitForSelector('#changes:not([hidden])');
  const kinds = await first.$$eval('#changes-list li', (items) => items.map((i) => i.dataset.kind));
  assert.deepEqual(kinds, ['voucher_added', 'total_changed']);
  assert.equal(await noticeCode(first), 'SNAPSHOT_MISMATCH');
  assert.equal(first.url().includes('/checkout/'), true, 'the shopper stays on the checkout');
  // The page shows the current summary; after reading the changes the order goes through.
  await first.waitForFunction((total) => window.__guard.lastSession()?.snapshot?.totals?.grand_total === total, current);
  await first.click('#changes-ok');
  await first.waitForFunction(() => !document.getElementById('place').disabled);
  await first.click('#place');
  await first.waitForURL(/\/order\/\?id=/);
  await context.close();
});
