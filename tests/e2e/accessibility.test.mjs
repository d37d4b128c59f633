// axe-core (npm, the accessibility engine browsers' own tools use) on every storefront
// page, in each state a shopper meets it: no violation of any severity (CONTRACT §23).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  launch, shopper, addToCart, startCheckout, choose, ready, api, ADMIN,
} from './helpers.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** axe-core's violations on the page as it is now, one line each. */
async function violations(page) {
  await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    // Every rule axe has, best practices included, not only one WCAG level.
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  return found;
}

test('axe-core finds no violation on any storefront page', async () => {
  // The storefront's Content-Security-Policy forbids inline scripts: the test's own
  // script (axe) is let in by the browser, the pages' scripts are unchanged.
  const { context } = await shopper(browser, { bypassCSP: true });
  const page = await context.newPage();
  const seen = {};
  const check = async (name) => { seen[name] = await violations(page); };
  await page.goto('/');
  await page.waitForSelector('.grid .card');
  await check('shop');
  await page.goto('/cart/');
  await ready(page);
  await check('empty cart');
  await addToCart(context, 'BRW-FUDGE', 2);
  await page.goto('/cart/');
  await ready(page);
  await check('cart');
  const id = await startCheckout(page);
  await check('checkout');
  await choose(page, { shipping: 'standard', payment: 'invoice' });
  await page.fill('#voucher', 'NO-SUCH-CODE');
  await page.click('#apply');
  await page.waitForTimeout(300);
  await check('checkout with choices and a refused voucher');
  await page.click('#place');
  await page.waitForURL(/\/order\//);
  await page.waitForFunction(() => document.body.dataset.ready === 'yes' || document.querySelector('h1'));
  await check('order');
  // The checkout page with no checkout sends a shopper to the cart, with a message.
  const other = await shopper(browser, { bypassCSP: true });
  const otherPage = await other.context.newPage();
  await otherPage.goto('/checkout/');
  await otherPage.waitForURL(/\/cart\//);
  await otherPage.waitForSelector('#notice:not([hidden])');
  seen['cart with a message'] = await violations(otherPage);
  await other.context.close();
  for (const path of ['/account/', '/approvals/', '/restore/', '/login/']) {
    await page.goto(path);
    await page.waitForLoadState('networkidle');
    await check(path.replaceAll('/', ''));
  }
  await page.goto('/admin/');
  await check('admin before loading');
  await page.fill('#token', ADMIN);
  await page.click('#load-catalog');
  await page.waitForSelector('tr[data-sku]');
  await check('admin');
  assert.equal((await api(context, 'GET', `/checkouts/${id}`)).body.status, 'COMPLETED');
  const failing = Object.entries(seen).filter(([, v]) => v.length > 0);
  assert.deepEqual(failing, [], `axe-core violations:\n${failing.map(([p, v]) => `${p}:\n  ${v.join('\n  ')}`).join('\n')}`);
  console.log(`axe-core ${JSON.parse(readFileSync(createRequire(import.meta.url).resolve('axe-core/package.json'), 'utf8')).version}: ${Object.keys(seen).length} page states, no violation`);
  await context.close();
});
