'use client';
// checkout-guard/react: the guard as a React provider and hook. React is an optional peer
// dependency: only this entry imports it. A client module ('use client': frameworks with
// server components render it on the client); safe to import and render on a server: the
// module is loaded and the guard made only in an effect, which runs in the browser.
import {
  createContext, createElement, useCallback, useContext, useEffect, useRef, useState, useSyncExternalStore,
} from 'react';
import init, { CheckoutGuard, CheckoutGuardError } from './index.js';

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

/** The guard of the nearest `CheckoutGuardProvider`, its latest verdict, the time left,
 *  and `submit` with its pending state (see the README). */
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
  const [sending, setSending] = useState(0);
  const submit = useCallback(async (action, extra) => {
    if (!guard) {
      throw new CheckoutGuardError({ code: 'REQUEST_IN_PROGRESS', message: 'The checkout is still being checked.', pending: true });
    }
    setSending((n) => n + 1);
    try {
      return await guard.submit(action, extra);
    } finally {
      setSending((n) => n - 1);
    }
  }, [guard]);
  // An order action of this page's checkout kept for a retry (after a lost answer, a
  // reload, in another tab) is pending too, until the verdict shows its outcome.
  const record = guard ? guard.record() : null;
  const kept = record?.pending != null && record.session?.id === guard?.pageSessionId;
  return {
    guard,
    verdict,
    error,
    timeLeftMs: guard ? guard.timeLeftMs() : null,
    submit,
    pending: sending > 0 || kept,
  };
}

/** Milliseconds until the nearest provider's checkout expires (or its sign-in ends),
 *  re-rendering every `everyMs` (1 s by default) for a countdown; `null` when it does not
 *  expire or before the guard is made. */
export function useTimeLeft(everyMs = 1000) {
  const { guard } = useCheckoutGuard();
  const [, tick] = useState(0);
  useEffect(() => {
    if (!guard) return undefined;
    const timer = setInterval(() => tick((n) => n + 1), everyMs);
    return () => clearInterval(timer);
  }, [guard, everyMs]);
  return guard ? guard.timeLeftMs() : null;
}
