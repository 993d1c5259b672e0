#!/usr/bin/env node
// A $BROWSER for `tok login` in tests: Debian's chromium, driven by playwright-core (npm; no
// browser download), opens the URL tok hands it, fills oidc-provider's own login page (any
// user name and password) and consent page, and waits until tok's loopback listener says the
// tab can be closed. Exit 0 then; 1 with the page's text otherwise.
//
// Usage: browser.mjs URL   (env: BROWSER_USER, default alice; CHROMIUM, default /usr/bin/chromium)
import { chromium } from 'playwright-core';

const url = process.argv[2];
const user = process.env.BROWSER_USER ?? 'alice';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  // root in a container has no user namespaces for chromium's sandbox
  args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
});
let code = 1;
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(20000);
  await page.goto(url);
  await page.fill('input[name=login]', user);
  await page.fill('input[name=password]', 'any');
  await page.click('button[type=submit]');
  await page.waitForSelector('input[name=prompt][value=consent]', { state: 'attached' });
  await page.click('button[type=submit]');
  await page.waitForFunction(() => document.body?.innerText.includes('close this tab'));
  code = 0;
} catch (err) {
  process.stderr.write(`browser.mjs: ${err.message}\n`);
} finally {
  await browser.close();
}
process.exit(code);
