// Orders submitted for approval, for approvers: approve what you looked at (the digest
// of the submitted snapshot goes with it) or reject with a reason the shopper reads.
import { api, header, notice, money, escapeHtml, signInFirst } from './app.js';

const me = await header();
if (!me) {
  signInFirst('Please sign in to see the orders waiting for approval.');
  await new Promise(() => {});
}
const list = document.getElementById('approvals');

async function render() {
  const r = await api('GET', '/approvals');
  if (r.status !== 200) {
    list.textContent = r.body?.detail ?? 'The orders could not be loaded.';
    return;
  }
  if (!r.body.length) {
    list.innerHTML = '<p id="none">Nothing is waiting for approval.</p>';
    return;
  }
  list.innerHTML = r.body.map((o) => `<article class="approval" data-id="${escapeHtml(o.id)}" data-digest="${escapeHtml(o.digest)}">
    <h2>${escapeHtml(o.checkout_number)} · ${escapeHtml(o.username)} · ${money(o.grand_total, o.currency)}</h2>
    <ul>${o.snapshot.lines.map((l) => `<li>${l.quantity} × ${escapeHtml(l.name)}</li>`).join('')}</ul>
    <div class="row"><button class="approve">Approve</button>
    <input class="reason" placeholder="Reason for rejecting" maxlength="500" aria-label="Reason for rejecting ${escapeHtml(o.checkout_number)}">
    <button class="reject secondary">Reject</button></div></article>`).join('');
}

list.addEventListener('click', async (event) => {
  const card = event.target.closest('.approval');
  if (!card) return;
  let r = null;
  if (event.target.classList.contains('approve')) {
    r = await api('POST', `/approvals/${encodeURIComponent(card.dataset.id)}/approve`, { snapshot_digest: card.dataset.digest });
  } else if (event.target.classList.contains('reject')) {
    r = await api('POST', `/approvals/${encodeURIComponent(card.dataset.id)}/reject`, { reason: card.querySelector('.reason').value });
  } else return;
  if (r.status === 200) notice(`${r.body.checkout_number} is ${r.body.status.toLowerCase()}.`, 'ok');
  else notice(r.body?.detail ?? 'That did not work.', 'error', r.body?.code);
  await render();
});

await render();
document.body.dataset.ready = 'yes';
