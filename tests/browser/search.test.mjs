#!/usr/bin/env node
/*
 * search.test.mjs - the search page of dksearch-serve (web/) in headless
 * Chromium, through playwright-core.  `make test-browser` runs it after
 * building the programs and installing playwright-core into build/browser.
 *
 * It indexes tests/fixtures/corpus into a scratch directory, starts
 * bin/dksearch-serve on a free port of 127.0.0.1 (with --facet party) and
 * checks, against what the server's own /api/search answers: results while
 * typing, highlights cut from byte ranges, completions, paging, facet
 * filters, "Mente du", keyboard navigation, a broken query, the query kept
 * in the URL, the form without JavaScript, and that the page logged no
 * error and broke no rule of the Content-Security-Policy.  Screenshots go
 * to build/browser/: search.png, search-phone.png (390x844) and
 * search-nojs.png (the server's own results page).  The server is stopped
 * however the test ends.  Exit status 0 when every check passed.
 *
 * Environment: DKS_TOP (the source tree; default two folders up), DKS_BIN
 * (the programs; default $DKS_TOP/bin), BROWSER_DIR (where playwright-core
 * is installed; default $DKS_TOP/build/browser), CHROMIUM (default
 * /usr/bin/chromium).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TOP = path.resolve(process.env.DKS_TOP || path.join(HERE, '..', '..'));
const BIN = path.resolve(process.env.DKS_BIN || path.join(TOP, 'bin'));
const OUT = path.resolve(process.env.BROWSER_DIR || path.join(TOP, 'build', 'browser'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const STEP_MS = 15000;       /* one check; the page answers in milliseconds */
const PAGE_SIZE = 10;        /* web/app.js asks for this many hits a page */

const { chromium } = createRequire(path.join(OUT, 'package.json'))('playwright-core');

