// The simulated payment provider as the tests see it (shared by tests/e2e and
// tests/engines): its challenge card and its own record of a checkout's payments.
import assert from 'node:assert/strict';

/** The card that asks for the bank's challenge (checkout_payment_sim::cards::CHALLENGE). */
export const CHALLENGE_CARD = '4000002760003184';

/** The provider's payments for a checkout, asked of the provider itself (its own API,
 *  with its secret key), by way of the shop at `base` that names it. */
export async function atProvider(base, checkoutId) {
  const setup = await (await fetch(`${base}/api/v1/payments/config`)).json();
  const provider = setup.tokenize_url.replace(/\/v1\/tokens$/, '');
  const r = await fetch(`${provider}/v1/payments?checkout_id=${encodeURIComponent(checkoutId)}`, {
    headers: { authorization: 'Bearer sk_test_simulated' },
  });
  assert.equal(r.status, 200);
  const payments = (await r.json()).data;
  return { payments, charged: payments.filter((p) => p.charged).length };
}
