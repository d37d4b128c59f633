// Shared setup for the end-to-end tests: Debian's Chromium driven by playwright-core,
// against the real checkout-server (started by `cargo xtask test` with --test-clock and
// passed in E2E_BASE_URL / E2E_ADMIN_TOKEN). Screenshots go to tests/artifacts/.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

export const BASE = process.env.E2E_BASE_URL;
export const ADMIN = process.env.E2E_ADMIN_TOKEN;
if (!BASE || !ADMIN) throw new Error('E2E_BASE_URL and E2E_ADMIN_TOKEN are set by `cargo xtask test`');

const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    ignoreDefaultArgs: ['--disable-back-forward-cache'],
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

let counter = 0;
/** A new browser context (one shopper's browser) with a signed-up account. */
export async function shopper(browser, options = {}) {
  const context = await browser.newContext({ baseURL: BASE, ...options });
  const username = `e2e${process.pid}x${Date.now() % 100000}x${counter++}`;
  const r = await context.request.post('/api/v1/auth/signup', { data: { username, password: 'e2e password' } });
  assert.equal(r.status(), 201, await r.text());
  return { context, username };
}

export async function addToCart(context, sku, quantity = 1) {
  const r = await context.request.post('/api/v1/cart/items', { data: { sku, quantity } });
  assert.equal(r.status(), 201, await r.text());
}

export async function api(context, method, path, data) {
  const r = await context.request.fetch(`/api/v1${path}`, { method, data });
  return { status: r.status(), body: await r.json().catch(() => null), headers: r.headers() };
}

/** Moves the server's test clock forward. */
export async function advanceClock(seconds) {
  const r = await fetch(`${BASE}/api/v1/admin/test-clock`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ advance_seconds: seconds }),
  });
  assert.equal(r.status, 200, await r.text());
}

/** Opens the cart and waits until its script is ready (module scripts with top-level
 *  await can finish after the load event). */
export async function openCart(page) {
  await page.goto('/cart/');
  await page.waitForFunction(() => document.body.dataset.ready === 'yes');
}

/** Opens the cart and proceeds to checkout; resolves when the server has confirmed it. */
export async function startCheckout(page) {
  await openCart(page);
  await page.click('#proceed');
  await page.waitForURL(/\/checkout\/\?id=/);
  await ready(page);
  return new URL(page.url()).searchParams.get('id');
}

/** Chooses a shipping and a payment method on the checkout page and waits until the
 *  server has taken each (Place Order needs a shipping method and a deferred payment
 *  method such as invoice; Pay Now needs card). */
export async function choose(page, { shipping = 'standard', payment = 'invoice', country = 'US', address = true } = {}) {
  if (address) await giveAddress(page, { country });
  for (const [name, value] of [['shipping', shipping], ['payment', payment]]) {
    await page.check(`input[name=${name}][value=${value}]`);
    await page.waitForFunction(([n, v]) => window.__guard.record().selections[`${n}_method`] === v
      && document.querySelector(`input[name=${n}][value=${v}]`)?.checked, [name, value]);
  }
}

/** Fills the shipping address form and waits until the server has it (an order needs
 *  one, CONTRACT §18). */
export async function giveAddress(page, { country = 'US', name = 'Erika Shopper' } = {}) {
  await page.fill('#a-name', name);
  await page.fill('#a-line1', '1 Main Street');
  await page.fill('#a-postal_code', '12345');
  await page.fill('#a-city', 'Springfield');
  await page.fill('#a-country', country);
  const saved = page.waitForResponse((r) => r.url().endsWith('/shipping-address') && r.request().method() === 'PUT');
  await page.click('#address-save');
  const r = await saved;
  if (r.status() !== 200) throw new Error(`address refused: ${r.status()} ${await r.text()}`);
  await page.waitForFunction((c) => document.getElementById('a-country').value === c, country);
}

/** Waits until the checkout page has its server verdict. */
export async function ready(page) {
  await page.waitForFunction(() => document.body.dataset.ready === 'yes');
}

/** The notice's code (after a redirect, the message left by the previous page). */
export async function noticeCode(page) {
  await page.waitForSelector('#notice:not([hidden])');
  return page.$eval('#notice', (n) => n.dataset.code);
}

export async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** A shopper at the checkout page with a gift box, a shipping address, standard shipping
 *  and "card" chosen, and `card` typed in: the next click on Pay pays. */
export async function readyToPay(browser, card) {
  const { context } = await shopper(browser);
  await addToCart(context, 'BOX-GIFT', 1);
  const page = await context.newPage();
  const id = await startCheckout(page);
  await choose(page, { payment: 'card' });
  await page.fill('#card', card);
  return { context, page, id };
}
