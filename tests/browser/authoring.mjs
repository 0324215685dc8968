// The analyst's flow in a real browser (Debian's headless Chromium): write SQL
// with autocomplete, run it, chart it, save it to a dashboard, change its SQL,
// restore the old version, arrange the dashboard, share it, open the link
// logged out, revoke it and see 404. Fails on any console error, unexpected
// failed request or unlabeled control. Screenshots go to $SCREENSHOTS.
//
//   DARKROOM_URL=http://127.0.0.1:8080 DARKROOM_USER=demo DARKROOM_PASSWORD=... node authoring.mjs
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const base = process.env.DARKROOM_URL;
const shots = process.env.SCREENSHOTS || 'screenshots';
mkdirSync(shots, { recursive: true });
const problems = [];
const check = (condition, message) => { if (!condition) problems.push(message); };

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
const page = await context.newPage();
// A revoked share link's 404 is what the flow expects to see.
let expected404 = null;
page.on('console', (m) => { if (m.type() === 'error' && !/\b(404|499)\b/.test(m.text())) problems.push(`console error on ${page.url()}: ${m.text()}`); });
page.on('pageerror', (e) => problems.push(`script error on ${page.url()}: ${e.message}`));
// So are a cancelled query's 499 and the 403s the permission checks ask for.
const expectedStatus = (r) => r.url() === expected404 || (r.status() === 499 && r.url().endsWith('/api/query'));
page.on('response', (r) => { if (r.status() >= 400 && !expectedStatus(r)) problems.push(`${r.status()} for ${r.url()}`); });
const shot = (name, p = page) => p.screenshot({ path: `${shots}/${name}.png`, fullPage: true });

async function checkLabels(where) {
  const unlabeled = await page.$$eval('input:not([type=hidden]), select, textarea', (controls) =>
    controls.filter((c) => !(c.labels && c.labels.length) && !c.getAttribute('aria-label')).map((c) => c.name || c.id));
  check(unlabeled.length === 0, `${where}: controls without a label: ${unlabeled.join(', ')}`);
}

await page.goto(`${base}/login`);
await page.fill('input[name=user]', process.env.DARKROOM_USER);
await page.fill('input[name=password]', process.env.DARKROOM_PASSWORD);
await page.press('input[name=password]', 'Enter');
await page.waitForURL(`${base}/`);

// 1. The editor: the schema browser, then SQL typed with autocomplete.
await page.goto(`${base}/sql?dashboard=product`);
await page.waitForSelector('#schema-tree details.table');
check(await page.locator('#schema-tree details.table summary', { hasText: 'daily_metrics' }).count() > 0, 'the schema lists daily_metrics');
await page.locator('#schema-tree details.table summary', { hasText: /^daily_metrics\b/ }).first().click();
check((await page.textContent('#schema-tree')).includes('values: '), 'a categorical column shows its values');
await checkLabels('/sql');
const content = page.locator('#editor .cm-content');
await content.click();
await page.keyboard.press('Control+a');
await page.keyboard.press('Delete');
await page.keyboard.type('SELECT date, value FROM daily_me');
const completion = page.locator('.cm-tooltip-autocomplete li', { hasText: 'daily_metrics' }).first();
await completion.waitFor({ timeout: 5000 });
await shot('sql-autocomplete');
await page.keyboard.press('Enter');
await page.keyboard.type(" WHERE metric = 'dau' ORDER BY date");
const typed = await content.textContent();
check(typed.includes('FROM daily_metrics WHERE'), `autocomplete filled in the table: ${typed}`);
await page.keyboard.press('Control+Enter');
await page.waitForFunction(() => /rows? .*in \d+ ms/.test(document.getElementById('sql-status').textContent));
check(await page.locator('#sql-result table.rows tbody tr').count() > 0, 'the result table has rows');

// A slow query stops on Cancel.
await content.click();
await page.keyboard.press('Control+a');
await page.keyboard.type('SELECT count(*) FROM generate_series(1, 20000000000) AS a(v) WHERE v % 7 = 3');
await page.click('#run');
await page.waitForFunction(() => !document.getElementById('cancel').disabled);
await page.waitForTimeout(300);
await page.click('#cancel');
await page.waitForFunction(() => document.getElementById('sql-status').textContent.startsWith('the query was cancelled'), null, { timeout: 15000 });
check(await page.locator('#sql-result table').count() === 0, 'a cancelled query leaves no rows of the one before');
await shot('sql-cancelled');
await content.click();
await page.keyboard.press('Control+a');
await page.keyboard.type("SELECT date, value FROM daily_metrics WHERE metric = 'dau' ORDER BY date");
await page.keyboard.press('Control+Enter');
await page.waitForFunction(() => /rows? .*in \d+ ms/.test(document.getElementById('sql-status').textContent));

// 2. Chart it and save it to Product.
await page.fill('#chart-title', 'DAU from the editor');
await page.selectOption('#chart-kind', 'line');
await page.selectOption('#chart-x', 'date');
await page.locator('#chart-y label', { hasText: 'value' }).locator('input').check();
await page.waitForSelector('#chart-preview svg');
await shot('sql-chart');
await page.click('#save-chart');
await page.waitForFunction(() => document.getElementById('save-status').textContent.startsWith('Saved'));
const id = 'product-dau-from-the-editor';
await page.goto(`${base}/d/product#chart-${id}`);
check(await page.locator(`#chart-${id} svg`).count() === 1, 'the saved chart is drawn on Product');
await shot('dashboard-with-new-chart');

