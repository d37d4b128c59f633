// Order events verified by the ecosystem (CONTRACT §21): the README's two receivers
// (tests/webhooks/receiver.py and receiver.mjs, on the official `standardwebhooks`
// packages from PyPI and npm, pinned) run as their own processes behind a recording
// relay; a real order flow (placed, paid by card, submitted, approved, rejected) is
// delivered to both, every delivery must verify, and a tampered copy of a real delivery
// must be refused. No code of ours checks a signature here.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'playwright-core';
import { BASE, ADMIN } from './helpers.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const RECEIVERS = join(HERE, '..', 'webhooks');

async function admin(method, path, body) {
  const r = await fetch(`${BASE}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: await r.json().catch(() => null) };
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A relay on its own port that records each delivery (headers and exact body) and
 *  forwards it untouched to `target`, answering what the target answered. */
async function relay(target) {
  const seen = [];
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const r = await fetch(target(), { method: 'POST', headers: req.headers, body }).catch(() => null);
    seen.push({ headers: { ...req.headers }, body, status: r?.status ?? 502 });
    res.writeHead(r?.status ?? 502).end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}/hook`, seen, close: () => server.close() };
}

/** Starts a README receiver with the endpoint's secret; its "verified" lines. */
async function startReceiver(command, file, secret) {
  const port = await freePort();
  const child = spawn(command, [join(RECEIVERS, file)], {
    env: { ...process.env, WEBHOOK_SECRET: secret, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const verified = [];
  let buffered = '';
  child.stdout.on('data', (d) => {
    buffered += d;
    const lines = buffered.split('\n');
    buffered = lines.pop();
    for (const line of lines) if (line.startsWith('verified ')) verified.push(line.split(' '));
  });
  child.stderr.on('data', () => {});
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{}' }).catch(() => null);
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `http://127.0.0.1:${port}/hook`, verified, stop: () => child.kill() };
}

async function shopperApi(name) {
  const ctx = await request.newContext({ baseURL: BASE });
  const r = await ctx.post('/api/v1/auth/signup', { data: { username: name, password: 'e2e password' } });
  assert.equal(r.status(), 201, await r.text());
  const call = async (method, path, data, headers = {}) => {
    const res = await ctx.fetch(`/api/v1${path}`, { method, data, headers });
    return { status: res.status(), body: await res.json().catch(() => null) };
  };
  const checkout = async (payment) => {
    assert.equal((await call('POST', '/cart/items', { sku: 'BRW-FUDGE', quantity: 1 })).status, 201);
    const started = await call('POST', '/checkouts');
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const id = started.body.id;
    const address = { name: 'Hook Shopper', line1: '1 Main Street', city: 'Springfield', postal_code: '12345', country: 'US' };
    assert.equal((await call('PUT', `/checkouts/${id}/shipping-address`, address)).status, 200);
    assert.equal((await call('PUT', `/checkouts/${id}/shipping-method`, { method_id: 'standard' })).status, 200);
    const chosen = await call('PUT', `/checkouts/${id}/payment-method`, { method_id: payment });
    assert.equal(chosen.status, 200, JSON.stringify(chosen.body));
    return { id, digest: chosen.body.digest };
  };
  const act = (id, action, body, key) => call('POST', `/checkouts/${id}/${action}`, body, { 'idempotency-key': key });
  return { ctx, call, checkout, act };
}

test('the official standardwebhooks libraries (PyPI and npm) verify every order event and refuse a tampered one', async () => {
  const u = `wh${process.pid}x${Date.now() % 100000}`;
  const receivers = [];
  for (const [command, file] of [['python3', 'receiver.py'], ['node', 'receiver.mjs']]) {
    let target = '';
    const tap = await relay(() => target);
    const added = await admin('POST', '/admin/webhook-endpoints', { url: tap.url });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    assert.match(added.body.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    const rx = await startReceiver(command, file, added.body.secret);
    target = rx.url;
    receivers.push({ file, tap, rx, endpoint: added.body.id });
  }
  try {
    // A real order flow: placed (invoice), paid (card, through the provider),
    // submitted then approved, submitted then rejected.
    const placer = await shopperApi(`${u}a`);
    let c = await placer.checkout('invoice');
    assert.equal((await placer.act(c.id, 'place-order', { snapshot_digest: c.digest }, `${u}-1`)).status, 201);

    const payer = await shopperApi(`${u}b`);
    c = await payer.checkout('card');
    const setup = (await payer.call('GET', '/payments/config')).body;
    const tok = await fetch(setup.tokenize_url, {
      method: 'POST',
      headers: { authorization: `Bearer ${setup.publishable_key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ card_number: '4242424242424242' }),
    }).then((r) => r.json());
    const paid = await payer.act(c.id, 'pay', { snapshot_digest: c.digest, payment_token: tok.id }, `${u}-2`);
    assert.equal(paid.status, 201, JSON.stringify(paid.body));

    const decided = [];
    for (const [name, decision] of [[`${u}c`, 'approve'], [`${u}d`, 'reject']]) {
      const s = await shopperApi(name);
      c = await s.checkout('invoice');
      const order = await s.act(c.id, 'submit-for-approval', { snapshot_digest: c.digest }, `${u}-${name}`);
      assert.equal(order.status, 201, JSON.stringify(order.body));
      const body = decision === 'approve' ? { snapshot_digest: order.body.snapshot.digest } : { reason: 'over budget' };
      const r = await admin('POST', `/approvals/${order.body.id}/${decision}`, body);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      decided.push(order.body.id);
    }

    const expected = ['order.approved', 'order.paid', 'order.placed', 'order.rejected', 'order.submitted_for_approval'];
    for (const { file, tap, rx } of receivers) {
      for (let i = 0; i < 150 && rx.verified.length < 6; i++) await new Promise((r) => setTimeout(r, 100));
      // Every delivery that reached the receiver verified (204), none was refused.
      assert.ok(tap.seen.length >= 6, `${file}: ${tap.seen.length} deliveries`);
      assert.deepEqual(tap.seen.map((d) => d.status).filter((s) => s !== 204), [], `${file} refused a genuine delivery`);
      assert.equal(rx.verified.length, tap.seen.length, `${file}: verified ${rx.verified.length} of ${tap.seen.length}`);
      assert.deepEqual([...new Set(rx.verified.map((v) => v[1]))].sort(), expected);
      const ids = new Set(rx.verified.map((v) => v[2]));
      assert.equal(ids.size, 6, `${file}: six distinct webhook-ids`);
      console.log(`standardwebhooks ${file}: ${rx.verified.length} of ${tap.seen.length} deliveries verified`);

      // A real delivery replayed unchanged verifies; tampered in any part, it is refused.
      const genuine = tap.seen[0];
      const send = (headers, body) => fetch(rx.url, { method: 'POST', headers, body }).then((r) => r.status);
      const headers = { 'content-type': 'application/json', 'webhook-id': genuine.headers['webhook-id'],
        'webhook-timestamp': genuine.headers['webhook-timestamp'], 'webhook-signature': genuine.headers['webhook-signature'] };
      assert.equal(await send(headers, genuine.body), 204);
      const tamperedBody = Buffer.from(genuine.body.toString().replace(/"grand_total":(\d+)/, (_, n) => `"grand_total":${Number(n) + 1}`));
      assert.notDeepEqual(tamperedBody, genuine.body);
      assert.equal(await send(headers, tamperedBody), 400, `${file} took a tampered body`);
      assert.equal(await send({ ...headers, 'webhook-id': 'evt_other' }, genuine.body), 400, `${file} took another id`);
      assert.equal(await send({ ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) + 1) }, genuine.body), 400);
      assert.equal(await send({ ...headers, 'webhook-signature': 'v1,' + Buffer.alloc(32).toString('base64') }, genuine.body), 400);
      const { 'webhook-signature': _, ...unsigned } = headers;
      assert.equal(await send(unsigned, genuine.body), 400, `${file} took an unsigned delivery`);
    }
    // The README shows these very receivers.
    const readme = readFileSync(join(HERE, '..', '..', 'README.md'), 'utf8');
    for (const { file } of receivers) {
      assert.ok(readme.includes(readFileSync(join(RECEIVERS, file), 'utf8').trim()), `README shows ${file}`);
    }
  } finally {
    for (const { tap, rx, endpoint } of receivers) {
      rx.stop();
      tap.close();
      await admin('DELETE', `/admin/webhook-endpoints/${endpoint}`);
    }
  }
});
