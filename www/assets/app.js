// Shared storefront helpers: API calls, money, messages carried across redirects,
// and the page header. Plain ES module, no build step.

export const API = '/api/v1';

/** Calls the API; resolves to {status, body}. Never throws on HTTP errors. */
export async function api(method, path, body, headers = {}) {
  const init = { method, credentials: 'same-origin', headers: { accept: 'application/json', ...headers } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(API + path, init);
  let data = null;
  try { data = await response.json(); } catch { /* empty body */ }
  return { status: response.status, body: data };
}

/** Minor units to "$12.34", "¥1,234", "KWD 1.234": the currency's own number of minor
 *  digits (ISO 4217, as Intl knows it), never an assumed two. */
export function money(minor, currency = 'USD') {
  const format = new Intl.NumberFormat('en-US', { style: 'currency', currency });
  const digits = format.resolvedOptions().maximumFractionDigits;
  return format.format(minor / 10 ** digits);
}

const FLASH = 'checkout-guard-flash';

/** Remembers a message to show on the next page (survives the redirect). */
export function flash(message, code = null) {
  try { sessionStorage.setItem(FLASH, JSON.stringify({ message, code })); } catch { /* storage off */ }
}

/** To the sign-in page, saying why, and back to this page afterwards. */
export function signInFirst(message) {
  flash(message, 'UNAUTHENTICATED');
  location.assign(`/login/?next=${encodeURIComponent(location.pathname + location.search)}`);
}

/** Takes (and clears) the message left by the previous page. */
export function takeFlash() {
  let item = null;
  try { item = JSON.parse(sessionStorage.getItem(FLASH) || 'null'); sessionStorage.removeItem(FLASH); } catch { /* ignore */ }
  return item;
}

/** Shows the message left by the previous page (taken now, unless taken earlier),
 *  unless the page already says something newer. */
export function showFlash(item = takeFlash()) {
  const area = document.getElementById('notice');
  if (item && (!area || area.hidden)) notice(item.message, 'warn', item.code);
}

/** Shows a message in the page's notice area. */
export function notice(message, kind = 'info', code = null) {
  const area = document.getElementById('notice');
  if (!area) return;
  area.hidden = false;
  area.className = `notice ${kind}`;
  area.textContent = message;
  area.dataset.code = code || '';
  // Beside the buttons (the checkout page), the message is brought into view: a phone
  // shows the button that was pressed, and this is what it did.
  if (area.closest('.actions')) area.scrollIntoView({ block: 'nearest' });
}

export function clearNotice() {
  const area = document.getElementById('notice');
  if (area) { area.hidden = true; area.textContent = ''; area.dataset.code = ''; }
}

/** Follows a problem's redirect with its message, or shows it here. */
export function handleProblem(problem) {
  if (!problem) return;
  if (problem.redirect) {
    flash(problem.detail || problem.message, problem.code);
    location.assign(problem.redirect);
  } else {
    notice(problem.detail || problem.message || 'Something went wrong.', 'error', problem.code);
  }
}

/** Renders the header with the signed-in shopper. */
export async function header() {
  const nav = document.getElementById('nav');
  const me = await api('GET', '/auth/me');
  const who = me.status === 200
    ? `<span id="who">${escapeHtml(me.body.username)}${me.body.impersonator ? ` (as ${escapeHtml(me.body.impersonator)})` : ''}</span>
       <button id="logout" class="link">Sign out</button>`
    : '<a href="/login/">Sign in</a>';
  nav.innerHTML = `<a href="/" class="brand">Brownie Bliss</a>
    <span class="spacer"></span><a href="/cart/">Cart</a> ${me.status === 200 ? '<a href="/account/">Account</a> ' : ''}${who}`;
  document.getElementById('logout')?.addEventListener('click', async () => {
    await api('POST', '/auth/logout');
    location.assign('/');
  });
  return me.status === 200 ? me.body : null;
}

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
