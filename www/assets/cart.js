// Cart page: lines, quantities, and "Proceed to checkout" (which starts a checkout
// session, records it in the browser module, and opens the checkout page).
import init, { CheckoutGuard, newIdempotencyKey } from '../pkg/index.js';
import { api, money, header, notice, clearNotice, escapeHtml, showFlash, handleProblem, signInFirst } from './app.js';

const me = await header();
// Signed out: to the sign-in page with a word (any message for this page goes along).
if (!me) {
  signInFirst('Please sign in to see your cart.');
  await new Promise(() => {}); // leaving: nothing more to do here
}
showFlash();
await init();

async function render() {
  const { body } = await api('GET', '/cart');
  const el = document.getElementById('cart');
  const proceed = document.getElementById('proceed');
  if (!body.items.length) {
    el.innerHTML = '<p id="empty">Your cart is empty.</p>';
    proceed.disabled = true;
    return;
  }
  proceed.disabled = false;
  el.innerHTML = `<table><thead><tr><th>Item</th><th class="num">Qty</th><th class="num">Price</th><th class="num">Total</th><th><span class="sr-only">Remove</span></th></tr></thead><tbody>
    ${body.items.map((i) => `<tr data-sku="${escapeHtml(i.sku)}"><td>${escapeHtml(i.name)}</td>
      <td class="num"><input type="number" min="1" max="${i.max_quantity}" value="${i.quantity}" class="qty" aria-label="Quantity of ${escapeHtml(i.name)}"></td>
      <td class="num">${money(i.unit_price, body.currency)}</td>
      <td class="num">${money(i.subtotal, body.currency)}</td>
      <td><button class="link remove">Remove</button></td></tr>`).join('')}
    </tbody></table>
    ${body.preview ? `<p>Estimated total: <strong>${money(body.preview.grand_total, body.currency)}</strong> <span class="muted">(before shipping)</span></p>` : ''}`;
}

document.getElementById('cart').addEventListener('change', async (event) => {
  if (!event.target.classList.contains('qty')) return;
  const sku = event.target.closest('tr').dataset.sku;
  const r = await api('PATCH', `/cart/items/${encodeURIComponent(sku)}`, { quantity: Number(event.target.value) });
  if (r.status !== 200) notice(r.body?.detail, 'error', r.body?.code);
  await render();
});
document.getElementById('cart').addEventListener('click', async (event) => {
  if (!event.target.classList.contains('remove')) return;
  const sku = event.target.closest('tr').dataset.sku;
  await api('DELETE', `/cart/items/${encodeURIComponent(sku)}`);
  await render();
});

let starting = null;
document.getElementById('proceed').addEventListener('click', async () => {
  // One key per click burst: a double click makes one session.
  starting ??= newIdempotencyKey();
  const r = await api('POST', '/checkouts', undefined, { 'Idempotency-Key': starting });
  starting = null;
  if (r.status === 201) {
    clearNotice();
    const guard = new CheckoutGuard({ onVerdict: () => {} });
    guard.remember(r.body);
    location.assign(`/checkout/?id=${encodeURIComponent(r.body.id)}`);
  } else {
    handleProblem(r.body);
  }
});

/** "Continue where you left off": the shopper's expired or signed-out checkout, if its
 *  recovery link still works. */
async function offerResume() {
  const r = await api('GET', '/checkouts/recoverable');
  const box = document.getElementById('resume');
  if (r.status !== 200) { box.hidden = true; return; }
  box.innerHTML = `Your checkout ${escapeHtml(r.body.number)} (${money(r.body.grand_total, r.body.currency)}) was not finished.
    <a id="continue" href="${escapeHtml(r.body.link)}">Continue where you left off</a> — we will show you anything that changed.`;
  box.hidden = false;
}

await Promise.all([render(), offerResume()]);
document.body.dataset.ready = 'yes';