// 3. Change its SQL, then restore the first version.
await page.goto(`${base}/sql?chart=${id}`);
await page.waitForFunction(() => /in \d+ ms/.test(document.getElementById('sql-status').textContent));
await content.click();
await page.keyboard.press('Control+End');
await page.keyboard.type(' DESC LIMIT 7');
await page.keyboard.press('Control+Enter');
await page.waitForFunction(() => document.getElementById('sql-status').textContent.startsWith('7 rows'));
await page.click('#save-chart');
await page.waitForFunction(() => document.getElementById('save-status').textContent.startsWith('Saved as version'));
await page.waitForFunction(() => document.querySelectorAll('#history-list details.version').length === 2);
const older = page.locator('#history-list details.version').nth(1);
await older.locator('summary').click();
check((await page.textContent('#history-list')).includes('+') && (await page.textContent('#history-list')).includes('LIMIT 7'), 'the diff shows the change');
await shot('sql-history');
await older.locator('button.restore').click();
await page.waitForFunction(() => document.getElementById('save-status').textContent.startsWith('Restored'));
check(!(await content.textContent()).includes('LIMIT 7'), 'the editor holds the restored SQL');
const source = await page.evaluate(async () => (await fetch('/api/dashboards/product/source')).json());
const restored = source.source.charts.find((c) => c.id === id);
check(restored && !restored.sql.includes('LIMIT 7'), 'the file holds the restored SQL');

// 4. Arrange: move the new chart up one place.
await page.goto(`${base}/d/product`);
const order = async () => page.$$eval('section.card[id^="chart-"]', (cards) => cards.map((c) => c.id));
const before = await order();
await page.click('#arrange');
// The page reloads once the dashboard is saved.
await Promise.all([
  page.waitForEvent('load'),
  page.locator(`#chart-${id} .card-tools button`, { hasText: '↑' }).click(),
]);
const after = await order();
check(after.indexOf(`chart-${id}`) === before.indexOf(`chart-${id}`) - 1, `moved up: ${before.join(',')} -> ${after.join(',')}`);
await page.goto(`${base}/d/product/history`);
check(await page.locator('section.version').count() >= 4, 'the dashboard history lists each save');
await shot('dashboard-history');

// 5. Share it, open the link logged out, revoke it, see 404.
await page.goto(`${base}/d/product`);
await page.locator('#share-panel summary').click();
await page.click('#make-share');
const shareUrl = await (await page.waitForSelector('#share-url')).getAttribute('href');
check(/\/s\/[0-9a-f]{64}$/.test(shareUrl), `an unguessable link: ${shareUrl}`);
const outsider = await (await browser.newContext()).newPage();
const opened = await outsider.goto(shareUrl);
check(opened.status() === 200, `the link opens logged out (${opened.status()})`);
check(await outsider.locator(`#chart-${id} svg`).count() === 1, 'the shared page draws the new chart');
check(!(await outsider.content()).includes('FROM daily_metrics'), 'the shared page shows no SQL');
await shot('shared', outsider);
await page.waitForSelector('#share-list li button');
await page.locator('#share-list li button', { hasText: 'Revoke' }).first().click();
await page.waitForFunction(() => document.querySelectorAll('#share-list li').length === 0);
expected404 = shareUrl;
const gone = await outsider.goto(shareUrl);
check(gone.status() === 404, `a revoked link answers 404, not ${gone.status()}`);
await shot('shared-revoked', outsider);

// 6. Roles, in the browser: a viewer reads but cannot query or change; an editor cannot share or manage users.
async function as(user, password) {
  const context = await browser.newContext();
  const p = await context.newPage();
  p.on('pageerror', (e) => problems.push(`script error for ${user} on ${p.url()}: ${e.message}`));
  await p.goto(`${base}/login`);
  await p.fill('input[name=user]', user);
  await p.fill('input[name=password]', password);
  await p.press('input[name=password]', 'Enter');
  await p.waitForURL(`${base}/`);
  return p;
}
const viewer = await as('vic', 'viewer-password');
check((await viewer.goto(`${base}/sql`)).status() === 403, 'a viewer gets 403 at /sql');
await viewer.goto(`${base}/d/product`);
check(await viewer.locator('#edit-bar').count() === 0, 'a viewer sees no edit tools');
check(await viewer.locator(`#chart-${id} svg`).count() === 1, 'a viewer sees the new chart');
const viewerQuery = await viewer.evaluate(async () => {
  const csrf = document.querySelector('meta[name=csrf-token]').content;
  const answer = await fetch('/api/query', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify({ sql: 'SELECT 1' }) });
  const save = await fetch('/api/dashboards/product/charts', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify({ title: 'x', kind: 'table', sql: 'SELECT 1' }) });
  return [answer.status, save.status];
});
check(viewerQuery[0] === 403 && viewerQuery[1] === 403, `a viewer's query and save are refused: ${viewerQuery}`);
await shot('viewer-dashboard', viewer);
const editor = await as('eve', 'editor-password');
await editor.goto(`${base}/d/product`);
check(await editor.locator('#edit-bar').count() === 1, 'an editor has the edit tools');
check(await editor.locator('#share-panel').count() === 0, 'an editor has no Share');
check((await editor.goto(`${base}/admin`)).status() === 403, 'an editor gets 403 at /admin');

await browser.close();
if (problems.length) {
  console.error(`authoring test: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`authoring test: SQL with autocomplete, cancel, chart, save, change, restore, arrange, share, revoke, roles: all fine; screenshots in ${shots}`);
