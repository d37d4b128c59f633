// The seed's "user session expires" with the shop's own sign-in (CONTRACT §19): the
// shopper is signed in by the shop's identity provider (a token in the shop_id_token
// cookie, minted here by npm `jose`, not by our code), starts a checkout, and the token
// is not refreshed. When it ends, the page's own verdict (the wasm core, no request)
// already says the checkout ended; the server agrees; the cart offers to continue,
// and continuing brings the checkout back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import {
  launch, addToCart, api, startCheckout, choose, ready, shot, BASE, ADMIN,
} from './helpers.mjs';

const SECRET = new TextEncoder().encode(process.env.E2E_JWT_SECRET);
if (!process.env.E2E_JWT_SECRET) throw new Error('E2E_JWT_SECRET is set by `cargo xtask test`');

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** The server's clock now (other tests move the test clock forward), in seconds. */
async function serverNow() {
  const r = await fetch(`${BASE}/api/v1/admin/test-clock`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ advance_seconds: 0 }),
  });
  assert.equal(r.status, 200);
  return Math.floor(Date.parse((await r.json()).now) / 1000);
}

async function token(sub, lifetime) {
  const now = await serverNow();
  return {
    exp: now + lifetime,
    jwt: await new SignJWT({ email: `${sub}@example.com` })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setAudience('checkout-guard')
      .setIssuedAt(now)
      .setExpirationTime(now + lifetime)
      .sign(SECRET),
  };
}

test('a sign-in that ends unrefreshed ends the checkout; the page says so and offers to continue', async () => {
  const sub = `shop-customer-${process.pid}-${Date.now() % 100000}`;
  const context = await browser.newContext({ baseURL: BASE });
  const { jwt, exp } = await token(sub, 12);
  await context.addCookies([{ name: 'shop_id_token', value: jwt, url: BASE, httpOnly: true, sameSite: 'Lax' }]);
  const me = await api(context, 'GET', '/auth/me');
  assert.equal(me.status, 200, JSON.stringify(me.body));
  assert.equal(me.body.username, `${sub}@example.com`);

  await addToCart(context, 'BRW-FUDGE', 2);
  const page = await context.newPage();
  const id = await startCheckout(page);
  await choose(page, { shipping: 'standard', payment: 'invoice' });
  const session = (await api(context, 'GET', `/checkouts/${id}`)).body;
  assert.equal(Date.parse(session.login_expires_at) / 1000, exp, 'the checkout remembers the sign-in\'s end');

  // The token is not refreshed. Wait (real time) until it has ended; the server still
  // accepts it for its 60 s leeway, so the shopper is known and can be offered more.
  const wait = Math.max(0, exp * 1000 - Date.parse(session.server_time)) + 1_500;
  // (The page may notice the end by itself meanwhile and go to the cart: the test
  // opens the checkout again below, a fresh page.)
  await page.waitForTimeout(wait);
  const requests = [];
  page.on('request', (r) => { if (r.url().includes('/api/')) requests.push(`${r.method()} ${new URL(r.url()).pathname}`); });
  await page.goto(`/checkout/?id=${encodeURIComponent(id)}`);
  // The wasm core decided from the page's own record before the server answered.
  await page.waitForFunction(() => (window.__verdicts || []).some((v) => v.source === 'local' && v.known));
  const local = await page.evaluate(() => window.__verdicts.find((v) => v.source === 'local' && v.known));
  assert.equal(local.state, 'INACTIVE', JSON.stringify(local));
  assert.equal(local.code, 'CHECKOUT_INACTIVE');
  assert.match(local.message, /sign-in ended/);
  assert.equal(await page.isDisabled('#place'), true);
  await shot(page, 'identity-1-sign-in-ended');

  // The server agrees, and the page goes to the cart, which offers to continue.
  await page.waitForURL(/\/cart\//);
  await page.waitForFunction(() => document.body.dataset.ready === 'yes');
  const ended = (await api(context, 'GET', `/checkouts/${id}`)).body;
  assert.equal(`${ended.status}/${ended.reason}`, 'INACTIVE/LOGIN_EXPIRED');
  await page.waitForSelector('#continue');
  await shot(page, 'identity-2-continue-offered');
  assert.ok(requests.every((r) => !r.includes('/pay') && !r.includes('/place-order')), requests.join(', '));

  // Starting anything with the ended sign-in is refused (the server still accepts the
  // token for its leeway, but a checkout started with it would end at once).
  const stale = await api(context, 'POST', '/checkouts');
  assert.equal(stale.status, 401, JSON.stringify(stale.body));
  // The shop signs the shopper in again (a fresh token in its cookie); continuing
  // brings the checkout back as a new one (CONTRACT §16).
  const fresh = await token(sub, 600);
  await context.addCookies([{ name: 'shop_id_token', value: fresh.jwt, url: BASE, httpOnly: true, sameSite: 'Lax' }]);
  await page.click('#continue');
  await page.waitForURL(/\/checkout\/\?id=/);
  await ready(page);
  const restored = new URL(page.url()).searchParams.get('id');
  assert.notEqual(restored, id);
  assert.equal((await api(context, 'GET', `/checkouts/${restored}`)).body.status, 'ACTIVE');
  await context.close();
});
