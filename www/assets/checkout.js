// The checkout page. The browser module (CheckoutGuard, the core compiled to wasm)
// re-validates on load, back/forward (including the back-forward cache), tab switches,
// reconnects and changes from other tabs, and keeps the pending order action with its
// idempotency key in browser storage so a refresh or a dropped connection retries the
// same request: never a second order.
import init, { CheckoutGuard, actionRequirements, shopperText } from '../pkg/index.js';

import { api, money, header, notice, clearNotice, escapeHtml, showFlash, takeFlash, handleProblem, flash } from './app.js';

// The wasm module first: the local verdict must not wait for anything else.
const headerShown = header();
// The previous page's message, taken before any verdict can leave one for the next
// page (taking it later would swallow that one).
const carried = takeFlash();
// Compiled while the page parsed (see the <head>); fetched again only if that failed.
const compiled = await window.checkoutGuardModule?.catch(() => undefined);
await init(compiled ? { module_or_path: compiled } : undefined);

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const controls = () => [...document.querySelectorAll('main button, main input, main select')]
  .filter((c) => !c.closest('#changes') && !c.closest('#bank'));
let catalog = null;
let session = null;
let leaving = false;
let loading = Promise.resolve();

const ORDER_BUTTONS = { place: 'place_order', pay: 'pay', approval: 'submit_for_approval' };
// Every word to the shopper comes from the core (verdicts, problems, `shopperText`).
const OUTAGE = shopperText('outage');
const CONFIRMING = shopperText('confirming_payment');
// Set while the page shows CONFIRMING: the module polls the session (GET) with the
// core's backoff until the payment settles; then the outcome is shown.
let confirming = false;

/** The one steady message while the bank confirms a payment. */
function showConfirming() {
  confirming = true;
  setBlocked(true);
  if ($('notice').textContent !== CONFIRMING) notice(CONFIRMING, 'info', 'PAYMENT_IN_PROGRESS');
}

function setBlocked(blocked) {
  for (const c of controls()) c.disabled = blocked;
  document.body.dataset.blocked = blocked ? 'yes' : 'no';
  updateActions();
}

/** What each order action still needs, from the core: a button the server would refuse
 *  is disabled, and the page says what to choose. */
function requirementsFor(action) {
  const s = session?.snapshot;
  return actionRequirements(action, s?.shipping_method?.id ?? null, s?.payment_method?.id ?? null,
    $('card').value.trim() !== '', s?.shipping_address != null);
}

// What changed (a restored checkout at today's prices, or a summary changed in another
// tab) is shown before the shopper can order: the order buttons wait for "Continue".
const SEEN = 'checkout-guard-changes-seen:';
let changesPending = false;

function showChanges(list, title) {
  $('changes-title').textContent = title;
  $('changes-list').innerHTML = list.map((c) => `<li data-kind="${escapeHtml(c.kind)}">${escapeHtml(c.message)}</li>`).join('');
  $('changes').hidden = false;
  changesPending = true;
  updateActions();
}

$('changes-ok').addEventListener('click', () => {
  changesPending = false;
  $('changes').hidden = true;
  try { sessionStorage.setItem(SEEN + session?.id, '1'); } catch { /* storage off: shown again on reload */ }
  updateActions();
});

function seenChanges(id) {
  try { return sessionStorage.getItem(SEEN + id) === '1'; } catch { return false; }
}

function updateActions() {
  const blocked = document.body.dataset.blocked !== 'no' || !session || changesPending;
  const hints = [];
  for (const [id, action] of Object.entries(ORDER_BUTTONS)) {
    const needs = requirementsFor(action);
    $(id).disabled = blocked || !needs.allowed;
    $(id).title = needs.message ?? '';
    $(id).dataset.missing = needs.missing.join(' ');
  }
  if (!blocked) {
    const pay = requirementsFor('pay');
    const place = requirementsFor('place_order');
    if (!pay.allowed && !place.allowed) hints.push(session?.snapshot?.payment_method ? pay.message : place.message);
  }
  $('needs').textContent = hints.join(' ');
}

