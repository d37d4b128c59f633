// What the storefront tells a shopper who is signed out, and where signing in leads.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, BASE, noticeCode } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

let signups = 0;
async function signUpOnPage(page) {
  signups += 1;
  const name = `msg${process.pid}x${Date.now() % 100000}x${signups}`;
  await page.fill('input[name=username]', name);
  await page.fill('input[name=password]', 'e2e password');
  await page.click('button[value=signup]');
}

test('adding to the cart while signed out: the sign-in page says why, and signing in comes back', async () => {
  const context = await browser.newContext({ baseURL: BASE });
  const page = await context.newPage();
  await page.goto('/');
  await page.waitForSelector('button[data-sku]');
  await page.click('button[data-sku]');
  await page.waitForURL(/\/login\/\?next=/);
  assert.equal(await noticeCode(page), 'UNAUTHENTICATED');
  assert.match(await page.textContent('#notice'), /sign in to add to your cart/i);
  await signUpOnPage(page);
  await page.waitForURL((url) => url.pathname === '/');
  await context.close();
});

test('the cart signed out: to the sign-in page with a word, then back to the cart', async () => {
  const context = await browser.newContext({ baseURL: BASE });
  const page = await context.newPage();
  await page.goto('/cart/');
  await page.waitForURL(/\/login\/\?next=%2Fcart%2F/);
  assert.match(await page.textContent('#notice'), /sign in to see your cart/i);
  await signUpOnPage(page);
  await page.waitForURL((url) => url.pathname === '/cart/');
  await context.close();
});

test('signing in never leads to another site, whatever `next` says', async () => {
  const context = await browser.newContext({ baseURL: BASE });
  const page = await context.newPage();
  for (const next of ['//evil.example/', '/%09/evil.example/', '/\\evil.example/', 'https://evil.example/', 'javascript:alert(1)']) {
    await page.goto(`/login/?next=${encodeURIComponent(decodeURIComponent(next))}`);
    await page.waitForSelector('input[name=username]');
    await signUpOnPage(page);
    await page.waitForURL((url) => url.origin === new URL(BASE).origin && !url.pathname.startsWith('/login'), { timeout: 10000 });
    assert.equal(new URL(page.url()).origin, new URL(BASE).origin, next);
    await page.context().clearCookies();
  }
  await context.close();
});
