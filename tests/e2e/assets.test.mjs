// The storefront's files are named by version (CONTRACT §23): a page names its scripts,
// styles and wasm module under /v/<version>/…, answered with `immutable` caching, so a
// reload asks the server for the page alone; the page itself is revalidated every time.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, shopper, addToCart, startCheckout, ready, BASE } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a reload of the checkout page asks for the page only; its files come from the cache', async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'BRW-FUDGE', 1);
  const page = await context.newPage();
  await startCheckout(page);
  const asked = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (!url.pathname.startsWith('/api/')) asked.push(url.pathname);
  });
  await page.reload();
  await ready(page);
  // Chromium reports files taken from its cache as requests too: what went to the
  // network is what the timing API counts as transferred.
  const network = await page.evaluate(() => performance.getEntriesByType('resource')
    .filter((e) => !e.name.includes('/api/') && e.transferSize > 0).map((e) => new URL(e.name).pathname));
  const versioned = asked.filter((p) => p.startsWith('/v/'));
  assert.ok(versioned.length >= 6, `the page names its files by version: ${JSON.stringify(asked)}`);
  assert.deepEqual(network, [], 'no file went to the network on a reload');
  // The answers: a year and immutable for the versioned files, revalidation for the page.
  const file = versioned.find((p) => p.endsWith('.wasm'));
  const wasm = await fetch(`${BASE}${file}`);
  assert.equal(wasm.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.equal(wasm.headers.get('content-type'), 'application/wasm');
  const pageAnswer = await fetch(`${BASE}/checkout/`);
  assert.equal(pageAnswer.headers.get('cache-control'), 'no-cache');
  const other = await fetch(`${BASE}${file.replace(/^\/v\/[^/]+\//, '/v/000000000000/')}`);
  assert.equal(other.status, 200, "another release's address still gets the file");
  assert.equal(other.headers.get('cache-control'), 'no-cache', '… but not for a year');
  const outside = await fetch(`${BASE}/v/${file.split('/')[2]}/checkout/index.html`);
  assert.equal(outside.status, 404, 'only the versioned folders are served by version');
  await context.close();
});
