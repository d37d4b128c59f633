// The local verdict waits on the wasm module: fetch and compile it while the page parses
// (a classic script in <head>, so it runs before the page's modules; a file, not inline,
// so the Content-Security-Policy can allow scripts from this origin only).
performance.mark('checkout-guard:first-script');
window.checkoutGuardModule = WebAssembly.compileStreaming(fetch('/pkg/checkout_guard_bg.wasm'));
