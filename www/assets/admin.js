// The "Checkout Session Settings" group and the catalog (admin bearer token).
import { API, header, notice, escapeHtml, money } from './app.js';

await header();
const token = document.getElementById('token');
const enabled = document.getElementById('enabled');
const timeout = document.getElementById('timeout');
const call = async (method, body, path = '/admin/settings') => {
  const r = await fetch(`${API}${path}`, {
    method,
    headers: { authorization: `Bearer ${token.value}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, body: await r.json() };
};
const show = (s) => { enabled.checked = s.enabled; timeout.value = s.timeout_minutes; };
document.getElementById('load').addEventListener('click', async () => {
  const r = await call('GET');
  if (r.status === 200) { show(r.body); notice('Loaded.', 'ok'); } else notice(r.body.detail, 'error', r.body.code);
});
document.getElementById('settings').addEventListener('submit', async (event) => {
  event.preventDefault();
  const r = await call('PUT', { enabled: enabled.checked, timeout_minutes: Number(timeout.value) });
  if (r.status === 200) { show(r.body); notice('Saved. New checkouts use these settings; started ones keep theirs.', 'ok'); }
  else notice(r.body.detail, 'error', r.body.code);
});

// The catalog: one row per product, promotion, voucher and shipping method.
const catalog = document.getElementById('catalog');
function renderCatalog(entries) {
  catalog.innerHTML = `<table><thead><tr><th>Kind</th><th>Name</th><th class="num">Price (minor units)</th><th class="num">Max per order</th><th>Offered</th><th></th></tr></thead><tbody>
    ${entries.map((e) => `<tr data-kind="${escapeHtml(e.kind)}" data-id="${escapeHtml(e.id)}">
      <td>${escapeHtml(e.kind)}</td><td>${escapeHtml(e.name)}</td>
      <td class="num">${e.price === null ? '' : `<input class="price" type="number" min="0" max="100000000" value="${e.price}" aria-label="Price of ${escapeHtml(e.name)}"> <span class="muted">${money(e.price)}</span>`}</td>
      <td class="num">${e.max_quantity === null ? '' : `<input class="max" type="number" min="1" max="999" value="${e.max_quantity}" aria-label="Maximum of ${escapeHtml(e.name)}">`}</td>
      <td><input class="active" type="checkbox" ${e.active ? 'checked' : ''} aria-label="${escapeHtml(e.name)} offered"></td>
      <td><button type="button" class="secondary save">Save</button></td></tr>`).join('')}
    </tbody></table>`;
}
catalog.addEventListener('click', async (event) => {
  if (event.target.id === 'load-catalog') {
    const r = await call('GET', undefined, '/admin/catalog');
    if (r.status === 200) renderCatalog(r.body); else notice(r.body.detail, 'error', r.body.code);
    return;
  }
  if (!event.target.classList.contains('save')) return;
  const row = event.target.closest('tr');
  const change = { active: row.querySelector('.active').checked };
  const price = row.querySelector('.price');
  const max = row.querySelector('.max');
  if (price) change.price = Number(price.value);
  if (max) change.max_quantity = Number(max.value);
  const path = `/admin/catalog/${encodeURIComponent(row.dataset.kind)}/${encodeURIComponent(row.dataset.id)}`;
  const r = await call('PUT', change, path);
  if (r.status === 200) {
    notice(`Saved ${r.body.name}. New checkouts use it.`, 'ok');
    const all = await call('GET', undefined, '/admin/catalog');
    if (all.status === 200) renderCatalog(all.body);
  } else notice(r.body.detail, 'error', r.body.code);
});

// Order events: endpoints (the secret is shown once) and the latest deliveries.
const outbox = document.getElementById('outbox');
async function renderOutbox() {
  const [endpoints, deliveries] = await Promise.all([
    call('GET', undefined, '/admin/webhook-endpoints'),
    call('GET', undefined, '/admin/outbox/deliveries?limit=50'),
  ]);
  if (endpoints.status !== 200) { notice(endpoints.body.detail, 'error', endpoints.body.code); return; }
  outbox.innerHTML = `<h3>Endpoints</h3><table><tbody>${endpoints.body.map((e) => `<tr data-id="${escapeHtml(e.id)}">
      <td>${escapeHtml(e.url)}${e.event_types ? `<br><small>${escapeHtml(e.event_types.join(', '))}</small>` : ''}</td>
      <td>${escapeHtml(e.status)}${e.disabled_reason ? `<br><small>${escapeHtml(e.disabled_reason)}</small>` : ''}</td>
      <td>${e.status === 'active' ? '<button type="button" class="secondary stop">Stop</button>' : '<button type="button" class="secondary resume">Enable</button>'}
        <button type="button" class="secondary rotate">New secret</button></td></tr>`).join('')}</tbody></table>
    <h3>Latest deliveries</h3><table><thead><tr><th>Event</th><th>Type</th><th>State</th><th class="num">Attempts</th><th>Last answer</th></tr></thead><tbody>
    ${deliveries.body.map((d) => `<tr><td><code>${escapeHtml(d.event_id)}</code></td><td>${escapeHtml(d.event_type)}</td>
      <td>${escapeHtml(d.state)}</td><td class="num">${d.attempts}</td>
      <td>${escapeHtml(d.last_status ?? d.last_error ?? '')}</td></tr>`).join('')}</tbody></table>
    <button type="button" id="load-outbox" class="secondary">Refresh</button>`;
}
outbox.addEventListener('click', async (event) => {
  if (event.target.id === 'load-outbox') { await renderOutbox(); return; }
  const id = event.target.closest('tr')?.dataset.id;
  if (!id) return;
  const path = `/admin/webhook-endpoints/${encodeURIComponent(id)}`;
  if (event.target.classList.contains('rotate')) {
    const r = await call('POST', undefined, `${path}/rotate-secret`);
    if (r.status === 200) {
      document.getElementById('endpoint-secret').textContent = `New signing secret (shown once; the old one also signs until ${r.body.previous_valid_until}): ${r.body.secret}`;
    } else notice(r.body.detail, 'error', r.body.code);
    return;
  }
  if (event.target.classList.contains('resume')) {
    const r = await fetch(`${API}${path}`, {
      method: 'PUT', headers: { authorization: `Bearer ${token.value}`, 'content-type': 'application/json' },
      body: JSON.stringify({ active: true }),
    });
    if (r.status === 204) { notice('Enabled: waiting events are sent now.', 'ok'); await renderOutbox(); } else notice('Could not enable it.', 'error');
    return;
  }
  if (!event.target.classList.contains('stop')) return;
  const r = await fetch(`${API}${path}`, {
    method: 'DELETE', headers: { authorization: `Bearer ${token.value}` },
  });
  if (r.status === 204) { notice('Stopped.', 'ok'); await renderOutbox(); } else notice('Could not stop it.', 'error');
});
document.getElementById('new-endpoint').addEventListener('submit', async (event) => {
  event.preventDefault();
  const r = await call('POST', { url: document.getElementById('endpoint-url').value }, '/admin/webhook-endpoints');
  if (r.status === 201) {
    document.getElementById('endpoint-secret').textContent = `Signing secret (shown once): ${r.body.secret}`;
    await renderOutbox();
  } else notice(r.body.detail, 'error', r.body.code);
});
document.getElementById('approver').addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = document.getElementById('approver-name').value;
  const r = await call('PUT', { approver: document.getElementById('approver-on').checked }, `/admin/approvers/${encodeURIComponent(name)}`);
  if (r.status === 200) notice(`${r.body.username} ${r.body.approver ? 'may now' : 'may no longer'} approve orders.`, 'ok');
  else notice(r.body.detail, 'error', r.body.code);
});