/* ---- the server ---- */

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startServer(db) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(path.join(BIN, 'dksearch-serve'),
    ['--db', db, '--listen', `127.0.0.1:${port}`, '--facet', 'party'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  let exited = null;
  child.on('exit', (code, signal) => { exited = signal || code; });
  for (let i = 0; i < 100; i++) {
    if (exited !== null) throw new Error(`dksearch-serve exited (${exited}): ${stderr.trim()}`);
    try {
      const r = await fetch(base + '/healthz');
      if (r.ok && (await r.text()).trim() === 'ok') return { child, base };
    } catch (e) {
      /* not listening yet */
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`dksearch-serve did not answer /healthz within 10 s: ${stderr.trim()}`);
}

async function stopServer(server) {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  const done = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGTERM');
  const t = setTimeout(() => server.child.kill('SIGKILL'), 3000);
  await done;
  clearTimeout(t);
}

/* ---- checks ---- */

class Failure extends Error {}

function check(cond, what) {
  if (!cond) throw new Failure(what);
}

function equal(actual, expected, what) {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Failure(`${what}: got ${a}, expected ${e}`);
}

/* The server's own answer, which the page must show. */
async function api(base, params) {
  const p = new URLSearchParams(params);
  if (!p.has('limit')) p.set('limit', String(PAGE_SIZE));
  const r = await fetch(`${base}/api/search?${p}`);
  check(r.ok, `/api/search?${p} answered ${r.status}`);
  return r.json();
}

/* The marked words of a hit as the server means them: the highlight byte
 * ranges cut from the UTF-8 snippet by Node's Buffer, independently of the
 * page's own conversion. */
function expectedMarks(hit) {
  const bytes = Buffer.from(hit.snippet || '', 'utf8');
  return (hit.highlights || []).map(([s, e]) => bytes.subarray(s, e).toString('utf8'));
}

function countText(r) {
  if (r.total === 0) return 'Ingen resultater';
  const n = r.total_exact ? String(r.total) : `${r.total}+`;
  return `${n} ${r.total === 1 && r.total_exact ? 'resultat' : 'resultater'}`;
}

/* What the page shows: the status line and every hit's title, id and marks. */
async function shown(page) {
  return page.evaluate(() => ({
    status: document.getElementById('status').textContent,
    hits: Array.from(document.querySelectorAll('#hits .hit')).map((li) => ({
      title: li.querySelector('.hit-title').textContent,
      id: li.querySelector('.hit-id') ? li.querySelector('.hit-id').textContent : null,
      snippet: li.querySelector('.snippet') ? li.querySelector('.snippet').textContent : '',
      marks: Array.from(li.querySelectorAll('.snippet mark')).map((m) => m.textContent),
    })),
  }));
}

/* Waits until the page shows the answer r (its count and its titles, which
 * the page puts in at once), then compares the snippets and marks. */
async function expectResults(page, r, what) {
  const want = countText(r);
  const titles = r.hits.map((h) => h.title || h.id);
  try {
    await page.waitForFunction(([w, t]) => {
      const s = document.getElementById('status').textContent;
      const shownTitles = Array.from(document.querySelectorAll('#hits .hit-title'))
        .map((e) => e.textContent);
      return s.startsWith(w + ' (') && /\((under )?\d+(,\d)? ms\)$/.test(s) &&
        JSON.stringify(shownTitles) === JSON.stringify(t);
    }, [want, titles], { timeout: STEP_MS });
  } catch (e) {
    const s = await shown(page);
    const got = JSON.stringify(s.hits.map((h) => h.title));
    throw new Failure(`${what}: the page shows "${s.status}" and ${got}, ` +
      `expected "${want} (… ms)" and ${JSON.stringify(titles)}`);
  }
  const s = await shown(page);
  r.hits.forEach((h, i) => {
    equal(s.hits[i].snippet, h.snippet, `${what}: snippet of ${h.id}`);
    equal(s.hits[i].marks, expectedMarks(h), `${what}: marks of ${h.id}`);
  });
  return s;
}

const params = (page) => new URL(page.url()).searchParams;

/* Every message the page logs as an error, every uncaught exception, every
 * CSP violation (also reported by the page itself, through an init script
 * that Playwright runs outside the policy), every request to another
 * origin, every failed response.  A step may expect some (a broken query
 * is answered 400, which Chromium logs). */
function watch(page, base, problems) {
  const expected = [];
  page.on('console', (m) => {
    if (m.type() !== 'error' && !/Content.Security.Policy/i.test(m.text())) return;
    const url = (m.location() && m.location().url) || '';
    if (expected.some((x) => x.test(url) || x.test(m.text()))) return;
    problems.push(`console ${m.type()}: ${m.text()} ${url}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(base + '/') && !r.url().startsWith('data:'))
      problems.push(`request to another origin: ${r.url()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !expected.some((x) => x.test(r.url())))
      problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  return expected;
}

async function newPage(context, base, problems) {
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const expected = watch(page, base, problems);
  return { page, expected };
}

/* ---- the steps ---- */

async function run(base, browser, problems, step) {
  const desktop = { viewport: { width: 1280, height: 900 } };
  const context = await browser.newContext(desktop);
  const { page, expected } = await newPage(context, base, problems);
  const box = page.getByRole('combobox', { name: 'Søg' });
  const searches = [];
  page.on('request', (r) => {
    if (r.url().includes('/api/search?')) searches.push(new URL(r.url()).searchParams);
  });

  await step('the page loads with its security headers and a labelled search box', async () => {
    const res = await page.goto(base + '/');
    check(res.ok(), `GET / answered ${res.status()}`);
    const h = res.headers();
    const csp = h['content-security-policy'] || '';
    check(/script-src 'self'/.test(csp) && /style-src 'self'/.test(csp),
      `GET / has no Content-Security-Policy with script-src and style-src 'self': ${csp}`);
    equal(h['x-content-type-options'], 'nosniff', 'X-Content-Type-Options');
    equal(await page.locator('html').getAttribute('lang'), 'da', 'lang');
    check(await page.locator('meta[name=viewport]').count() === 1, 'no viewport meta');
    await box.waitFor();
    equal(await page.locator('form').getAttribute('method'), 'get', 'form method');
    equal(await page.locator('form').evaluate((f) => f.action), base + '/', 'form action');
    equal(await box.getAttribute('name'), 'q', 'box name');
    equal(await page.locator('#status').getAttribute('aria-live'), 'polite', 'status aria-live');
    await page.waitForFunction(() => /\d+ dokumenter i indekset/.test(
      document.getElementById('footer').textContent));
  });

  await step('typing klima letter by letter shows its hits with <mark>ed word forms', async () => {
    searches.length = 0;
    await box.click();
    await box.pressSequentially('klima', { delay: 25 });
    const r = await api(base, { q: 'klima', typing: '1', facet: 'party' });
    check(r.total > 0, 'klima finds nothing through the API');
    const s = await expectResults(page, r, 'klima');
    const marks = s.hits.flatMap((h) => h.marks);
    check(marks.length > 0, 'no <mark> in any klima hit');
    for (const m of marks) check(/^klima/i.test(m), `mark "${m}" is no form of klima`);
    check(searches.length > 0 && searches.length < 5,
      `typing 5 letters sent ${searches.length} searches (the page should wait for a pause)`);
    equal(searches[searches.length - 1].get('typing'), '1', 'a search while typing has typing=1');
    equal(params(page).get('q'), 'klima', 'q in the URL');
    check(await page.locator('#facets').isHidden(), 'facets shown though no klima hit has a party');
  });

  await step('a slow answer to an older query never replaces a newer one', async () => {
    let held = 0;
    await page.route((u) => u.pathname === '/api/search' && u.searchParams.get('q') === 'tele',
      async (route) => {
        held++;
        await sleep(800);
        try { await route.continue(); } catch (e) { /* the page gave up on it */ }
      });
    await box.fill('');
    await box.pressSequentially('tele');
    await sleep(400);              /* "tele" is asked, and held */
    await box.pressSequentially('medicin');
    const r = await api(base, { q: 'telemedicin', typing: '1' });
    await expectResults(page, r, 'telemedicin after tele');
    await sleep(900);              /* "tele"'s answer has come and gone */
    await expectResults(page, r, 'telemedicin once tele is answered');
    check(held >= 1, 'the page never asked for tele');
    await page.unrouteAll({ behavior: 'ignoreErrors' });
  });

  await step('completions of kommun: Esc closes them, ↓ and Enter take one', async () => {
    await box.fill('');
    await box.pressSequentially('kommun', { delay: 25 });
    const list = page.locator('#completions');
    await list.locator('[role=option]').first().waitFor();
    equal(await box.getAttribute('aria-expanded'), 'true', 'aria-expanded with completions');
    await box.press('Escape');
    await list.waitFor({ state: 'hidden' });
    equal(await box.inputValue(), 'kommun', 'the box after Escape');
    await box.press('Backspace');
    await box.pressSequentially('n');
    await list.locator('[role=option]').first().waitFor();
    const option = list.locator('[role=option]').first();
    const text = await option.locator('.completion-text').textContent();
    check(text.startsWith('kommun') && text !== 'kommun', `first completion "${text}"`);
    await box.press('ArrowDown');
    equal(await option.getAttribute('aria-selected'), 'true', 'the first completion after ↓');
    equal(await box.getAttribute('aria-activedescendant'), await option.getAttribute('id'),
      'aria-activedescendant');
    await box.press('Enter');
    await list.waitFor({ state: 'hidden' });
    equal(await box.inputValue(), text, 'the box after taking a completion');
    await expectResults(page, await api(base, { q: text }), `completion ${text}`);
    equal(params(page).get('q'), text, 'q in the URL after a completion');
  });

  await step('paging through the 16 hits of og: Næste, Forrige, offset in the URL', async () => {
    await box.fill('og');
    await box.press('Enter');
    const first = await api(base, { q: 'og', facet: 'party' });
    check(first.total > PAGE_SIZE && first.total_exact, `og has ${first.total} hits`);
    await expectResults(page, first, 'og, page 1');
    const info = page.locator('#page-info');
    equal(await info.textContent(), `1–${PAGE_SIZE} af ${first.total}`, 'page info on page 1');
    check(await page.locator('#prev').isDisabled(), 'Forrige enabled on page 1');
    await page.getByRole('button', { name: 'Næste' }).click();
    const second = await api(base, { q: 'og', offset: String(PAGE_SIZE) });
    await page.waitForFunction((n) => document.getElementById('hits').start === n, PAGE_SIZE + 1);
    await expectResults(page, second, 'og, page 2');
    equal(await info.textContent(), `${PAGE_SIZE + 1}–${first.total} af ${first.total}`,
      'page info on page 2');
    check(await page.locator('#next').isDisabled(), 'Næste enabled on the last page');
    equal(params(page).get('offset'), String(PAGE_SIZE), 'offset in the URL');
    const ids1 = first.hits.map((h) => h.id), ids2 = second.hits.map((h) => h.id);
    check(!ids2.some((id) => ids1.includes(id)), 'page 2 repeats a hit of page 1');
    await page.getByRole('button', { name: 'Forrige' }).click();
    await page.waitForFunction(() => document.getElementById('hits').start === 1);
    await expectResults(page, first, 'og, back on page 1');
    check(!params(page).has('offset'), 'offset left in the URL on page 1');
  });

  await step('the party facet of og filters with filter=party=VALUE and back', async () => {
    const r = await api(base, { q: 'og', facet: 'party' });
    const values = (r.facets && r.facets.party) || [];
    check(values.length > 0, 'the API counts no party for og');
    const facets = page.locator('#facets');
    await facets.waitFor();
    const labels = await facets.locator('label').allTextContents();
    equal(labels, values.map((v) => `${v.value} ${v.count}`), 'facet values and counts');
    const { value: v, count } = values[values.length - 1];
    /* named by its label; found by its value, which stays when the list is
     * drawn anew with the filtered answer */
    equal(await facets.getByRole('checkbox', { name: `${v} ${count}`, exact: true }).count(), 1,
      `checkboxes named "${v} ${count}"`);
    const checkbox = facets.locator(`input[type=checkbox][value="party=${v}"]`);
    await checkbox.check();
    const filtered = await api(base, { q: 'og', filter: `party=${v}`, facet: 'party' });
    await expectResults(page, filtered, `og with party=${v}`);
    equal(params(page).getAll('filter'), [`party=${v}`], 'filter in the URL');
    await checkbox.uncheck();
    await expectResults(page, r, 'og without the filter');
  });

  await step('kilma finds nothing and offers "Mente du klimaet?", which runs klimaet', async () => {
    await box.fill('kilma');
    await box.press('Enter');
    const r = await api(base, { q: 'kilma' });
    equal(r.suggestion, 'klimaet', 'the API suggestion for kilma');
    await expectResults(page, r, 'kilma');
    const link = page.getByRole('link', { name: 'klimaet' });
    await link.waitFor();
    const said = await page.locator('#suggestion').textContent();
    check(said === 'Mente du klimaet?', `the suggestion says "${said}"`);
    await link.click();
    equal(await box.inputValue(), 'klimaet', 'the box after the suggestion');
    await expectResults(page, await api(base, { q: 'klimaet' }), 'klimaet');
    equal(params(page).get('q'), 'klimaet', 'q in the URL after the suggestion');
    check(await page.locator('#suggestion').isHidden(), 'the suggestion stays after it was taken');
  });

  await step('↓ and ↑ move the focus from the box through the hits and back', async () => {
    const titles = page.locator('#hits .hit-title');
    check(await titles.count() >= 2, 'klimaet has fewer than two hits');
    await box.focus();
    const focused = () => page.evaluate(() => {
      const a = document.activeElement;
      const all = Array.from(document.querySelectorAll('#hits .hit-title'));
      return a && a.id === 'q' ? 'box' : all.indexOf(a);
    });
    await page.keyboard.press('ArrowDown');
    equal(await focused(), 0, 'focus after ↓ from the box');
    await page.keyboard.press('ArrowDown');
    equal(await focused(), 1, 'focus after ↓ ↓');
    await page.keyboard.press('ArrowUp');
    equal(await focused(), 0, 'focus after ↓ ↓ ↑');
    await page.keyboard.press('ArrowUp');
    equal(await focused(), 'box', 'focus after ↑ from the first hit');
  });

  await step('a broken query shows the server\'s message', async () => {
    expected.push(/\/api\/search\?q=%28velf/);
    await box.fill('(velfærd');
    await box.press('Enter');
    await page.locator('#status.error').waitFor();
    const s = await page.locator('#status').textContent();
    check(/^Søgningen kan ikke udføres: \S/.test(s), `error status "${s}"`);
    equal(await page.locator('#hits .hit').count(), 0, 'hits beside an error');
  });

  await step('the facets, hits and pager of og on a desktop screen (screenshot)', async () => {
    await box.fill('og');
    await box.press('Enter');
    await expectResults(page, await api(base, { q: 'og', facet: 'party' }), 'og');
    await page.locator('#facets').waitFor();
    await page.screenshot({ path: path.join(OUT, 'search.png'), fullPage: true });
  });
  await context.close();

  await step('a page opened at /?q=klima shows the hits of klima', async () => {
    const ctx = await browser.newContext(desktop);
    const { page: p } = await newPage(ctx, base, problems);
    const res = await p.goto(base + '/?q=klima');
    check(res.ok(), `GET /?q=klima answered ${res.status()}`);
    const r = await api(base, { q: 'klima' });
    for (const h of r.hits)
      await p.getByText(h.title, { exact: true }).first().waitFor();
    equal(await p.locator('input[name=q]').inputValue(), 'klima', 'the box of /?q=klima');
    await ctx.close();
  });

  await step('without JavaScript the form gets the server\'s results page (screenshot)', async () => {
    const ctx = await browser.newContext({ javaScriptEnabled: false });
    const { page: p } = await newPage(ctx, base, problems);
    await p.goto(base + '/');
    await p.locator('input[name=q]').fill('telemedicin');
    await Promise.all([p.waitForURL(/\?q=telemedicin/), p.locator('input[name=q]').press('Enter')]);
    const r = await api(base, { q: 'telemedicin' });
    check(r.total > 0, 'telemedicin finds nothing through the API');
    const text = await p.locator('body').innerText();
    for (const h of r.hits) {
      check(text.includes(h.title), `the no-JavaScript page lacks the hit "${h.title}"`);
      const words = h.snippet.replace(/…/g, '').trim().split(/\s+/).slice(0, 6).join(' ');
      check(text.replace(/\s+/g, ' ').includes(words), `the no-JavaScript page lacks "${words}"`);
    }
    check(text.includes(`${r.total} resultater`),
      `the no-JavaScript page does not say ${r.total} resultater`);
    check(await p.locator('.snippet mark').count() > 0, 'no <mark> on the no-JavaScript page');
    await p.screenshot({ path: path.join(OUT, 'search-nojs.png'), fullPage: true });
    await ctx.close();
  });

  await step('on a phone (390x844) the page fits the screen (screenshot)', async () => {
    const ctx = await browser.newContext({
      viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    });
    const { page: p } = await newPage(ctx, base, problems);
    await p.goto(base + '/');
    const b = p.getByRole('combobox', { name: 'Søg' });
    await b.pressSequentially('kommune', { delay: 25 });
    const r = await api(base, { q: 'kommune', typing: '1', facet: 'party' });
    await expectResults(p, r, 'kommune');
    await b.blur();
    const width = await p.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 390, `the page is ${width} px wide on a 390 px screen`);
    await p.screenshot({ path: path.join(OUT, 'search-phone.png') });
    await ctx.close();
  });
}

async function main() {
  const started = Date.now();
  let passed = 0, failed = 0;
  const problems = [];
  async function step(name, fn) {
    const t = Date.now();
    try {
      await fn();
      passed++;
      console.log(`ok   ${name} (${Date.now() - t} ms)`);
    } catch (e) {
      failed++;
      const why = e instanceof Failure ? e.message : e.stack;
      console.log(`FAIL ${name} (${Date.now() - t} ms)\n     ${why}`);
    }
  }

  for (const prog of ['dksearch-index', 'dksearch-serve'])
    if (!fs.existsSync(path.join(BIN, prog))) {
      console.error(`search.test: ${path.join(BIN, prog)} is missing (make builds it)`);
      process.exit(2);
    }
  fs.mkdirSync(OUT, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dksearch-browser-'));
  let server = null, browser = null;
  const stop = async () => {
    if (browser) await browser.close().catch(() => {});
    await stopServer(server);
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM'])
    process.on(sig, () => { stop().finally(() => process.exit(130)); });
  try {
    const db = path.join(tmp, 'db');
    const ix = spawnSync(path.join(BIN, 'dksearch-index'),
      ['-q', '--db', db, path.join(TOP, 'tests', 'fixtures', 'corpus')], { encoding: 'utf8' });
    if (ix.status !== 0) throw new Error(`dksearch-index failed (${ix.status}): ${ix.stderr}`);
    server = await startServer(db);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    await run(server.base, browser, problems, step);
    await step('no console errors, page errors, CSP violations or foreign requests', async () => {
      check(problems.length === 0, problems.join('\n     '));
    });
  } catch (e) {
    failed++;
    console.log(`FAIL ${e.stack || e}`);
  } finally {
    await stop();
  }
  const took = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`search.test: ${took} s; screenshots in ${OUT}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main();
