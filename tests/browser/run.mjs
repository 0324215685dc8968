// The web app in a real browser (Debian's headless Chromium), as a person uses
// it: log in, open every dashboard, change a filter, open a chart's SQL,
// download a CSV, open the tearsheet and the dictionary, log out. Fails on any
// console error, failed request, unlabeled control or page not reached by
// keyboard. A screenshot of each page goes to $SCREENSHOTS.
//
//   DARKROOM_URL=http://127.0.0.1:8080 DARKROOM_USER=demo DARKROOM_PASSWORD=... node run.mjs
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';

const base = process.env.DARKROOM_URL;
const user = process.env.DARKROOM_USER;
const password = process.env.DARKROOM_PASSWORD;
const shots = process.env.SCREENSHOTS || 'screenshots';
mkdirSync(shots, { recursive: true });

const problems = [];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 1000 } });
const page = await context.newPage();
page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error on ${page.url()}: ${m.text()}`); });
page.on('pageerror', (e) => problems.push(`script error on ${page.url()}: ${e.message}`));
page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} for ${r.url()}`); });

function check(condition, message) {
  if (!condition) problems.push(message);
}

async function shot(name) {
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

/** Every input, select and textarea has a label a screen reader reads. */
async function checkLabels(where) {
  const unlabeled = await page.$$eval('input:not([type=hidden]), select, textarea', (controls) =>
    controls.filter((c) => !(c.labels && c.labels.length) && !c.getAttribute('aria-label')).map((c) => c.name || c.id));
  check(unlabeled.length === 0, `${where}: controls without a label: ${unlabeled.join(', ')}`);
}

// Log in with the keyboard only.
await page.goto(`${base}/d/product`);
check(page.url().startsWith(`${base}/login`), `a page without a login goes to /login, not ${page.url()}`);
await checkLabels('login');
await shot('login');
await page.keyboard.type(user); // the user name field has the focus
await page.keyboard.press('Tab');
await page.keyboard.type(password);
await page.keyboard.press('Enter');
await page.waitForURL(`${base}/d/product`);

// Every dashboard from the index.
await page.goto(`${base}/`);
await shot('index');
const dashboards = [...new Set(await page.$$eval('main a[href^="/d/"]', (as) => as.map((a) => a.getAttribute('href'))))];
check(dashboards.length >= 9, `the index lists ${dashboards.length} dashboards`);
for (const path of dashboards) {
  await page.goto(`${base}${path}`);
  const errors = await page.$$eval('.chart-error', (els) => els.map((e) => e.textContent));
  check(errors.length === 0, `${path}: chart errors: ${errors.join(' | ')}`);
  const cards = await page.locator('section.card').count();
  // A chart is an SVG, or, for a table chart, the rows themselves.
  const drawn = await page.locator('section.card > svg, section.card > div.scroll').count();
  check(cards > 0 && drawn === cards, `${path}: ${drawn} of ${cards} charts drawn`);
  await checkLabels(path);
  await shot(`dashboard-${path.slice(3)}`);
}

// A filter: the client select of Product, then Apply, by keyboard.
await page.goto(`${base}/d/product`);
const client = page.locator('form.filters select[name=client]');
await client.selectOption('web');
await client.focus();
await page.keyboard.press('Tab'); // to Apply
await page.keyboard.press('Enter');
await page.waitForURL(/client=web/);
check(await client.inputValue() === 'web', 'the chosen client stays chosen');
await shot('product-web');

// A chart's SQL and rows, one click away.
const sql = page.locator('details.sql').first();
await sql.locator('summary').click();
check(await sql.locator('pre').isVisible(), 'the chart SQL shows');
check(await sql.locator('table.rows tbody tr').count() > 0, 'the chart rows show');

// A metric's catalog entry behind (i).
const info = page.locator('details.info').first();
await info.locator('summary').click();
check((await info.textContent()).includes('Definition'), 'the (i) opens the catalog entry');
await shot('product-details');

// A CSV download.
const csvLink = page.locator('div.actions a', { hasText: 'CSV' }).first();
const [download] = await Promise.all([page.waitForEvent('download'), csvLink.click()]);
const csv = readFileSync(await download.path(), 'utf8');
check(csv.split('\n')[0].startsWith('date,'), `the CSV starts with its header, not ${csv.slice(0, 40)}`);

// The tearsheet and the dictionary.
await page.goto(`${base}/tearsheet`);
check((await page.textContent('body')).includes('Executive tearsheet'), 'the tearsheet shows');
await shot('tearsheet');
await page.goto(`${base}/docs`);
check((await page.textContent('body')).includes('daily_metrics'), 'the dictionary shows');
await shot('docs');

// Log out, by keyboard: the button is reached with Tab.
await page.goto(`${base}/`);
let reached = false;
for (let i = 0; i < 20 && !reached; i++) {
  await page.keyboard.press('Tab');
  reached = await page.evaluate(() => document.activeElement && document.activeElement.textContent === 'Log out');
}
check(reached, 'Log out is reached by keyboard');
await page.keyboard.press('Enter');
await page.waitForURL(/\/login/);
await page.goto(`${base}/d/executive`);
check(page.url().startsWith(`${base}/login`), 'after logout a dashboard asks for a login again');

await browser.close();
if (problems.length) {
  console.error(`browser test: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`browser test: ${dashboards.length} dashboards, filter, SQL, CSV, tearsheet, dictionary, logout: all fine; screenshots in ${shots}`);
