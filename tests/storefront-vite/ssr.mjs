// Renders the built server entry once in Node and checks the HTML (`node ssr.mjs`).
import assert from 'node:assert/strict';

const { render } = await import('./dist-ssr/entry-server.js');
const html = render('checkout-from-the-server');
assert.match(html, /id="react-verdict"[^>]*data-state="none"/, html);
assert.match(html, /Checking your checkout/, html);
assert.equal(typeof window, 'undefined');
console.log(`storefront-vite ssr: ok (${html.length} bytes of HTML rendered in Node ${process.version})`);
