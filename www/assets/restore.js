// The page a recovery link opens (`/restore/?token=…`), on any device: once the shopper
// is signed in, the server brings the expired or signed-out checkout back as a new
// checkout at today's prices; the checkout page then shows what changed.
import init, { CheckoutGuard } from '../pkg/index.js';
import { api, header, handleProblem, signInFirst } from './app.js';

const token = new URLSearchParams(location.search).get('token') ?? '';
const me = await header();
if (!me) {
  // Signing in brings the shopper back here, token and all.
  signInFirst('Please sign in to continue your earlier checkout.');
  await new Promise(() => {});
}
// The token works once: keep it out of the history and of later referrers.
history.replaceState(null, '', location.pathname);
await init();
const r = await api('POST', '/checkouts/restore', { token });
if (r.status === 201) {
  const guard = new CheckoutGuard({ onVerdict: () => {} });
  guard.remember(r.body);
  location.replace(`/checkout/?id=${encodeURIComponent(r.body.id)}`);
} else if (r.body?.code === 'TOKEN_REPLAYED') {
  // Used already (a double click, or another device): the checkout it made, if still
  // open, is the shopper's active one.
  const active = await api('GET', '/checkouts/active');
  if (active.status === 200 && active.body.restored_from) location.replace(`/checkout/?id=${encodeURIComponent(active.body.id)}`);
  else handleProblem(r.body);
} else {
  document.getElementById('status').textContent = '';
  handleProblem(r.body ?? { detail: 'The shop is briefly unreachable. Please open the link again in a moment.', code: 'SERVICE_UNAVAILABLE' });
}
document.body.dataset.ready = 'yes';
