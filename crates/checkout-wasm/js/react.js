// checkout-guard/react: the guard as a React provider and hook. React is an optional peer
// dependency: only this entry imports it. Safe to import and render on a server: the
// module is loaded and the guard made only in an effect, which runs in the browser.
import { createContext, createElement, useContext, useEffect, useState, useSyncExternalStore } from 'react';
import init, { CheckoutGuard } from './index.js';

const Context = createContext(null);

const nothing = () => () => {};
const none = () => null;

/** Guards one checkout for the components below it (see the README). */
export function CheckoutGuardProvider({ options, module, children }) {
  const [state, setState] = useState({ guard: null, error: null });
  // The guard is made again only when the checkout or the storage key changes; the
  // other options are read when it is made (an options object written inline is new
  // on every render, and must not make a new guard, nor a new request, each time).
  const pageSessionId = options?.pageSessionId;
  const storageKey = options?.storageKey;
  useEffect(() => {
    let live = true;
    let made = null;
    init(module)
      .then(() => {
        if (!live) return;
        made = new CheckoutGuard(options ?? {});
        setState({ guard: made, error: null });
        made.attach().catch((error) => { if (live) setState({ guard: made, error }); });
      })
      .catch((error) => { if (live) setState({ guard: null, error }); });
    return () => {
      live = false;
      if (made) {
        made.detach();
        made.free();
      }
      setState({ guard: null, error: null });
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- see above
  }, [pageSessionId, storageKey, module]);
  return createElement(Context.Provider, { value: state }, children);
}

/** The guard of the nearest `CheckoutGuardProvider` and its latest verdict. */
export function useCheckoutGuard() {
  const state = useContext(Context);
  if (state === null) {
    throw new Error('useCheckoutGuard() must be called inside a <CheckoutGuardProvider>');
  }
  const { guard, error } = state;
  const verdict = useSyncExternalStore(
    guard ? guard.subscribe : nothing,
    guard ? guard.latestVerdict : none,
    none,
  );
  return { guard, verdict, error };
}
