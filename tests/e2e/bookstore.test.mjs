// A shop's own catalog, end to end in the browser (CONTRACT §17, §18): the bookstore
// (EUR, VAT included, taxed by destination) is loaded over the admin API — no Rust
// code touched — and a shopper orders books with a German address: field errors are
// shown next to the field, the shelf price is what is paid, the order carries the
// address, the customer and each line's net, tax and gross. The bakery comes back after.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  launch, shopper, addToCart, startCheckout, choose, api, shot, BASE, ADMIN,
} from './helpers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const bookstore = readFileSync(join(here, '..', '..', 'catalogs', 'bookstore-eur.json'), 'utf8');
const auth = { authorization: `Bearer ${ADMIN}` };
let browser;
let bakery;

async function putCatalog(body) {
  const current = await fetch(`${BASE}/api/v1/admin/catalog`, { headers: auth });
  const r = await fetch(`${BASE}/api/v1/admin/catalog`, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/json', 'if-match': current.headers.get('etag') },
    body,
  });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return JSON.parse(text);
}

before(async () => {
  browser = await launch();
  const r = await fetch(`${BASE}/api/v1/admin/catalog`, { headers: auth });
  bakery = await r.json();
  delete bakery.version;
  const stored = await putCatalog(bookstore);
  assert.equal(stored.currency, 'EUR');
});
after(async () => {
  await browser?.close();
  if (bakery) await putCatalog(JSON.stringify(bakery));
});

test('a bookstore in EUR: a German address, VAT inside the shelf price, an order an ERP can ship', async () => {
  const { context, username } = await shopper(browser);
  await addToCart(context, 'BK-1', 2);
  await addToCart(context, 'TOTE', 1);
  const page = await context.newPage();
  const id = await startCheckout(page);
  // A refused field is marked where it is, and nothing is saved.
  await page.fill('#a-name', 'Erika Mustermann');
  await page.fill('#a-line1', 'Heidestraße 17');
  await page.fill('#a-postal_code', '51147');
  await page.fill('#a-city', 'Köln');
  await page.fill('#a-country', 'XX');
  await page.click('#address-save');
  await page.waitForSelector('#a-country-error:not([hidden])');
  assert.equal(await page.getAttribute('#a-country', 'aria-invalid'), 'true');
  assert.match(await page.textContent('#a-country-error'), /ISO 3166/);
  assert.equal((await api(context, 'GET', `/checkouts/${id}`)).body.snapshot.shipping_address, null);
  // The order buttons wait for an address.
  assert.equal(await page.isDisabled('#place'), true);
  // Corrected, it is taken: the country decides the tax and which methods deliver.
  await page.fill('#a-country', 'de');
  const saved = page.waitForResponse((r) => r.url().endsWith('/shipping-address') && r.request().method() === 'PUT');
  await page.click('#address-save');
  assert.equal((await saved).status(), 200);
  await page.waitForFunction(() => document.getElementById('a-country').value === 'DE');
  await choose(page, { shipping: 'dhl', payment: 'invoice', address: false });
  assert.equal(await page.getAttribute('#a-country', 'aria-invalid'), 'false');
  // Zauberberg 2 × €19.99 − 10 % = €35.98, tote €12.90: €48.88, DHL free from €40.
  await page.waitForFunction(() => document.getElementById('grand-total')?.textContent === '€48.88');
  await shot(page, '20-bookstore-checkout');
  await page.click('#place');
  await page.waitForURL(/\/order\/\?id=/);
  const orderId = new URL(page.url()).searchParams.get('id');
  const order = (await api(context, 'GET', `/orders/${orderId}`)).body;
  assert.equal(order.currency, 'EUR');
  assert.equal(order.snapshot.prices_include_tax, true);
  assert.equal(order.snapshot.shipping_address.country, 'DE');
  assert.equal(order.snapshot.shipping_address.city, 'Köln');
  assert.ok(order.customer.id, JSON.stringify(order.customer));
  const t = order.snapshot.totals;
  // 3598 with 7 % inside: 235; 1290 with 19 % inside: 206.
  assert.deepEqual([t.grand_total, t.tax, t.net], [4888, 441, 4447]);
  for (const line of order.snapshot.lines) assert.equal(line.net + line.tax, line.gross);
  assert.ok(username);
  await context.close();
});

test('the admin page edits the catalog: a price in the table, a product added, a whole document imported', async () => {
  const context = await browser.newContext({ baseURL: BASE });
  const page = await context.newPage();
  await page.goto('/admin/');
  await page.fill('#token', ADMIN);
  await page.click('#load-catalog');
  await page.waitForSelector('tr[data-sku="BK-2"]');
  const catalog = async () => (await fetch(`${BASE}/api/v1/admin/catalog`, { headers: auth })).json();
  const before = await catalog();
  // A price changed in the table.
  await page.fill('tr[data-sku="BK-2"] .price', '999');
  await page.click('tr[data-sku="BK-2"] .save');
  await page.waitForFunction(() => /Saved/.test(document.getElementById('notice')?.textContent ?? ''));
  let now = await catalog();
  assert.equal(now.products.find((p) => p.sku === 'BK-2').unit_price, 999);
  assert.equal(now.version, before.version + 1);
  // A product added in the last row; a bad one is refused with where.
  await page.fill('tr.new .sku', 'BK-9');
  await page.fill('tr.new .name', 'Der Untertan');
  await page.fill('tr.new .class', 'luxury');
  await page.fill('tr.new .price', '1500');
  await page.click('tr.new .save');
  await page.waitForFunction(() => /tax_class/.test(document.getElementById('notice')?.textContent ?? ''));
  assert.equal((await catalog()).version, now.version, 'nothing stored');
  await page.fill('tr.new .class', 'reduced');
  await page.click('tr.new .save');
  await page.waitForSelector('tr[data-sku="BK-9"]');
  now = await catalog();
  assert.equal(now.products.find((p) => p.sku === 'BK-9').unit_price, 1500);
  // The whole document imported from a file.
  await page.setInputFiles('#catalog-file', { name: 'bookstore.json', mimeType: 'application/json', buffer: Buffer.from(bookstore) });
  await page.waitForFunction(() => /Imported/.test(document.getElementById('notice')?.textContent ?? ''));
  now = await catalog();
  assert.equal(now.products.some((p) => p.sku === 'BK-9'), false);
  assert.equal(now.products.find((p) => p.sku === 'BK-2').unit_price, 899);
  await shot(page, '21-admin-catalog');
  await context.close();
});