/** Clears the outage message once the server answers again. */
function clearOutage() {
  if ($('notice').dataset.code === 'SERVICE_UNAVAILABLE') clearNotice();
}

/** Leaves the page once, whichever verdict or answer asks first. */
function leave(to, message, code, { now = false, replace = false } = {}) {
  if (leaving) return;
  leaving = true;
  if (message) flash(message, code);
  const go = () => (replace ? location.replace(to) : location.assign(to));
  if (now) go();
  else setTimeout(go, 900);
}

// A page restored from the back-forward cache had been leaving: it may have to leave
// again (registered before the guard's own pageshow listener, so it runs first).
window.addEventListener('pageshow', (e) => { if (e.persisted) leaving = false; });

/** To the confirmation: a normal navigation after the shopper's own order (Back returns
 *  here and re-validates), a replacement when a restored page finds the order exists. */
function showOrder(orderId, { replace = false } = {}) {
  leave(`/order/?id=${encodeURIComponent(orderId)}`, null, null, { now: true, replace });
}

// Payments that need the shopper (3-D Secure, a bank's page; CONTRACT §20). The pay
// answer is 202 with `next_action`: the pending payment and its key are already in the
// recovery record, so the shopper is sent to the bank, and the page they come back to
// (this one, another tab, another device) resumes: it asks the server to look the
// payment up now, shows "confirming" and polls, and never sends the payment again.
const returned = params.has('redirect_status');
if (returned) history.replaceState(null, '', `?id=${encodeURIComponent(params.get('id') ?? '')}`);
let bankTimer = null;
let lookedOnReturn = false;

