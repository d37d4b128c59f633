// Payments through the simulated provider, its own process (CONTRACT §13): the page
// tokenizes the card with the provider and sends the shop only the token; a payment the
// provider is still processing shows one steady message until its webhook settles it;
// a card that never answers ends with "not taken" once reconciliation asks.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  launch, shopper, addToCart, api, BASE, startCheckout, choose, shot, readyToPay,
} from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const CONFIRMING = "Confirming your payment with the bank — this can take up to a minute. Please don't pay again.";

/** Every request the page sends: where, how, and its body. */
function record(page) {
  const seen = [];
  page.on('request', (r) => seen.push({ url: r.url(), method: r.method(), body: r.postData() ?? '' }));
  return seen;
}

/** The notice's texts while the page lives. */
async function watchNotices(page) {
  const shown = [];
  await page.exposeFunction('__notice', (text) => shown.push(text));
  await page.evaluate(() => {
    const n = document.getElementById('notice');
    new MutationObserver(() => { if (!n.hidden) window.__notice(n.textContent); })
      .observe(n, { childList: true, characterData: true, subtree: true, attributes: true });
  });
  return shown;
}

test('the card goes to the provider; the shop receives only a token and makes the order', async () => {
  const { context, page, id } = await readyToPay(browser, '4242 4242 4242 4242');
  const requests = record(page);
  await page.click('#pay');
  await page.waitForURL(/\/order\/\?id=/);
  await page.waitForSelector('#order-status[data-status=PAID]');
  const shop = requests.filter((r) => r.url.startsWith(BASE));
  const provider = requests.filter((r) => !r.url.startsWith(BASE) && r.method === 'POST');
  assert.equal(provider.length, 1, `one tokenization: ${JSON.stringify(provider)}`);
  assert.match(provider[0].url, /\/v1\/tokens$/);
  assert.match(provider[0].body, /4242 4242 4242 4242/);
  for (const r of shop) {
    assert.doesNotMatch(r.body.replace(/\s/g, ''), /4242424242424242/, `${r.method} ${r.url} carried the card`);
  }
  const pay = shop.filter((r) => r.url.endsWith(`/checkouts/${id}/pay`));
  assert.equal(pay.length, 1);
  assert.match(JSON.parse(pay[0].body).payment_token, /^tok_/);
  const order = await api(context, 'GET', `/checkouts/${id}`);
  assert.equal(order.body.reason, 'PAID');
  await shot(page, '30-paid-with-a-token');
  await context.close();
});

test('a payment confirmed only by webhook: one steady message until the webhook, then the order', async () => {
  // The provider answers "processing"; its webhook confirms three seconds later.
  const { context, page, id } = await readyToPay(browser, '4000000000003220');
  const requests = record(page);
  const shown = await watchNotices(page);
  await page.click('#pay');
  await page.waitForFunction((text) => document.getElementById('notice').textContent === text, CONFIRMING);
  await shot(page, '31-processing-until-the-webhook');
  assert.ok(await page.$eval('#pay', (b) => b.disabled), 'Pay is disabled while processing');
  assert.equal((await api(context, 'GET', `/checkouts/${id}`)).body.status, 'PAYMENT_PENDING');
  await page.waitForURL(/\/order\/\?id=/, { timeout: 30000 });
  await page.waitForSelector('#order-status[data-status=PAID]');
  const pays = requests.filter((r) => r.url.endsWith('/pay'));
  assert.equal(pays.length, 1, 'the payment was sent once');
  const polls = requests.filter((r) => r.method === 'GET' && r.url.endsWith(`/api/v1/checkouts/${id}`));
  assert.ok(polls.length >= 1 && polls.length <= 10, `${polls.length} polls in about 3 s`);
  assert.deepEqual(shown.filter((m) => m !== 'Sending your order…'), [CONFIRMING]);
  await context.close();
});

test('a card that never answers: the steady message, then "not taken" once reconciliation asks', async () => {
  const { context, page, id } = await readyToPay(browser, '4000000000000119');
  const requests = record(page);
  await page.click('#pay');
  await page.waitForFunction((text) => document.getElementById('notice').textContent === text, CONFIRMING);
  // The server reconciles payments pending over 2 s: the provider never saw this one.
  await page.waitForFunction(() => document.getElementById('notice').dataset.code === 'PAYMENT_DECLINED', null, { timeout: 30000 });
  assert.match(await page.textContent('#notice'), /not taken|Nothing was charged/);
  assert.equal((await api(context, 'GET', `/checkouts/${id}`)).body.status, 'ACTIVE');
  assert.equal(await page.$eval('#pay', (b) => b.disabled), false, 'the shopper may pay again');
  await shot(page, '32-never-answered-not-taken');
  const pays = requests.filter((r) => r.url.endsWith('/pay'));
  assert.ok(pays.length <= 2, `pay sent ${pays.length} times (the first and at most one replay)`);
  // Paying again with a good card works and makes the one order.
  await page.fill('#card', '4242424242424242');
  await page.click('#pay');
  await page.waitForURL(/\/order\/\?id=/, { timeout: 15000 });
  await page.waitForSelector('#order-status[data-status=PAID]');
  await context.close();
});
