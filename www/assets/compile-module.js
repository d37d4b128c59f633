// The local verdict waits on the wasm module: fetch and compile it while the page parses
// (a classic script at the top of the <head>, so it runs before the page's modules and
// waits for no stylesheet; a file, not inline, so the Content-Security-Policy can allow
// scripts from this origin only). The module's address is this script's neighbour, so
// it is the versioned one the page preloads (`/v/<version>/pkg/…`, cached for a year).
performance.mark('checkout-guard:first-script');
window.checkoutGuardModule = WebAssembly.compileStreaming(
  fetch(new URL('../pkg/checkout_guard_bg.wasm', document.currentScript.src)),
);
