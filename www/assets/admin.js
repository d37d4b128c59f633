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
const fields = document.getElementById('settings-fields');
const save = document.getElementById('save-settings');
// Nothing can be saved that was not loaded first: the fields and Save stay off until
// the current settings are shown (a Save of empty fields would switch management off).
const show = (s) => {
  enabled.checked = s.enabled;
  timeout.value = s.timeout_minutes;
  fields.disabled = false;
  save.disabled = false;
  document.getElementById('settings-hint').hidden = true;
};
document.getElementById('load').addEventListener('click', async () => {
  const r = await call('GET');
  if (r.status === 200) { show(r.body); notice('Loaded.', 'ok'); } else notice(r.body.detail, 'error', r.body.code);
});
document.getElementById('settings').addEventListener('submit', async (event) => {
  event.preventDefault();
  if (fields.disabled) return;
  const r = await call('PUT', { enabled: enabled.checked, timeout_minutes: Number(timeout.value) });
  if (r.status === 200) { show(r.body); notice('Saved. New checkouts use these settings; started ones keep theirs.', 'ok'); }
  else notice(r.body.detail, 'error', r.body.code);
});

// The catalog (CONTRACT §17): a table of its products (price, maximum, on sale, or
// removed; new ones added), saved one product at a time, or a whole JSON document
// imported. Every save names the version it was made from (If-Match), so an admin who
// edited an older version is told to reload instead of overwriting another's change.
const catalog = document.getElementById('catalog');
let catalogVersion = null;
let catalogCurrency = 'USD';
const catalogCall = async (method, path, body, ifMatch = catalogVersion) => {
  const headers = { authorization: `Bearer ${token.value}`, 'content-type': 'application/json' };
  if (ifMatch) headers['if-match'] = ifMatch;
  const r = await fetch(`${API}${path}`, { method, headers, body: body === undefined ? undefined : body });
  const text = await r.text();
  return { status: r.status, etag: r.headers.get('etag'), body: text ? JSON.parse(text) : null };
};
const problemText = (p) => [p.detail, ...(p.errors ?? []).map((e) => `${e.pointer}: ${e.detail}`)].join('\n');
function renderCatalog(doc) {
  catalogCurrency = doc.currency;
  catalog.innerHTML = `<p>Version ${doc.version} · ${escapeHtml(doc.currency)} · prices ${doc.prices_include_tax ? 'include' : 'exclude'} tax · ships from ${escapeHtml(doc.origin_country)}</p>
    <table><thead><tr><th>SKU</th><th>Name</th><th>Tax class</th><th class="num">Price (in cents, or the currency's smallest unit)</th><th class="num">Max per order</th><th>On sale</th><th><span class="sr-only">Remove</span></th></tr></thead><tbody>
    ${doc.products.map((p) => `<tr data-sku="${escapeHtml(p.sku)}">
      <td><code>${escapeHtml(p.sku)}</code></td><td><input class="name" value="${escapeHtml(p.name)}" aria-label="Name of ${escapeHtml(p.sku)}"></td>
      <td><input class="class" value="${escapeHtml(p.tax_class)}" size="8" aria-label="Tax class of ${escapeHtml(p.sku)}"></td>
      <td class="num"><input class="price" type="number" min="0" max="100000000" value="${p.unit_price}" aria-label="Price of ${escapeHtml(p.name)}"> <span class="muted">${money(p.unit_price, doc.currency)}</span></td>
      <td class="num"><input class="max" type="number" min="1" max="999" value="${p.max_quantity}" aria-label="Maximum of ${escapeHtml(p.name)}"></td>
      <td><input class="active" type="checkbox" ${p.active ? 'checked' : ''} aria-label="${escapeHtml(p.name)} on sale"></td>
      <td><button type="button" class="secondary save">Save</button> <button type="button" class="secondary remove">Remove</button></td></tr>`).join('')}
    <tr class="new"><td><input class="sku" placeholder="New SKU" aria-label="New product's SKU"></td><td><input class="name" aria-label="New product's name"></td>
      <td><input class="class" size="8" aria-label="New product's tax class"></td><td class="num"><input class="price" type="number" min="0" aria-label="New product's price"></td>
      <td class="num"><input class="max" type="number" min="1" max="999" value="999" aria-label="New product's maximum"></td><td><input class="active" type="checkbox" checked aria-label="New product on sale"></td>
      <td><button type="button" class="secondary save">Add</button></td></tr>
    </tbody></table>
    <p><label>Import a whole catalog (JSON) <input type="file" id="catalog-file" accept="application/json,.json"></label>
    <a id="catalog-export" class="secondary" download="catalog.json" href="#">Export as JSON</a></p>
    <button type="button" id="load-catalog" class="secondary">Reload</button>`;
  const exported = { ...doc };
  delete exported.version;
  catalog.querySelector('#catalog-export').href = `data:application/json,${encodeURIComponent(JSON.stringify(exported, null, 2))}`;
}
async function loadCatalog() {
  const r = await catalogCall('GET', '/admin/catalog', undefined, null);
  if (r.status === 200) { catalogVersion = r.etag; renderCatalog(r.body); } else notice(r.body.detail, 'error', r.body.code);
}
async function afterSave(r, said) {
  if (r.status === 200 || r.status === 201 || r.status === 204) {
    notice(`${said} New checkouts use it; started ones keep their prices.`, 'ok');
  } else if (r.status === 412) {
    notice('Someone changed the catalog meanwhile: it was reloaded. Repeat your change.', 'error', r.body?.code);
  } else {
    notice(problemText(r.body), 'error', r.body?.code);
    return;
  }
  await loadCatalog();
}
catalog.addEventListener('click', async (event) => {
  if (event.target.id === 'load-catalog') { await loadCatalog(); return; }
  const row = event.target.closest('tr');
  if (!row) return;
  const sku = row.dataset.sku ?? row.querySelector('.sku')?.value.trim();
  if (event.target.classList.contains('remove')) {
    await afterSave(await catalogCall('DELETE', `/admin/catalog/products/${encodeURIComponent(sku)}`), `Removed ${sku}.`);
    return;
  }
  if (!event.target.classList.contains('save') || !sku) return;
  const product = {
    sku,
    name: row.querySelector('.name').value,
    tax_class: row.querySelector('.class').value.trim(),
    unit_price: Number(row.querySelector('.price').value),
    max_quantity: Number(row.querySelector('.max').value),
    active: row.querySelector('.active').checked,
  };
  const r = await catalogCall('PUT', `/admin/catalog/products/${encodeURIComponent(sku)}`, JSON.stringify(product));
  await afterSave(r, `Saved ${product.name} (${money(product.unit_price, catalogCurrency)}).`);
});
catalog.addEventListener('change', async (event) => {
  if (event.target.id !== 'catalog-file' || !event.target.files[0]) return;
  const text = await event.target.files[0].text();
  const r = await catalogCall('PUT', '/admin/catalog', text);
  await afterSave(r, 'Imported the catalog.');
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
