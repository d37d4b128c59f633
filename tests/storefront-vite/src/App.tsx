// The checkout page's React part, as the package README shows it: a provider around the
// page, `useCheckoutGuard()` in the components that need the verdict.
import { useState } from 'react';
import { CheckoutGuardProvider, useCheckoutGuard, useTimeLeft } from 'checkout-guard/react';
import wasmUrl from 'checkout-guard/checkout_guard_bg.wasm?url';

let renders = 0;

/** What the guard says, as a shopper would see it. */
export function CheckoutStatus() {
  const { guard, verdict, error, submit, pending, timeLeftMs } = useCheckoutGuard();
  const [answer, setAnswer] = useState('');
  renders += 1;
  if (error) return <p role="alert" id="react-error">{String(error)}</p>;
  if (!guard || !verdict) return <p id="react-verdict" data-state="none">Checking your checkout…</p>;
  return (
    <div>
      <p id="react-verdict" data-state={verdict.state} data-source={verdict.source} data-reason={verdict.reason}
        data-session={verdict.session_id ?? ''}>
        {verdict.state === 'ACTIVE' ? 'Your checkout is ready.' : verdict.message}
      </p>
      <button type="button" id="react-check" onClick={() => { void guard.check('button'); }}>Check again</button>
      <p id="react-time-left" data-ms={timeLeftMs ?? ''}>{timeLeftMs === null ? '' : `${Math.round(timeLeftMs / 1000)} s left`}</p>
      <button type="button" id="react-place" disabled={pending} onClick={() => {
        submit('place_order', {})
          .then((r) => setAnswer(`${r.status} ${r.pending ? 'pending' : 'decided'}`))
          .catch((e: unknown) => setAnswer(e instanceof Error ? e.message : String(e)));
      }}>Place order</button>
      <p id="react-answer" data-pending={String(pending)}>{answer}</p>
      <Countdown />
    </div>
  );
}

/** A countdown that re-renders every half second. */
function Countdown() {
  const left = useTimeLeft(500);
  return <p id="react-countdown" data-ms={left ?? ''}>{left === null ? '' : `${Math.ceil(left / 1000)} s`}</p>;
}

/** The page: the guard's options and module written inline, as people do. Re-rendering
 *  it (the button) must not make a new guard or send a request; another checkout (the
 *  other button) makes a new guard for it. */
export function App({ checkoutId }: { checkoutId: string }) {
  const [clicks, setClicks] = useState(0);
  const [shown, setShown] = useState(checkoutId);
  return (
    <CheckoutGuardProvider
      options={{ pageSessionId: shown, storageKey: 'react', redirects: { cart: '/basket/' },
        headers: { 'x-storefront': 'vite-test' } }}
      module={typeof window === 'undefined' ? undefined : new URL(wasmUrl, window.location.href)}
    >
      <button type="button" id="react-rerender" onClick={() => setClicks((c) => c + 1)}>
        Re-render ({clicks})
      </button>
      <button type="button" id="react-switch" onClick={() => setShown((id) => (id === checkoutId ? 'no-such-checkout' : checkoutId))}>
        Show the other checkout
      </button>
      <CheckoutStatus />
    </CheckoutGuardProvider>
  );
}

/** How many times `CheckoutStatus` rendered (the drive bounds it). */
export const renderCount = () => renders;
