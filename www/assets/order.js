// Order confirmation.
import { api, money, header, escapeHtml, showFlash } from './app.js';

await header();
showFlash();
const id = new URLSearchParams(location.search).get('id');
const el = document.getElementById('order');
const r = id ? await api('GET', `/orders/${encodeURIComponent(id)}`) : { status: 404, body: null };
if (r.status !== 200) {
  el.textContent = r.body?.detail || 'We could not find that order.';
} else {
  const o = r.body;
  const what = {
    PLACED: 'Your order is placed.',
    PAID: 'Paid — your order is placed.',
    PENDING_APPROVAL: 'Submitted for approval. We will tell you here when it is decided.',
    APPROVED: `Approved${o.decided_by ? ` by ${escapeHtml(o.decided_by)}` : ''} — your order is placed.`,
    REJECTED: `Rejected${o.decided_by ? ` by ${escapeHtml(o.decided_by)}` : ''}.`,
  }[o.status] ?? escapeHtml(o.status);
  const reason = o.status === 'REJECTED' && o.decision_reason ? `<p id="decision-reason">Reason: ${escapeHtml(o.decision_reason)}</p>` : '';
  if (o.status === 'REJECTED') document.querySelector('h1').textContent = 'Your order was not approved';
  else if (o.status === 'PENDING_APPROVAL') document.querySelector('h1').textContent = 'Submitted for approval';
  el.innerHTML = `<p id="order-status" data-status="${escapeHtml(o.status)}"><strong>${what}</strong></p>${reason}
    <p>Checkout <span id="order-number">${escapeHtml(o.checkout_number)}</span> · total <strong>${money(o.grand_total, o.currency)}</strong></p>
    <ul>${o.snapshot.lines.map((l) => `<li>${l.quantity} × ${escapeHtml(l.name)}</li>`).join('')}</ul>`;
  // An order of a checkout the shop made from its own cart (CONTRACT §24) continues at
  // the shop: its success_url (only an http(s) address is ever linked).
  if (o.metadata) {
    const c = await api('GET', `/checkouts/${encodeURIComponent(o.checkout_id)}`);
    const back = c.status === 200 ? c.body.offer?.success_url : null;
    if (back && /^https?:\/\//.test(back)) {
      const link = document.getElementById('continue');
      link.href = back.replaceAll('{CHECKOUT_ID}', encodeURIComponent(o.checkout_id));
      link.textContent = 'Continue at the shop';
    }
  }
}
