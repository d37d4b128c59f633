// Approval in the storefront (CONTRACT §15): a shopper submits an order for approval, an
// approver approves one and rejects another on /approvals/, and each shopper reads the
// decision on the order page.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, shopper, addToCart, startCheckout, choose, BASE, ADMIN } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Submits the shopper's cart for approval on the checkout page; returns the order id. */
async function submitted(context) {
  await addToCart(context, 'BOX-GIFT', 1);
  const page = await context.newPage();
  await startCheckout(page);
  await choose(page, { shipping: 'standard', payment: 'invoice' });
  await page.click('#approval');
  await page.waitForURL(/\/order\/\?id=/);
  await page.waitForSelector('#order-status[data-status=PENDING_APPROVAL]');
  return { page, orderId: new URL(page.url()).searchParams.get('id') };
}

test('an approver approves one order and rejects another; the shoppers read the decisions', async () => {
  const { context: buyer } = await shopper(browser);
  const { context: other } = await shopper(browser);
  const { context: boss, username: bossName } = await shopper(browser);
  const role = await fetch(`${BASE}/api/v1/admin/approvers/${bossName}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ approver: true }),
  });
  assert.equal(role.status, 200, await role.text());
  const first = await submitted(buyer);
  const second = await submitted(other);

  const page = await boss.newPage();
  await page.goto('/approvals/');
  await page.waitForFunction(() => document.body.dataset.ready === 'yes');
  const card = (id) => `.approval[data-id="${id}"]`;
  await page.waitForSelector(card(first.orderId));
  await page.click(`${card(first.orderId)} .approve`);
  await page.waitForSelector(`${card(first.orderId)}`, { state: 'detached' });
  await page.fill(`${card(second.orderId)} .reason`, 'Over the gift budget this month');
  await page.click(`${card(second.orderId)} .reject`);
  await page.waitForSelector(`${card(second.orderId)}`, { state: 'detached' });

  await first.page.reload();
  await first.page.waitForSelector('#order-status[data-status=APPROVED]');
  assert.match(await first.page.textContent('#order-status'), new RegExp(`Approved by ${bossName}`));
  await second.page.reload();
  await second.page.waitForSelector('#order-status[data-status=REJECTED]');
  assert.equal(await second.page.textContent('#decision-reason'), 'Reason: Over the gift budget this month');

  // A shopper who is not an approver is told so.
  const nosy = await other.newPage();
  await nosy.goto('/approvals/');
  await nosy.waitForFunction(() => document.body.dataset.ready === 'yes' || document.getElementById('approvals').textContent !== 'Loading…');
  assert.match(await nosy.textContent('#approvals'), /Only approvers/);
  for (const c of [buyer, other, boss]) await c.close();
});
