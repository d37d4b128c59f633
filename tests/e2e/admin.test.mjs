// The admin page's session settings (CONTRACT §2, §23): nothing can be saved that was not
// loaded first. Before, a Save without Load sent the empty form and switched session
// management off.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, BASE, ADMIN } from './helpers.mjs';

const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
let browser;
let original;

const settings = async () => (await fetch(`${BASE}/api/v1/admin/settings`, { headers: auth })).json();

before(async () => {
  browser = await launch();
  original = await settings();
});
after(async () => {
  await browser?.close();
  if (original) {
    const r = await fetch(`${BASE}/api/v1/admin/settings`, {
      method: 'PUT', headers: auth,
      body: JSON.stringify({ enabled: original.enabled, timeout_minutes: original.timeout_minutes }),
    });
    assert.equal(r.status, 200, await r.text());
  }
});

test('the settings form saves only what it loaded', async () => {
  const context = await browser.newContext({ baseURL: BASE });
  const page = await context.newPage();
  const puts = [];
  page.on('request', (r) => {
    if (r.method() === 'PUT' && new URL(r.url()).pathname === '/api/v1/admin/settings') puts.push(r.postDataJSON());
  });
  await page.goto('/admin/');
  await page.fill('#token', ADMIN);
  // Not loaded yet: Enter in the token field (the form's submit) sends nothing, and
  // the fields and Save are off.
  await page.press('#token', 'Enter');
  await page.waitForTimeout(500);
  assert.deepEqual(puts, [], 'nothing was saved before loading');
  assert.deepEqual(await settings(), original);
  const saveButton = '#settings button[type=submit]';
  assert.equal(await page.isDisabled(saveButton), true);
  assert.equal(await page.isDisabled('#timeout'), true);
  assert.equal(await page.isDisabled('#enabled'), true);

  await page.click('#load');
  await page.waitForFunction(() => !document.querySelector('#settings button[type=submit]').disabled);
  assert.equal(await page.isChecked('#enabled'), original.enabled);
  assert.equal(Number(await page.inputValue('#timeout')), original.timeout_minutes);
  const minutes = original.timeout_minutes === 45 ? 46 : 45;
  await page.fill('#timeout', String(minutes));
  await page.click(saveButton);
  await page.waitForFunction(() => /Saved/.test(document.getElementById('notice')?.textContent ?? ''));
  assert.deepEqual(puts, [{ enabled: original.enabled, timeout_minutes: minutes }]);
  const now = await settings();
  assert.equal(now.enabled, original.enabled, 'management stays as it was loaded');
  assert.equal(now.timeout_minutes, minutes);
  await context.close();
});
