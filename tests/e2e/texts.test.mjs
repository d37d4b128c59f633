// Every word the checkout page says to the shopper comes from the core (CONTRACT §23):
// verdicts' and problems' `message`/`detail`, and `shopperText(situation)` for the rest.
// The page's script holds no sentence of its own for a notice or a "said" line, so it
// can never claim more than the rules guarantee ("nothing was charged" after a reload
// once did). A static check of www/assets/checkout.js, then the page in Chromium.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, shopper, addToCart, startCheckout } from './helpers.mjs';

const PAGE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'www', 'assets', 'checkout.js');

test("the checkout page's script writes no shopper sentence of its own", () => {
  const code = readFileSync(PAGE, 'utf8').split('\n')
    .map((line, i) => [i + 1, line.replace(/\/\/.*$/, '')]);
  // A string literal with a word and a space in it, handed to notice(), thrown, or
  // written into an element's text (template parts with ${…} are the core's words).
  const sentence = /(['"`])[A-Z][a-z]+ [^'"`$]*\1/;
  const own = code.filter(([, line]) => /notice\(|new Error\(|textContent =|showChanges\(/.test(line) && sentence.test(line));
  assert.deepEqual(own.map(([n, l]) => `${n}: ${l.trim()}`), []);
});

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test("the core's words reach the page: shopperText in the browser", async () => {
  const { context } = await shopper(browser);
  await addToCart(context, 'BRW-FUDGE', 1);
  const page = await context.newPage();
  await startCheckout(page);
  const words = await page.evaluate(async () => {
    // The page's own instance of the package (its versioned address, /v/<version>/pkg/…).
    const { shopperText } = await import(document.querySelector('link[rel=modulepreload][href$="/pkg/index.js"]').href);
    let refused = null;
    try { shopperText('no_such_situation'); } catch (e) { refused = e.code; }
    return { outage: shopperText('outage'), saved: shopperText('saved'), refused };
  });
  assert.match(words.outage, /unreachable/);
  assert.equal(words.saved, 'Saved.');
  assert.equal(words.refused, 'MALFORMED_REQUEST');
  await context.close();
});