/** To the provider's page (only an http(s) address the server gave). */
function goToBank(action) {
  if (!/^https?:\/\//.test(action?.url ?? '')) return false;
  notice(shopperText('leaving_for_bank'), 'info', 'PAYMENT_IN_PROGRESS');
  leave(action.url, null, null, { now: true });
  return true;
}

/** While the checkout waits for the shopper at the bank: the link there, the way out,
 *  and a look at the provider every few seconds (the server allows one a second). */
function showBank(body) {
  const action = body?.status === 'PAYMENT_PENDING' ? body.next_action : null;
  $('bank').hidden = !action;
  clearTimeout(bankTimer);
  if (!action) return;
  $('bank-said').textContent = action.message;
  if (/^https?:\/\//.test(action.url)) $('bank-go').href = action.url;
  bankTimer = setTimeout(lookAtBank, 3000);
}

/** Asks the server to look the payment up with the provider now, then shows the outcome. */
async function lookAtBank() {
  if (leaving || document.hidden) { bankTimer = setTimeout(lookAtBank, 3000); return; }
  const r = await api('POST', `/checkouts/${encodeURIComponent(guard.pageSessionId)}/payment/refresh`).catch(() => null);
  if (r?.status === 200) {
    guard.remember(r.body);
    if (r.body.status !== 'PAYMENT_PENDING') { $('bank').hidden = true; guard.check('payment'); return; }
    showBank(r.body);
  } else {
    bankTimer = setTimeout(lookAtBank, 5000);
  }
}

$('bank-cancel').addEventListener('click', async () => {
  $('bank-cancel').disabled = true;
  const r = await api('POST', `/checkouts/${encodeURIComponent(guard.pageSessionId)}/payment/cancel`).catch(() => null);
  $('bank-cancel').disabled = false;
  if (r?.status !== 200) { $('bank-said').textContent = r?.body?.detail ?? OUTAGE; return; }
  guard.remember(r.body);
  $('bank').hidden = true;
  guard.check('payment');
});

function onVerdict(v) {
  (window.__verdicts ??= []).push({ ...v, at: performance.now() });
  document.body.dataset.source = v.source;
  if (v.source === 'unreachable') {
    // No decision (offline, 5xx, a proxy's page): stay, keep everything, say so; the
    // module asks again by itself with backoff. Only a definite verdict moves the shopper.
    notice(OUTAGE, 'warn', 'SERVICE_UNAVAILABLE');
    return;
  }
  document.body.dataset.state = v.state;
  if (v.source === 'local' && !v.known) return; // nothing known yet: wait for the server
  if (v.source === 'server') clearOutage();
  switch (v.state) {
    case 'ACTIVE':
      if (!leaving) setBlocked(false);
      if (v.source === 'server') loading = load();
      $('bank').hidden = true;
      if (confirming && v.source === 'server') {
        // The payment settled without an order (declined, or voided): its stored answer
        // says why; the retry with the same key fetches it (replayed, never charged).
        confirming = false;
        clearNotice();
        retryLater(0);
      }
      break;
    case 'PAYMENT_PENDING':
      // The module polls the session by itself (GET, never the payment).
      showConfirming();
      if (v.source === 'server') {
        const body = guard.lastSession();
        // Back from the bank: look now rather than wait for the provider's webhook.
        if (body?.next_action && returned && !lookedOnReturn) { lookedOnReturn = true; lookAtBank(); }
        showBank(body);
      }
      break;
    case 'COMPLETED':
      $('bank').hidden = true;
      setBlocked(true);
      if (v.order_id) showOrder(v.order_id, { replace: true });
      break;
    default: // INACTIVE, EXPIRED, NOT_FOUND: block, say why, then go to the cart.
      setBlocked(true);
      notice(v.message || shopperText('checkout_unusable'), 'warn', v.code);
      if (v.source !== 'local') leave(v.redirect || '/cart/', v.message, v.code);
  }
}

setBlocked(true); // nothing can be pressed before the first verdict
const guard = new CheckoutGuard({ onVerdict, pageSessionId: params.get('id') || undefined });
window.__guard = guard;

headerShown.then(() => showFlash(carried));

const storage = guard.storageStatus();
if (storage.degraded) {
  $('storage').textContent = `· ${shopperText('storage_unavailable')}`;
  $('storage').dataset.status = storage.status;
}

function render(body) {
  session = body;
  if (body.changes?.length && !changesPending && !seenChanges(body.id)) {
    showChanges(body.changes, shopperText('welcome_back'));
  }
  const s = body.snapshot;
  $('number').textContent = body.number;
  $('summary').querySelector('tbody').innerHTML = s.lines.map((l) => `
    <tr data-sku="${escapeHtml(l.sku)}"><td>${escapeHtml(l.name)}</td><td class="num">${l.quantity}</td>
    <td class="num">${money(l.unit_price, s.currency)}</td><td class="num">${money(l.total, s.currency)}</td>
    <td><button class="link remove">Remove</button></td></tr>`).join('');
  const t = s.totals;
  const discounts = [...s.promotions, ...s.vouchers].map((d) => `<div class="muted">${escapeHtml(d.description)}: −${money(d.amount, s.currency)}</div>`).join('');
  $('totals').innerHTML = `<div>Subtotal ${money(t.subtotal, s.currency)}</div>${discounts}
    <div>Shipping ${money(t.shipping, s.currency)} · Tax ${money(t.tax, s.currency)}</div>
    <div><strong>Total <span id="grand-total">${money(t.grand_total, s.currency)}</span></strong></div>`;
  const radios = (name, list, chosen) => list.map((m) => `<label><input type="radio" name="${name}" value="${escapeHtml(m.id)}" ${chosen === m.id ? 'checked' : ''}> ${escapeHtml(m.name)}${m.price !== undefined ? ` (${money(m.price, s.currency)})` : ''}</label>`).join('');
  // Only the methods that deliver to the address (all of them before there is one).
  const to = s.shipping_address?.country;
  // A checkout the shop made from its own priced cart offers the shop's methods and no
  // voucher (CONTRACT §24); any other, the catalog's.
  const offered = body.offer ?? catalog;
  $('voucher-box').hidden = Boolean(body.offer);
  // Back to the shop's own cart, where it has one (only an http(s) address is linked).
  const back = body.offer?.cancel_url;
  $('back-to-shop').hidden = !(back && /^https?:\/\//.test(back));
  if (!$('back-to-shop').hidden) $('back-to-shop').href = back.replaceAll('{CHECKOUT_ID}', encodeURIComponent(body.id));
  const delivering = offered.shipping_methods.filter((m) => !to || !m.countries || m.countries.includes(to));
  $('shipping').innerHTML = radios('shipping', delivering, s.shipping_method?.id);
  fillAddress(s.shipping_address);
  $('payment').innerHTML = radios('payment', offered.payment_methods, s.payment_method?.id);
  guard.setSelections({
    shipping_method: s.shipping_method?.id ?? null,
    payment_method: s.payment_method?.id ?? null,
    vouchers: s.vouchers.map((v) => v.id),
  });
  setBlocked(document.body.dataset.blocked === 'yes');
}

/** Renders the session the guard's server verdict just brought (no second request). */
async function load() {
  const body = guard.lastSession();
  // A checkout the shop made from its own cart offers its own methods: no catalog.
  if (!body?.offer) catalog ??= (await api('GET', '/products')).body;
  if (body?.verdict?.allowed) render(body);
}

setInterval(() => {
  const left = guard.timeLeftMs();
  if (left == null || leaving) return;
  const m = Math.floor(left / 60000);
  const sec = Math.floor((left % 60000) / 1000);
  $('countdown').textContent = `${m}:${String(sec).padStart(2, '0')}`;
  if (left === 0 && document.body.dataset.state === 'ACTIVE') guard.check('timer');
}, 1000);

/** Where each change's outcome is said: next to the control that made it. */
const SAID_BY = { '/shipping-method': 'shipping-said', '/payment-method': 'payment-said', '/vouchers': 'voucher-said' };

/** Renders `body` keeping the focus on the choice the shopper was on (the radios are
 *  drawn anew). */
function renderKeepingFocus(body) {
  const at = document.activeElement;
  const radio = at?.matches?.('input[type=radio]') ? { name: at.name, value: at.value } : null;
  render(body);
  if (!radio) return;
  const again = [...document.querySelectorAll(`input[type=radio][name="${radio.name}"]`)];
  (again.find((r) => r.checked) ?? again.find((r) => r.value === radio.value))?.focus();
}

/** Changes to the checkout (shipping, payment, voucher, removing a line). A choice
 *  shows as chosen only once the server has it: any other outcome draws the checkout
 *  as the server last confirmed it, and says so next to the control, with a retry. */
async function change(method, path, body) {
  const local = guard.localVerdict();
  if (!local.allowed) { onVerdict({ ...local, source: 'local-action' }); return; }
  const said = SAID_BY[path] ? $(SAID_BY[path]) : null;
  if (said) said.textContent = shopperText('saving');
  const r = await api(method, `/checkouts/${encodeURIComponent(guard.pageSessionId)}${path}`, body)
    .catch(() => null);
  if (r?.status === 200 && r.body?.verdict) {
    guard.remember(r.body);
    if (said) said.textContent = shopperText('saved');
    if (r.body.verdict.allowed) { clearNotice(); renderKeepingFocus(r.body); } else { guard.check('change'); }
    return;
  }
  if (session) renderKeepingFocus(session);
  const refused = r && r.status < 500 && r.status !== 429 && typeof r.body?.code === 'string';
  // A problem of the whole checkout (ended, superseded, signed out) leads away from it.
  if (refused && (r.body.redirect || !said)) { if (said) said.textContent = ''; handleProblem(r.body); return; }
  if (!said) { notice(shopperText('not_saved'), 'error'); return; }
  said.textContent = refused ? `Not saved: ${r.body.detail}` : `${shopperText('not_saved')} `;
  if (!refused) {
    const retry = document.createElement('button');
    retry.type = 'button';
    retry.className = 'link';
    retry.textContent = shopperText('try_again');
    retry.addEventListener('click', () => change(method, path, body));
    said.append(retry);
  }
}

$('shipping').addEventListener('change', (e) => change('PUT', '/shipping-method', { method_id: e.target.value }));

// The shipping address (CONTRACT §18): every order needs one; its country decides the
// tax and which shipping methods deliver. A refused field is marked where it is.
const ADDRESS_FIELDS = ['name', 'line1', 'line2', 'postal_code', 'city', 'region', 'country', 'phone'];
function showFieldErrors(errors) {
  for (const f of ADDRESS_FIELDS) {
    const said = (errors ?? []).find((e) => e.pointer === `/${f}`);
    const input = $(`a-${f}`);
    const out = $(`a-${f}-error`);
    input.setAttribute('aria-invalid', said ? 'true' : 'false');
    out.textContent = said ? said.detail : '';
    out.hidden = !said;
  }
}
/** Shows the stored address (trimmed, the country upper-cased); while the shopper types
 *  in the form, only when `saved` (their own save just answered). */
function fillAddress(a, saved = false) {
  if (!a || (!saved && $('address').contains(document.activeElement))) return;
  for (const f of ADDRESS_FIELDS) $(`a-${f}`).value = a[f] ?? '';
}
$('address').addEventListener('submit', async (e) => {
  e.preventDefault();
  const local = guard.localVerdict();
  if (!local.allowed) { onVerdict({ ...local, source: 'local-action' }); return; }
  const address = {};
  for (const f of ADDRESS_FIELDS) {
    const v = $(`a-${f}`).value.trim();
    if (v !== '' || !['line2', 'region', 'phone'].includes(f)) address[f] = v;
  }
  const r = await api('PUT', `/checkouts/${encodeURIComponent(guard.pageSessionId)}/shipping-address`, address);
  if (r.status !== 200) {
    showFieldErrors(r.body?.errors);
    const first = r.body?.errors?.[0]?.pointer?.slice(1);
    if (first && $(`a-${first}`)) $(`a-${first}`).focus();
    else handleProblem(r.body);
    return;
  }
  showFieldErrors([]);
  fillAddress(r.body.snapshot.shipping_address, true);
  guard.remember(r.body);
  $('address-said').textContent = [shopperText('address_saved'), ...(r.body.changes ?? []).map((c) => c.message)].join(' ');
  if (r.body.verdict.allowed) { clearNotice(); render(r.body); } else { guard.check('change'); }
});
$('payment').addEventListener('change', (e) => change('PUT', '/payment-method', { method_id: e.target.value }));
$('apply').addEventListener('click', () => change('POST', '/vouchers', { code: $('voucher').value }));
$('summary').addEventListener('click', (e) => {
  if (!e.target.classList.contains('remove')) return;
  const sku = e.target.closest('tr').dataset.sku;
  change('DELETE', `/items/${encodeURIComponent(sku)}`);
});

// The card goes to the payment provider, never to the shop: the provider answers a
// token (as a real provider's browser SDK does), and only the token is sent with the
// payment. It is kept with the pending payment (this page only), so a retry sends the
// same body; a new payment gets a new token.
let paymentToken = null;
let providerSetup = null;

async function tokenize(card) {
  providerSetup ??= await fetch('/api/v1/payments/config').then((r) => (r.ok ? r.json() : null)).catch(() => null);
  if (!providerSetup) throw new Error(shopperText('provider_unreachable'));
  const r = await fetch(providerSetup.tokenize_url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${providerSetup.publishable_key}` },
    body: JSON.stringify({ card_number: card }),
  }).catch(() => null);
  const body = await r?.json().catch(() => null);
  if (r?.ok && body?.id) return body.id;
  if (r && r.status < 500) throw new Error(body?.error?.message ?? shopperText('card_not_accepted'));
  throw new Error(shopperText('provider_unreachable'));
}

function extraFor(action) {
  return action === 'pay' && paymentToken ? { payment_token: paymentToken } : {};
}

async function answered(r) {
  if (r?.status === 201) {
    showOrder(r.body.id);
    return;
  }
  if (r?.status === 202 && r.nextAction && goToBank(r.nextAction)) return;
  if (r?.transient) {
    // A 5xx or a proxy's page: the order may exist. The pending action and its key are
    // kept; the retry with the same key finds the order or places it, never twice.
    notice(OUTAGE, 'warn', 'SERVICE_UNAVAILABLE');
    retryLater(r.retryInMs);
    return;
  }
  if (r?.pending && guard.record()?.pending?.action === 'pay') {
    // The bank has not answered yet: one steady message, and the session is polled
    // (GET) until the payment settles; the payment itself is not sent again.
    showConfirming();
    guard.check('payment');
    return;
  }
  if (r?.pending) {
    // Decided by nobody yet (still running): the module kept the key; ask again after
    // the wait it gives.
    notice(r.body?.detail ?? shopperText('order_still_running'), 'warn', r.body?.code);
    retryLater(r.retryInMs);
    return;
  }
  setBlocked(false);
  if (r?.body?.code === 'SNAPSHOT_MISMATCH') {
    // The summary changed since the shopper confirmed it (another tab): say what, and
    // show the current one; the next click sends its digest.
    if (r.body.changes?.length) showChanges(r.body.changes, shopperText('summary_changed'));
    guard.check('mismatch');
  }
  handleProblem(r?.body);
}

/** The three order actions. The module checks locally first, stores the pending action
 *  and its key, then sends it. */
async function submit(action) {
  const local = guard.localVerdict();
  if (!local.allowed) { onVerdict({ ...local, source: 'local-action' }); return; }
  const needs = requirementsFor(action);
  if (!needs.allowed) { notice(needs.message, 'error', 'VALIDATION_FAILED'); updateActions(); return; }
  setBlocked(true);
  notice(shopperText('sending_order'), 'info');
  if (action === 'pay') {
    try {
      paymentToken = await tokenize($('card').value.trim());
    } catch (e) {
      setBlocked(false);
      notice(e.message, 'error', 'PAYMENT_DECLINED');
      return;
    }
  }
  try {
    await answered(await guard.submit(action, extraFor(action)));
  } catch (e) {
    // No answer (connection dropped): the request is kept and retried with its key.
    notice(e.message || shopperText('connection_lost'), 'warn', e.code);
    if (e.pending) retryLater(e.retryInMs);
  }
}

/** One retry of the pending order action at a time, after the module's wait. */
let retryTimer = null;
function retryLater(ms) {
  clearTimeout(retryTimer);
  retryTimer = setTimeout(resume, ms ?? 1000);
}

/** Retries a pending order action with its stored key, if there is one. */
async function resume() {
  const record = guard.record();
  if (!record?.pending || record.session.id !== guard.pageSessionId) return;
  const extra = extraFor(record.pending.action);
  if (record.pending.action === 'pay' && !extra.payment_token) {
    // A payment sent before a reload: its token is not kept anywhere, so it cannot be
    // resent as it was. Ask for the session instead: the bank may still be confirming
    // (the module polls), or the order may exist; if the checkout is active again, the
    // payment did not complete, and the next Pay starts afresh (the core's words say so).
    const v = await guard.check('resume');
    const said = v.source === 'server' && v.state === 'ACTIVE' ? guard.abandonUnsendablePayment() : null;
    if (said) notice(said, 'warn', 'PAYMENT_DECLINED');
    return;
  }
  if (!confirming) notice(shopperText('resuming_order'), 'info');
  try {
    const r = await guard.resumePending(extra);
    // Nothing pending any more (another tab finished it): the verdict shows the outcome.
    if (r === null) { guard.check('resume'); return; }
    await answered(r);
  } catch (e) {
    notice(e.message || shopperText('connection_lost'), 'warn', e.code);
    if (e.pending) retryLater(e.retryInMs);
  }
}

$('card').addEventListener('input', () => updateActions());
$('place').addEventListener('click', () => submit('place_order'));
$('pay').addEventListener('click', () => submit('pay'));
$('approval').addEventListener('click', () => submit('submit_for_approval'));
window.addEventListener('online', () => retryLater(0));

await guard.attach();
if (guard.pageSessionId && !params.get('id')) {
  history.replaceState(null, '', `?id=${encodeURIComponent(guard.pageSessionId)}`);
}
await loading;
await resume();
document.body.dataset.ready = 'yes';
