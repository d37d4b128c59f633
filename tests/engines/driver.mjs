// One browser engine: Chromium through chromedriver and WebKitGTK's MiniBrowser through
// WebKitWebDriver, driven over W3C WebDriver by selenium-webdriver (npm); Firefox ESR over
// WebDriver BiDi by puppeteer-core (bidi.mjs, the same interface). The same scenario
// code runs on all three: `ENGINE` names the engine (`FIREFOX_DRIVER=geckodriver` drives
// Firefox over classic WebDriver instead).
import { Builder, By } from 'selenium-webdriver';
import chrome from 'selenium-webdriver/chrome.js';
import firefox from 'selenium-webdriver/firefox.js';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const ENGINE = process.env.ENGINE ?? 'chromium';

const NAMES = { chromium: 'Chromium', firefox: 'Firefox', webkit: 'WebKit' };
export const ENGINE_NAME = NAMES[ENGINE];
if (!ENGINE_NAME) throw new Error(`ENGINE must be one of ${Object.keys(NAMES).join(', ')}`);

/** How this engine is driven (printed by the scenarios). */
export const DRIVEN_BY = ENGINE === 'firefox' && process.env.FIREFOX_DRIVER !== 'geckodriver'
  ? 'puppeteer-core over WebDriver BiDi'
  : `selenium-webdriver over W3C WebDriver (${{ chromium: 'chromedriver', firefox: 'geckodriver', webkit: 'WebKitWebDriver' }[ENGINE]})`;

/** A new browser (a fresh profile: one shopper). */
export async function openBrowser() {
  if (ENGINE === 'chromium') {
    const options = new chrome.Options().setChromeBinaryPath('/usr/bin/chromium').addArguments(
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    );
    return new Builder().forBrowser('chrome').setChromeOptions(options)
      .setChromeService(new chrome.ServiceBuilder('/usr/bin/chromedriver')).build();
  }
  if (ENGINE === 'firefox' && process.env.FIREFOX_DRIVER !== 'geckodriver') {
    const { openFirefox } = await import('./bidi.mjs');
    return openFirefox();
  }
  if (ENGINE === 'firefox') {
    const options = new firefox.Options().setBinary('/usr/bin/firefox-esr').addArguments('-headless');
    const gecko = process.env.GECKODRIVER ?? join(homedir(), '.cargo', 'bin', 'geckodriver');
    return new Builder().forBrowser('firefox').setFirefoxOptions(options)
      .setFirefoxService(new firefox.ServiceBuilder(gecko)).build();
  }
  // WebKitGTK: WebKitWebDriver starts MiniBrowser in automation mode (on the virtual
  // display the test command gives it with xvfb-run).
  const port = 4444 + (process.pid % 1000);
  const { spawn } = await import('node:child_process');
  const driverProcess = spawn('/usr/bin/WebKitWebDriver', [`--port=${port}`], { stdio: 'ignore' });
  for (let i = 0; i < 100; i += 1) {
    try { await fetch(`http://127.0.0.1:${port}/status`); break; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
  const driver = await new Builder().usingServer(`http://127.0.0.1:${port}`)
    .withCapabilities({ browserName: 'MiniBrowser' }).build();
  const quit = driver.quit.bind(driver);
  driver.quit = async () => { try { await quit(); } finally { driverProcess.kill(); } };
  return driver;
}

/** Runs `body` (an expression or statements ending in `return`) in the page. */
export const run = (driver, script, ...args) => driver.executeScript(script, ...args);

/** Waits until the expression is true in the page (a navigation in between is fine). */
export async function until(driver, expression, timeout = 20_000, what = expression) {
  await driver.wait(async () => {
    try { return await driver.executeScript(`return !!(${expression})`); } catch { return false; }
  }, timeout, `timed out waiting for ${what}`);
}

export const click = async (driver, css) => (await driver.findElement(By.css(css))).click();

export async function type(driver, css, text) {
  const field = await driver.findElement(By.css(css));
  await field.clear();
  await field.sendKeys(text);
}

/** POSTs `body` as JSON to the shop's API from the page (its cookies, its origin);
 *  resolves to the answer's status. */
export const postFromPage = (driver, path, body) => run(driver, `return fetch(arguments[0], { method: 'POST',
  headers: { 'content-type': 'application/json' }, body: JSON.stringify(arguments[1]) }).then((r) => r.status)`,
`/api/v1${path}`, body);
