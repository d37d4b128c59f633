// The scenarios that matter most, in one engine (`ENGINE`: chromium, firefox, webkit;
// `cargo xtask test` runs this file once per engine): two tabs, an outage, a lost order
// answer, back/forward with the back-forward cache, and a payment at the bank's page.
// The browser reaches the server through a proxy of this process (proxy.mjs) that fails
// on command, so no engine needs request interception.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from './proxy.mjs';
import { By } from 'selenium-webdriver';
import { DRIVEN_BY, ENGINE_NAME, openBrowser, postFromPage, run, until, click, type } from './driver.mjs';
import { CHALLENGE_CARD, atProvider } from '../provider.mjs';

const BASE = process.env.E2E_BASE_URL;
if (!BASE) throw new Error('E2E_BASE_URL is set by `cargo xtask test`');

let proxy;
before(async () => {
  proxy = await startProxy(BASE);
  console.log(`${ENGINE_NAME}, driven by ${DRIVEN_BY}`);
});
after(async () => { await proxy?.close(); });

let counter = 0;
/** A new browser with a signed-up shopper whose cart holds `sku`. */
async function shopperWith(sku) {
  const driver = await openBrowser();
  await driver.get(`${proxy.url}/`);
  const username = `${ENGINE_NAME.toLowerCase()}${process.pid}x${Date.now() % 100000}x${counter++}`;
  assert.equal(await postFromPage(driver, '/auth/signup', { username, password: 'engine password' }), 201);
  assert.equal(await postFromPage(driver, '/cart/items', { sku, quantity: 1 }), 201);
  return driver;
}

const ready = (driver) => until(driver, "document.body.dataset.ready === 'yes'");
const sessionOf = (driver, id) => run(driver, 'return fetch(arguments[0]).then((r) => r.json())', `/api/v1/checkouts/${id}`);

async function startCheckout(driver) {
  await driver.get(`${proxy.url}/cart/`);
  await ready(driver);
  await click(driver, '#proceed');
  await until(driver, "location.pathname === '/checkout/' && document.body.dataset.ready === 'yes'");
  return run(driver, "return new URLSearchParams(location.search).get('id')");
}

/** An address, standard shipping and `payment`, each confirmed by the server. */
async function choose(driver, payment = 'invoice') {
  for (const [field, value] of [['#a-name', 'Erika Shopper'], ['#a-line1', '1 Main Street'],
    ['#a-postal_code', '12345'], ['#a-city', 'Springfield'], ['#a-country', 'US']]) {
    await type(driver, field, value);
  }
  await click(driver, '#address-save');
  await until(driver, "document.getElementById('address-said').textContent.startsWith('Address saved.')");
  for (const [name, value] of [['shipping', 'standard'], ['payment', payment]]) {
    await click(driver, `input[name=${name}][value=${value}]`);
    await until(driver, `window.__guard.record()?.selections?.${name}_method === '${value}'`);
  }
  await until(driver, "!document.getElementById('place').disabled || !document.getElementById('pay').disabled");
}

const onOrderPage = (driver) => until(driver, "location.pathname === '/order/' && !!document.getElementById('order-status')",
  30_000, 'the order page');

/** The API requests the proxy saw for one checkout's order action. */
const orderRequests = (id, action) => proxy.state.seen.filter((s) => s.line === `POST /api/v1/checkouts/${id}/${action}`);

test(`${ENGINE_NAME}: two tabs on one checkout — an order in one, the other shows that order and cannot order again`, async () => {
  const driver = await shopperWith('BRW-FUDGE');
  try {
    const id = await startCheckout(driver);
    await choose(driver);
    const first = await driver.getWindowHandle();
    await driver.switchTo().newWindow('tab');
    const second = await driver.getWindowHandle();
    await driver.get(`${proxy.url}/checkout/?id=${id}`);
    await ready(driver);
    await driver.switchTo().window(first);
    await click(driver, '#place');
    await onOrderPage(driver);
    // The other tab learns it (from the shared record, or the server when shown) and
    // moves to the same order; a place-order sent from it would be refused locally.
    await driver.switchTo().window(second);
    await run(driver, "document.dispatchEvent(new Event('visibilitychange'))");
    await onOrderPage(driver);
    const session = await sessionOf(driver, id);
    assert.equal(session.status, 'COMPLETED');
    assert.equal(await run(driver, "return new URLSearchParams(location.search).get('id')"), session.order_id);
    assert.equal(orderRequests(id, 'place-order').length, 1, 'one place-order request left the two tabs');
  } finally {
    await driver.quit();
  }
});

