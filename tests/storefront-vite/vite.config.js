// The only configuration checkout-guard needs in Vite (see the package README): keep it
// out of dependency pre-bundling, so that its `.wasm` is fetched next to its own module.
// JSX is compiled by Vite's own esbuild (React's automatic runtime), no plugin needed.
// The proxy sends the API to the Checkout Guard server (CHECKOUT_API, set by the test).
import { defineConfig } from 'vite';

const api = { '/api': { target: process.env.CHECKOUT_API ?? 'http://127.0.0.1:8080', changeOrigin: false } };

export default defineConfig({
  optimizeDeps: { exclude: ['checkout-guard'] },
  esbuild: { jsx: 'automatic' },
  server: { proxy: api, strictPort: true },
  preview: { proxy: api, strictPort: true },
});
