// The first local verdict on the checkout page in one engine (`ENGINE`: chromium,
// firefox or webkit), driven over WebDriver like tests/engines: navigation start → the
// first local verdict on 20 reloads, split at the page's first script. Run by
// `cargo xtask bench-browser` for Firefox beside browser.mjs's full Chromium figures.
import { ENGINE_NAME, openBrowser, postFromPage, run, until, click } from '../engines/driver.mjs';

const BASE = process.env.E2E_BASE_URL;
const driver = await openBrowser();
try {
  await driver.get(`${BASE}/`);
  await postFromPage(driver, '/auth/signup', { username: `bench${process.pid}${Date.now() % 100000}`, password: 'bench password' });
  await postFromPage(driver, '/cart/items', { sku: 'BRW-FUDGE', quantity: 2 });
  await driver.get(`${BASE}/cart/`);
  await until(driver, "document.body.dataset.ready === 'yes'");
  await click(driver, '#proceed');
  await until(driver, "location.pathname === '/checkout/' && document.body.dataset.ready === 'yes'");
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const loads = [];
  const firstScript = [];
  for (let i = 0; i < 20; i++) {
    await driver.navigate().refresh();
    await until(driver, "document.body.dataset.ready === 'yes'");
    const [at, mark] = await run(driver, `return [
      window.__verdicts.find((v) => v.source === 'local' && v.known).at,
      performance.getEntriesByName('checkout-guard:first-script')[0].startTime]`);
    loads.push(at);
    firstScript.push(mark);
  }
  const own = loads.map((at, i) => at - firstScript[i]);
  console.log(`| ${ENGINE_NAME}: reload, navigation start → first local verdict (median of ${loads.length}; worst) | ${median(loads).toFixed(1)} ms; ${Math.max(...loads).toFixed(1)} ms |`);
  console.log(`| ${ENGINE_NAME}: reload, navigation start → the page's first script (median) | ${median(firstScript).toFixed(1)} ms |`);
  console.log(`| ${ENGINE_NAME}: reload, first script → first local verdict (median) | ${median(own).toFixed(1)} ms |`);
} finally {
  await driver.quit();
}
