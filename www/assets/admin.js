// The "Checkout Session Settings" group (admin bearer token).
import { API, header, notice } from './app.js';

await header();
const token = document.getElementById('token');
const enabled = document.getElementById('enabled');
const timeout = document.getElementById('timeout');
const call = async (method, body) => {
  const r = await fetch(`${API}/admin/settings`, {
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
