// The app's entry: the package checks (checks.ts), then the React app in StrictMode
// (which mounts, unmounts and mounts again in development: the provider must cope).
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { results, checkoutId } from './checks';
import { App, renderCount } from './App';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App checkoutId={checkoutId} />
  </StrictMode>,
);

Object.assign(window, { results, renderCount });
document.getElementById('status')!.textContent = 'ready';
