// Products page: the catalog with "Add to cart".
import { api, money, header, notice, escapeHtml, showFlash, signInFirst } from './app.js';

const me = await header();
showFlash();
const { body } = await api('GET', '/products');
const grid = document.getElementById('products');
grid.innerHTML = body.products.map((p) => `
  <div class="card">
    <h2>${escapeHtml(p.name)}</h2>
    <p class="muted">${escapeHtml(p.description)}</p>
    <p><strong>${money(p.unit_price, body.currency)}</strong></p>
    <button data-sku="${escapeHtml(p.sku)}">Add to cart</button>
  </div>`).join('');
grid.addEventListener('click', async (event) => {
  const sku = event.target.dataset?.sku;
  if (!sku) return;
  if (!me) { signInFirst('Please sign in to add to your cart.'); return; }
  const r = await api('POST', '/cart/items', { sku, quantity: 1 });
  if (r.status === 201) notice(`Added to your cart.`, 'ok');
  else notice(r.body?.detail || 'Could not add that.', 'error', r.body?.code);
});
