'use client';
// checkout-guard/react: the guard as a React provider and hook. React is an optional peer
// dependency: only this entry imports it. A client module ('use client': frameworks with
// server components render it on the client); safe to import and render on a server: the
// module is loaded and the guard made only in an effect, which runs in the browser.
import { createContext, createElement, useContext, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import init, { CheckoutGuard } from './index.js';

const Context = createContext(null);

const nothing = () => () => {};
const none = () => null;
const EMPTY = Object.freeze({ guard: null, error: null });

/** Guards one checkout for the components below it (see the README). */
export function CheckoutGuardProvider({ options, module, children }) {
  // The guard is made again only when the checkout or the storage key changes; the
  // other options (and `module`) are read when it is made: an object written inline is
  // new on every render, and must not make a new guard, nor a new request, each time.
  const pageSessionId = options?.pageSessionId;
  const storageKey = options?.storageKey;
  const key = JSON.stringify([pageSessionId ?? null, storageKey ?? null]);
  const latest = useRef({ options, module });
  latest.current = { options, module };
  const [state, setState] = useState({ key: null, guard: null, error: null });
  useEffect(() => {
    let live = true;
    let made = null;
    init(latest.current.module)
      .then(() => {
        if (!live) return;
        made = new CheckoutGuard(latest.current.options ?? {});
        setState({ key, guard: made, error: null });
        made.attach().catch((error) => { if (live) setState({ key, guard: made, error }); });
      })
      .catch((error) => { if (live) setState({ key, guard: null, error }); });
    return () => {
      live = false;
      made?.free(); // detaches it: nothing it was still doing reaches the page
    };
  }, [key]);
  // In the render where the checkout changed, the old guard is not handed out (its
  // effect's cleanup frees it before any effect below could use it).
  const value = state.key === key ? state : EMPTY;
  return createElement(Context.Provider, { value }, children);
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
