// Firefox over WebDriver BiDi, driven by puppeteer-core (npm) with Debian's firefox-esr,
// behind the small part of selenium-webdriver's interface the scenarios use (driver.mjs),
// so one scenario file runs on all three engines.
import puppeteer from 'puppeteer-core';

/** A CSS selector, as selenium-webdriver's `By.css` gives it. */
const selectorOf = (locator) => locator?.value ?? locator?.css ?? String(locator);

class Element {
  constructor(handle) { this.handle = handle; }
  async click() { await this.handle.click(); }
  async clear() { await this.handle.evaluate((e) => { e.value = ''; }); }
  async sendKeys(text) { await this.handle.type(String(text)); }
}

export async function openFirefox() {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: process.env.FIREFOX ?? '/usr/bin/firefox-esr',
    headless: true,
    protocol: 'webDriverBiDi',
  });
  const tabs = [await browser.newPage()];
  let current = tabs[0];
  const handleOf = (page) => String(tabs.indexOf(page));
  const driver = {
    async get(url) { await current.goto(url); },
    /** WebDriver's "execute script": a function body, with `arguments`, whose promise
     *  is awaited (through BiDi, outside the page's Content-Security-Policy). */
    async executeScript(script, ...args) {
      return current.evaluate(`(async function () { ${script} }).apply(null, ${JSON.stringify(args)})`);
    },
    async wait(condition, timeout = 20_000, message = 'a condition') {
      const deadline = Date.now() + timeout;
      for (;;) {
        if (await condition()) return;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async findElement(locator) {
      const handle = await current.waitForSelector(selectorOf(locator), { timeout: 10_000 });
      return new Element(handle);
    },
    async findElements(locator) {
      return (await current.$$(selectorOf(locator))).map((h) => new Element(h));
    },
    async getWindowHandle() { return handleOf(current); },
    async getCurrentUrl() { return current.url(); },
    switchTo() {
      return {
        async newWindow() {
          current = await browser.newPage();
          tabs.push(current);
          await current.bringToFront();
        },
        async window(handle) {
          current = tabs[Number(handle)];
          await current.bringToFront();
        },
      };
    },
    navigate() {
      // A history step may be served from the back-forward cache, with no new load event.
      const step = (go) => Promise.all([current.waitForNavigation({ waitUntil: 'domcontentloaded' }).catch(() => {}), go()]);
      return {
        back: () => step(() => current.goBack().catch(() => null)),
        forward: () => step(() => current.goForward().catch(() => null)),
        refresh: () => current.reload(),
      };
    },
    async quit() { await browser.close(); },
  };
  return driver;
}
