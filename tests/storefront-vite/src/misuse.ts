// Deliberate misuses: a strict `tsc` must reject every line marked @ts-expect-error
// (tsc fails if any of them compiles), so the package's types are tight.
import init, { CheckoutGuard, actionRequirements, evaluateVerdict, type Verdict } from 'checkout-guard';

export async function misuse(): Promise<void> {
  await init();
  // @ts-expect-error options are required (onVerdict is not: subscribe does its work)
  new CheckoutGuard();
  // @ts-expect-error onVerdict must be a function
  new CheckoutGuard({ onVerdict: 'log' });
  // @ts-expect-error credentials is a fetch mode, not a boolean
  new CheckoutGuard({ onVerdict: () => {}, credentials: true });
  // @ts-expect-error headers are strings
  new CheckoutGuard({ onVerdict: () => {}, headers: { 'x-n': 1 } });
  // @ts-expect-error redirects name the core's targets
  new CheckoutGuard({ onVerdict: () => {}, redirects: { checkout: '/x' } });
  const guard = new CheckoutGuard({ onVerdict: (v) => { const s: string = v.state; void s; } });
  // @ts-expect-error not an order action
  await guard.submit('view');
  // @ts-expect-error the extra body is an object
  await guard.submit('pay', '4242');
  // @ts-expect-error payment_token is a string
  await guard.submit('pay', { payment_token: 4242 });
  // @ts-expect-error steps are named
  guard.setStep('checkout');
  // @ts-expect-error a shipping method is named by its id (a missing one reads as none)
  guard.setSelections({ shipping_method: 2, payment_method: null, vouchers: [] });
  // @ts-expect-error a verdict's state is one of six
  const state: Verdict['state'] = 'DONE';
  void state;
  // @ts-expect-error codes are a union, not any string
  const code: NonNullable<Verdict['code']> = 'CHECKOUT_GONE';
  void code;
  // @ts-expect-error localVerdict is not a promise
  await guard.localVerdict().then(() => {});
  // @ts-expect-error timeLeftMs returns a number or null
  const left: string = guard.timeLeftMs();
  void left;
  // @ts-expect-error requirements take an order action
  actionRequirements('remove_item');
  // @ts-expect-error evaluateVerdict needs a CheckInput
  evaluateVerdict({ action: 'view' });
  // @ts-expect-error pageSessionId is read-only
  guard.pageSessionId = 'x';
  // @ts-expect-error record() may be null
  guard.record().pending;
  // @ts-expect-error a listener takes a verdict, not a session
  guard.subscribe((session: { snapshot: unknown }) => session);
  // @ts-expect-error subscribe returns the function that stops it, not a promise
  await guard.subscribe(() => {}).then(() => {});
  // @ts-expect-error the latest verdict may be null
  const latest: string = guard.latestVerdict().state;
  void latest;
}