test(`${ENGINE_NAME}: an outage (the proxy's 502 page) at place order — the page says so, and once the shop is back one order is made`, async () => {
  const driver = await shopperWith('CAKE-CHOC');
  try {
    const id = await startCheckout(driver);
    await choose(driver);
    proxy.state.down = true;
    try {
      await click(driver, '#place');
      // The page first says it is sending (an info notice, no code). Lift the outage only
      // once the place-order met it and the page shows the outage's message.
      await driver.wait(async () => orderRequests(id, 'place-order').length >= 1, 10_000, 'a place-order during the outage');
      await until(driver, "document.getElementById('notice').dataset.code === 'SERVICE_UNAVAILABLE'",
        10_000, 'a message about the outage');
      assert.equal(await run(driver, "return location.pathname"), '/checkout/', 'never moved on an outage');
    } finally {
      proxy.state.down = false;
    }
    await onOrderPage(driver);
    const sent = orderRequests(id, 'place-order');
    assert.ok(sent.length >= 2, `retried: ${sent.length}`);
    assert.equal(new Set(sent.map((s) => s.key)).size, 1, 'every attempt carried the same Idempotency-Key');
    assert.equal((await sessionOf(driver, id)).status, 'COMPLETED');
  } finally {
    await driver.quit();
  }
});

test(`${ENGINE_NAME}: a lost order answer (the connection drops after the server made the order) — the same key finds that one order`, async () => {
  const driver = await shopperWith('CKE-OAT');
  try {
    const id = await startCheckout(driver);
    await choose(driver);
    proxy.state.loseAnswerOf = (method, path) => method === 'POST' && path.endsWith(`/${id}/place-order`);
    await click(driver, '#place');
    await onOrderPage(driver);
    const sent = orderRequests(id, 'place-order');
    assert.equal(sent.length, 2, 'the lost one and one retry');
    assert.equal(sent[0].key, sent[1].key, 'the retry reused the Idempotency-Key');
    const session = await sessionOf(driver, id);
    assert.equal(session.status, 'COMPLETED');
    assert.equal(await run(driver, "return new URLSearchParams(location.search).get('id')"), session.order_id);
  } finally {
    await driver.quit();
  }
});

test(`${ENGINE_NAME}: back and forward after an order — the checkout page re-validates and shows the order, never a second one`, async () => {
  const driver = await shopperWith('BRW-FUDGE');
  try {
    const id = await startCheckout(driver);
    await choose(driver);
    await click(driver, '#place');
    await onOrderPage(driver);
    const orderUrl = await driver.getCurrentUrl();
    await driver.navigate().back();
    // Restored from the back-forward cache (pageshow persisted) or loaded again: either
    // way the checkout page finds the order and moves to it.
    await until(driver, `location.href === ${JSON.stringify(orderUrl)} && !!document.getElementById('order-status')`,
      30_000, 'the order page after Back');
    await driver.navigate().forward().catch(() => {});
    await until(driver, "location.pathname === '/order/'");
    assert.equal(orderRequests(id, 'place-order').length, 1);
    assert.equal((await sessionOf(driver, id)).status, 'COMPLETED');
  } finally {
    await driver.quit();
  }
});

test(`${ENGINE_NAME}: a payment at the bank's page (3-D Secure) — leave, approve, come back: the order, one charge`, async () => {
  const driver = await shopperWith('BOX-GIFT');
  try {
    const id = await startCheckout(driver);
    await choose(driver, 'card');
    await type(driver, '#card', CHALLENGE_CARD);
    await click(driver, '#pay');
    // The provider's own page, on its own origin.
    await until(driver, "/\\/challenge\\/pi_sim_/.test(location.pathname)", 30_000, "the bank's challenge page");
    const approve = await run(driver, `return [...document.querySelectorAll('button')]
      .findIndex((b) => b.textContent.trim() === 'Approve')`);
    assert.ok(approve >= 0, 'the challenge page has an Approve button');
    await (await driver.findElements(By.css('button')))[approve].click();
    await onOrderPage(driver);
    await until(driver, "document.getElementById('order-status').dataset.status === 'PAID'");
    assert.equal(orderRequests(id, 'pay').length, 1, 'one payment request');
    const session = await sessionOf(driver, id);
    assert.equal(session.status, 'COMPLETED');
    assert.equal(session.reason, 'PAID');
    const { payments, charged } = await atProvider(BASE, id);
    assert.equal(payments.length, 1);
    assert.equal(charged, 1, 'one charge at the provider');
  } finally {
    await driver.quit();
  }
});
