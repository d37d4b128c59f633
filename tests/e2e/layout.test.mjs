// Every storefront page on a 390 px phone (CONTRACT §23): nothing scrolls sideways — the
// navigation wraps, wide tables scroll inside themselves.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  launch, shopper, addToCart, startCheckout, choose, ready, shot, api, ADMIN,
} from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** How far the page reaches beyond the viewport's width (0 when it fits). */
const overflow = (page) => page.evaluate(() => Math.max(document.documentElement.scrollWidth, window.innerWidth) - 390);

test('every page fits a 390 px phone', async () => {
  const { context } = await shopper(browser, { viewport: { width: 390, height: 844 }, isMobile: true });
  await addToCart(context, 'BRW-FUDGE', 2);
  await addToCart(context, 'CAKE-RED', 1);
  const page = await context.newPage();
  const seen = {};
  const check = async (name) => {
    seen[name] = await overflow(page);
    await shot(page, `390-${name}`);
    assert.equal(seen[name], 0, `the ${name} page is ${seen[name]} px wider than 390 px`);
  };
  await page.goto('/');
  await page.waitForSelector('.grid .card');
  await check('shop');
  await page.goto('/cart/');
  await ready(page);
  await check('cart');
  const id = await startCheckout(page);
  await choose(page, { shipping: 'standard', payment: 'invoice' });
  await check('checkout');
  await page.click('#place');
  await page.waitForURL(/\/order\//);
  await page.waitForFunction(() => document.body.dataset.ready === 'yes' || document.querySelector('h1'));
  await check('order');
  for (const path of ['/account/', '/approvals/', '/restore/', '/login/']) {
    await page.goto(path);
    await page.waitForLoadState('networkidle');
    await check(path.replaceAll('/', '') || 'root');
  }
  await page.goto('/admin/');
  await page.fill('#token', ADMIN);
  await page.click('#load-catalog');
  await page.waitForSelector('tr[data-sku]');
  await check('admin');
  const order = (await api(context, 'GET', `/checkouts/${id}`)).body;
  assert.equal(order.status, 'COMPLETED');
  assert.deepEqual(Object.entries(seen).filter(([, px]) => px > 0), [], `pages wider than 390 px: ${JSON.stringify(seen)}`);
  await context.close();
});

/** Whether the element is wholly within the viewport now. */
const inView = (page, selector) => page.$eval(selector, (e) => {
  const r = e.getBoundingClientRect();
  return !e.hidden && r.height > 0 && r.top >= -1 && r.bottom <= window.innerHeight + 1; // sub-pixel rounding
});
const where = (page, selector) => page.$eval(selector, (e) => JSON.stringify({ ...e.getBoundingClientRect().toJSON(), inner: window.innerHeight, y: window.scrollY }));

test('on a phone, what Pay did is said where the shopper is: beside the button, read out', async () => {
  const { context } = await shopper(browser, { viewport: { width: 390, height: 844 }, isMobile: true });
  await addToCart(context, 'BOX-GIFT', 1);
  const page = await context.newPage();
  await startCheckout(page);
  await choose(page, { payment: 'card' });
  // A card the bank never answers: "confirming" for a while, then "not taken".
  await page.fill('#card', '4000000000000119');
  await page.click('#pay');
  await page.waitForFunction(() => document.getElementById('notice').dataset.code === 'PAYMENT_IN_PROGRESS');
  assert.equal(await inView(page, '#notice'), true, `the confirming message is on screen with the button: ${await where(page, '#notice')} ${await where(page, '#pay')}`);
  assert.equal(await inView(page, '#pay'), true);
  await shot(page, '390-confirming');
  await page.waitForFunction(() => document.getElementById('notice').dataset.code === 'PAYMENT_DECLINED', null, { timeout: 30000 });
  assert.equal(await inView(page, '#notice'), true, 'the outcome is on screen with the button');
  // Announced: the message is inside a live region.
  assert.equal(await page.$eval('#notice', (n) => n.closest('[aria-live]')?.getAttribute('aria-live')), 'polite');
  await shot(page, '390-not-taken');
  await context.close();
});
