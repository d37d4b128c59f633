// The account page: the shopper's last checkout that expired or was signed out of, with
// "Continue where you left off" and the e-mail a shop would send with its link.
import { api, header, money, showFlash, signInFirst, escapeHtml } from './app.js';

const me = await header();
if (!me) {
  signInFirst('Please sign in to see your account.');
  await new Promise(() => {});
}
showFlash();
const $ = (id) => document.getElementById(id);
const r = await api('GET', '/checkouts/recoverable');
if (r.status === 200) {
  const c = r.body;
  const link = new URL(c.link, location.origin).href;
  const why = c.status === 'EXPIRED' ? 'expired' : 'ended when you signed out';
  $('saved-summary').innerHTML = `<p>Checkout <strong>${escapeHtml(c.number)}</strong> (${c.items} item${c.items === 1 ? '' : 's'}, ${money(c.grand_total, c.currency)}) ${why}.</p>
    <p><a class="button" id="continue" href="${escapeHtml(c.link)}">Continue where you left off</a></p>`;
  $('mail-name').textContent = me.username;
  $('mail-number').textContent = c.number;
  $('mail-until').textContent = new Date(c.link_expires_at).toLocaleString();
  $('mail-link').href = link;
  $('mail-link').textContent = link;
  $('saved').hidden = false;
} else {
  $('nothing').hidden = false;
}
document.body.dataset.ready = 'yes';
