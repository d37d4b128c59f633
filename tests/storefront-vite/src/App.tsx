// The checkout page's React part, as the package README shows it: a provider around the
// page, `useCheckoutGuard()` in the components that need the verdict.
import { useState } from 'react';
import { CheckoutGuardProvider, useCheckoutGuard } from 'checkout-guard/react';

let renders = 0;

/** What the guard says, as a shopper would see it. */
export function CheckoutStatus() {
  const { guard, verdict, error } = useCheckoutGuard();
  renders += 1;
  if (error) return <p role="alert" id="react-error">{String(error)}</p>;
  if (!guard || !verdict) return <p id="react-verdict" data-state="none">Checking your checkout…</p>;
  return (
    <div>
      <p id="react-verdict" data-state={verdict.state} data-source={verdict.source} data-reason={verdict.reason}>
        {verdict.state === 'ACTIVE' ? 'Your checkout is ready.' : verdict.message}
      </p>
      <button type="button" id="react-check" onClick={() => { void guard.check('button'); }}>Check again</button>
    </div>
  );
}

/** The page: the guard's options written inline, as people do. Re-rendering it (the
 *  button) must not make a new guard or send a request. */
export function App({ checkoutId }: { checkoutId: string }) {
  const [clicks, setClicks] = useState(0);
  return (
    <CheckoutGuardProvider
      options={{ pageSessionId: checkoutId, storageKey: 'react', redirects: { cart: '/basket/' },
        headers: { 'x-storefront': 'vite-test' } }}
    >
      <button type="button" id="react-rerender" onClick={() => setClicks((c) => c + 1)}>
        Re-render ({clicks})
      </button>
      <CheckoutStatus />
    </CheckoutGuardProvider>
  );
}

/** How many times `CheckoutStatus` rendered (the drive bounds it). */
export const renderCount = () => renders;
