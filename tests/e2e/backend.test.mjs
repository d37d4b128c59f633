// A checkout from the shop's own priced cart, end to end (CONTRACT §24): the README's
// shop backend (run as it is printed there, its own Node process) sends the priced cart
// with the backend key and redirects; the customer, signed in by the shop's token (made
// here by npm `jose`, not by our code), lands on the checkout page, sees the shop's
// lines, prices and methods (no voucher field), and orders at the shop's prices. The
// shop's backend then reads the checkout back with its order and metadata.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { launch, choose, ready, shot, BASE, ADMIN } from './helpers.mjs';

const KEY = process.env.E2E_BACKEND_KEY;
const SECRET = new TextEncoder().encode(process.env.E2E_JWT_SECRET);
if (!KEY || !process.env.E2E_JWT_SECRET) throw new Error('E2E_BACKEND_KEY and E2E_JWT_SECRET are set by `cargo xtask test`');
const here = dirname(fileURLToPath(import.meta.url));

/** The shop backend exactly as the README prints it. */
function readmeExample() {
  const readme = readFileSync(join(here, '..', '..', 'README.md'), 'utf8');
  const start = readme.indexOf('<!-- shop-backend.mjs: run by tests/e2e/backend.test.mjs -->');
  assert.ok(start >= 0, 'the README has the shop-backend example');
  const fence = readme.indexOf('```js\n', start) + '```js\n'.length;
  const code = readme.slice(fence, readme.indexOf('\n```', fence));
  assert.ok(code.split('\n').length <= 16, `the example stays short (${code.split('\n').length} lines)`);
  return code;
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function serverNow() {
  const r = await fetch(`${BASE}/api/v1/admin/test-clock`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ advance_seconds: 0 }),
  });
  return Math.floor(Date.parse((await r.json()).now) / 1000);
}

let browser;
let shop;
let shopUrl;
let dir;
before(async () => {
  browser = await launch();
  dir = mkdtempSync(join(tmpdir(), 'shop-backend-'));
  const file = join(dir, 'shop-backend.mjs');
  writeFileSync(file, readmeExample());
  const port = await freePort();
  shop = spawn(process.execPath, [file], {
    env: { ...process.env, CHECKOUT_URL: BASE, CHECKOUT_BACKEND_API_KEY: KEY, PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  shopUrl = `http://127.0.0.1:${port}`;
  // Listening? (A connection only: any request would make a checkout.)
  const listening = () => new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => { socket.end(); resolve(true); });
    socket.on('error', () => resolve(false));
  });
  for (let i = 0; i < 100 && !(await listening()); i += 1) await new Promise((r) => setTimeout(r, 100));
});
after(async () => {
  shop?.kill();
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the README shop backend makes a checkout from its priced cart; the customer orders it at its prices', async () => {
  const now = await serverNow();
  const jwt = await new SignJWT({ email: 'reader@example.org' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('cust-42')
    .setAudience('checkout-guard')
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(SECRET);
  const context = await browser.newContext({ baseURL: BASE });
  await context.addCookies([{ name: 'shop_id_token', value: jwt, url: BASE, httpOnly: true, sameSite: 'Lax' }]);
  const page = await context.newPage();
  const requests = [];
  page.on('request', (r) => { if (r.url().startsWith(BASE)) requests.push(`${r.method()} ${new URL(r.url()).pathname}`); });
  // The shopper presses "Checkout" at the shop: its backend answers with a redirect.
  await page.goto(`${shopUrl}/checkout`);
  await page.waitForURL(/\/checkout\/\?id=/);
  await ready(page);
  const id = new URL(page.url()).searchParams.get('id');
  assert.equal(await page.textContent('#summary tbody tr td'), 'Der Zauberberg');
  assert.equal(await page.isHidden('#voucher-box'), true, 'the shop priced it: no voucher field');
  assert.deepEqual(
    await page.$$eval('input[name=shipping]', (l) => l.map((i) => i.value)),
    ['dhl'],
    'the shop\'s own shipping methods, not the catalog\'s',
  );
  assert.equal(await page.textContent('#grand-total'), '€39.98');
  await choose(page, { shipping: 'dhl', payment: 'invoice', country: 'DE' });
  await page.waitForFunction(() => document.getElementById('grand-total')?.textContent === '€44.97');
  await shot(page, '22-priced-cart-checkout');
  await page.click('#place');
  await page.waitForURL(/\/order\/\?id=/);
  // The confirmation continues at the shop (its success_url, with the checkout's id).
  await page.waitForFunction(() => document.getElementById('continue')?.textContent === 'Continue at the shop');
  assert.equal(await page.getAttribute('#continue', 'href'), `https://bookstore.example/thanks?checkout=${id}`);

  // The shop's backend reads it back with the order and its metadata.
  const r = await fetch(`${BASE}/api/v1/backend/checkouts/${id}`, { headers: { authorization: `Bearer ${KEY}` } });
  const read = await r.json();
  assert.equal(r.status, 200, JSON.stringify(read));
  assert.equal(read.status, 'COMPLETED');
  assert.equal(read.order.grand_total, 4497);
  assert.equal(read.order.snapshot.totals.tax, 262 + 80);
  assert.deepEqual(read.order.metadata, { cart_id: 'c-981' });
  assert.equal(read.order.customer.external_id, 'cust-42');
  // The page asked for no catalog it did not use, and the session once per navigation.
  assert.ok(requests.filter((x) => x === `GET /api/v1/checkouts/${id}`).length <= 3, requests.join('\n'));
  await context.close();
});
