// Payments that leave the page (CONTRACT §20): 3-D Secure with the simulated provider's
// own challenge page, in a real browser. The shopper leaves for the challenge, approves
// and comes back; abandons it, comes back and pays again; or finishes it from a second
// tab — one order and one charge each time, counted at the provider.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  launch, shopper, addToCart, api, BASE, startCheckout, choose, shot, ready, readyToPay,
} from './helpers.mjs';
import { CHALLENGE_CARD, atProvider } from '../provider.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Pay requests the page sent. */
function payRequests(page, id) {
  const seen = [];
  page.on('request', (r) => { if (r.url().endsWith(`/checkouts/${id}/pay`)) seen.push(r); });
  return seen;
}

test('leave for the challenge page, approve, come back: the order, one charge', async () => {
  const { context, page, id } = await readyToPay(browser, CHALLENGE_CARD);
  const pays = payRequests(page, id);
  await page.click('#pay');
  await page.waitForURL(/\/challenge\/pi_sim_/);
  // The recovery record was written before the page left.
  await shot(page, '60-the-banks-challenge');
  await page.click('button:has-text("Approve")');
  await page.waitForURL(/\/order\/\?id=/, { timeout: 20000 });
  await page.waitForSelector('#order-status[data-status=PAID]');
  assert.equal(pays.length, 1, 'the payment was sent once');
  const { charged, payments } = await atProvider(BASE, id);
  assert.equal(payments.length, 1);
  assert.equal(charged, 1);
  assert.equal((await api(context, 'GET', `/checkouts/${id}`)).body.reason, 'PAID');
  await context.close();
});

test('abandon the challenge, come back, cancel it and pay again: one charge', async () => {
  const { context, page, id } = await readyToPay(browser, CHALLENGE_CARD);
  await page.click('#pay');
  await page.waitForURL(/\/challenge\/pi_sim_/);
  // Leaves without a click: back to the shop.
  // (From the back-forward cache: no load event; the guard checks on pageshow.)
  await page.goBack({ waitUntil: 'commit' });
  await page.waitForURL(/\/checkout\/\?id=/, { waitUntil: 'commit' });
  await page.waitForSelector('#bank:not([hidden])');
  assert.equal(await page.$eval('#bank-go', (a) => new URL(a.href).pathname.startsWith('/challenge/')), true);
  await shot(page, '61-back-without-confirming');
  assert.ok(await page.$eval('#pay', (b) => b.disabled), 'no second payment while the first waits');
  await page.click('#bank-cancel');
  await page.waitForFunction(() => document.body.dataset.state === 'ACTIVE' && document.getElementById('bank').hidden);
  await page.waitForFunction(() => !document.getElementById('pay').disabled || document.getElementById('card').value === '');
  await page.fill('#card', '4242424242424242');
  await page.waitForFunction(() => !document.getElementById('pay').disabled);
  await page.click('#pay');
  await page.waitForURL(/\/order\/\?id=/, { timeout: 20000 });
  await page.waitForSelector('#order-status[data-status=PAID]');
  const { charged, payments } = await atProvider(BASE, id);
  assert.equal(payments.length, 2, 'the cancelled one and the paid one');
  assert.equal(charged, 1);
  assert.deepEqual(payments.map((p) => p.status).sort(), ['canceled', 'succeeded']);
  await context.close();
});

test('finish the challenge in a second tab: the order, one charge', async () => {
  const { context, page, id } = await readyToPay(browser, CHALLENGE_CARD);
  await page.click('#pay');
  await page.waitForURL(/\/challenge\/pi_sim_/);
  const second = await context.newPage();
  await second.goto(`/checkout/?id=${id}`);
  await ready(second);
  await second.waitForSelector('#bank:not([hidden])');
  assert.ok(await second.$eval('#pay', (b) => b.disabled), 'the second tab cannot pay again');
  await second.click('#bank-go');
  await second.waitForURL(/\/challenge\/pi_sim_/);
  await second.click('button:has-text("Approve")');
  await second.waitForURL(/\/order\/\?id=/, { timeout: 20000 });
  await second.waitForSelector('#order-status[data-status=PAID]');
  // The first tab, still on the bank's page, has nothing left to confirm.
  await page.reload();
  assert.match(await page.textContent('h1'), /Nothing to confirm/);
  await page.click('a:has-text("Back to the shop")');
  await page.waitForURL(/\/order\/\?id=/, { timeout: 20000 });
  const { charged, payments } = await atProvider(BASE, id);
  assert.equal(payments.length, 1);
  assert.equal(charged, 1);
  await context.close();
});
