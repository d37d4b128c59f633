// Sign in or create an account.
import { api, header, notice, showFlash } from './app.js';

/** Where to go after signing in: the page that sent the shopper here, if it is one of
 *  this shop's own pages (resolved as the browser will, so no other site can hide in
 *  it: `//x`, `/\\x`, tabs or new lines). */
function nextPage() {
  const next = new URLSearchParams(location.search).get('next') ?? '/';
  try {
    const url = new URL(next, location.origin);
    if (url.origin === location.origin) return url.pathname + url.search + url.hash;
  } catch { /* not a URL */ }
  return '/';
}

await header();
showFlash();
const form = document.getElementById('login');
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const mode = event.submitter?.value === 'signup' ? 'signup' : 'login';
  const data = Object.fromEntries(new FormData(form));
  const r = await api('POST', `/auth/${mode}`, { username: data.username, password: data.password });
  if (r.status === 200 || r.status === 201) location.assign(nextPage());
  else notice(r.body?.detail || 'Could not sign in.', 'error', r.body?.code);
});
