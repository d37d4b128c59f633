// Several tabs on one checkout, hidden tabs, the back-forward cache and the payment
// that the bank confirms late (CONTRACT §12), in real headless Chromium against the
// real server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  launch, shopper, addToCart, api, startCheckout, ready, choose,
} from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const CONFIRMING = "Confirming your payment with the bank — this can take up to a minute. Please don't pay again.";

/** Counts the API requests a page sends, by "METHOD path". */
function countRequests(page) {
  const seen = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith('/api/')) seen.push(`${r.method()} ${url.pathname}`);
  });
  return seen;
}

/** Makes a tab report itself hidden, as when the shopper switched to another tab. */
async function hide(page) {
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
}

async function show(page) {
  await page.evaluate(() => {
    delete document.visibilityState;
    delete document.hidden;
    document.dispatchEvent(new Event('visibilitychange'));
  });
}

test('two tabs clicking Place Order at the same moment: one request leaves, both show the one order', async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'BRW-FUDGE', 1);
  const first = await context.newPage();
  const id = await startCheckout(first);
  await choose(first);
  const second = await context.newPage();
  await second.goto(`/checkout/?id=${id}`);
  await ready(second);
  await second.waitForFunction(() => !document.getElementById('place').disabled);
  const sent = [];
  for (const page of [first, second]) {
    // The request is slow to arrive, so that both clicks happen while it is in flight.
    await page.route('**/place-order', async (route) => {
      sent.push(route.request().headers()['idempotency-key']);
      await sleep(1500);
      await route.continue();
    });
  }
  await Promise.all([first.click('#place'), second.click('#place')]);
  await Promise.all([
    first.waitForURL(/\/order\/\?id=/, { timeout: 20000 }),
    second.waitForURL(/\/order\/\?id=/, { timeout: 20000 }),
  ]);
  assert.equal(sent.length, 1, `${sent.length} place-order requests left`);
  const orderOf = (page) => new URL(page.url()).searchParams.get('id');
  assert.equal(orderOf(first), orderOf(second));
  const session = await api(context, 'GET', `/checkouts/${id}`);
  assert.equal(session.body.order_id, orderOf(first));
  await context.close();
});

test('a hidden tab asks the server nothing; a change in one tab updates the other once', async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'BRW-FUDGE', 1);
  const first = await context.newPage();
  const id = await startCheckout(first);
  const second = await context.newPage();
  await second.goto(`/checkout/?id=${id}`);
  await ready(second);
  await sleep(500);
  await hide(second);
  const hidden = countRequests(second);
  await choose(first); // two changes, each rewriting the shared record
  await sleep(10_000);
  assert.deepEqual(hidden, [], `a hidden tab sent ${hidden.length} requests`);
  // Shown again: it asks once and shows what the other tab chose.
  await show(second);
  await second.waitForFunction(() => document.querySelector('input[name=shipping][value=standard]')?.checked);
  await sleep(3000);
  assert.ok(hidden.length <= 2, `shown again: ${hidden.join(', ')}`);
  // A change in the (visible) first tab reaches the second with one request, not a loop.
  const before = hidden.length;
  const firstRequests = countRequests(first);
  await first.check('input[name=shipping][value=express]');
  await second.waitForFunction(() => document.querySelector('input[name=shipping][value=express]')?.checked);
  await sleep(5000);
  assert.ok(hidden.length - before <= 2, `after one change: ${hidden.slice(before).join(', ')}`);
  assert.ok(firstRequests.length <= 3, `the changing tab: ${firstRequests.join(', ')}`);
  await context.close();
});

test('payment confirmed late by the bank: one steady message, the session is polled, then the order', async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'BOX-GIFT', 1);
  const page = await context.newPage();
  const id = await startCheckout(page);
  await choose(page, { payment: 'card' });
  const requests = countRequests(page);
  const messages = new Set();
  // Whether Pay was disabled when each message first appeared, read by the observer in
  // the same task that showed it (a later look may already see the bank's answer).
  const payDisabledAt = new Map();
  await page.exposeFunction('__message', (text, payDisabled) => {
    messages.add(text);
    if (!payDisabledAt.has(text)) payDisabledAt.set(text, payDisabled);
  });
  await page.evaluate(() => {
    const n = document.getElementById('notice');
    new MutationObserver(() => {
      if (!n.hidden) window.__message(n.textContent, document.getElementById('pay').disabled);
    }).observe(n, { childList: true, characterData: true, subtree: true, attributes: true });
  });
  // Charged at once, confirmed after 2 s: longer than the server waits for the bank.
  await page.fill('#card', '4000000000000077');
  await page.click('#pay');
  await page.waitForFunction((text) => document.getElementById('notice').textContent === text, CONFIRMING);
  for (let i = 0; i < 50 && !payDisabledAt.has(CONFIRMING); i++) await sleep(100);
  assert.equal(payDisabledAt.get(CONFIRMING), true, 'Pay is disabled while confirming');
  await page.waitForURL(/\/order\/\?id=/, { timeout: 30000 });
  await page.waitForSelector('#order-status[data-status=PAID]');
  const pays = requests.filter((r) => r.endsWith('/pay'));
  assert.equal(pays.length, 1, `the payment was sent ${pays.length} times: ${requests.join(', ')}`);
  const polls = requests.filter((r) => r === `GET /api/v1/checkouts/${id}`);
  assert.ok(polls.length >= 1 && polls.length <= 8, `${polls.length} polls`);
  const shown = [...messages].filter((m) => m !== 'Sending your order…');
  assert.deepEqual(shown, [CONFIRMING], `messages: ${[...messages].join(' | ')}`);
  await context.close();
});

test('after an order action, the checkout page still goes into the back-forward cache', async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'BRW-FUDGE', 1);
  const page = await context.newPage();
  await startCheckout(page);
  await choose(page, { payment: 'card' });
  // A declined payment: the submit lock was taken and released, the page stays.
  await page.fill('#card', '4000000000000002');
  await page.click('#pay');
  await page.waitForFunction(() => document.getElementById('notice').dataset.code === 'PAYMENT_DECLINED');
  const verdicts = await page.evaluate(() => window.__verdicts.length);
  await page.goto('/');
  await page.goBack({ waitUntil: 'commit' });
  const restored = await page.waitForFunction((n) => {
    const after = window.__verdicts.slice(n);
    return after.some((v) => v.reason === 'bfcache' && v.source === 'server') && after;
  }, verdicts);
  const after = await restored.jsonValue();
  assert.ok(!after.some((v) => v.reason === 'load'), 'restored from the cache, not reloaded');
  const reasons = await page.evaluate(() => performance.getEntriesByType('navigation')[0]?.notRestoredReasons ?? null);
  assert.equal(reasons, null, JSON.stringify(reasons));
  await context.close();
});
