// Server-side rendering, once in Node (`vite build --ssr`, then `ssr.mjs`): importing
// the package and its React entry on a server touches no browser global, and the
// provider renders its children with no guard yet.
import { renderToString } from 'react-dom/server';
import { App } from './App';

export function render(checkoutId: string): string {
  return renderToString(<App checkoutId={checkoutId} />);
}
