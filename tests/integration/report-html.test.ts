import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Snapshot } from '../../src/report/snapshot-types.js';
import { writeReport } from '../../src/report/write-report.js';
import type { WindowResult } from '../../src/window/result.js';
import { deferralResult, dryRunResult, failureResult, fixtureHistory, successResult } from '../support/report-fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
// ENVIRONMENT.md: without the networking flags Chromium floods the closed network with connections.
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const root = mkdtempSync(join(tmpdir(), 'mw-report-html-'));
let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
});
afterAll(async () => {
  await browser?.close();
  rmSync(root, { recursive: true, force: true });
});

/** Opens a written report; records every request the page makes. */
async function open(result: WindowResult, name: string, history = fixtureHistory(8)): Promise<{ page: Page; requests: string[]; url: string }> {
  const report = await writeReport(result, join(root, name), [], { history, artifactName: `maintenance-db1-${name}-attempt1` });
  const url = pathToFileURL(join(report.dir, 'report.html')).href;
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const requests: string[] = [];
  page.on('request', (request) => void requests.push(request.url()));
  await page.goto(url, { waitUntil: 'load' });
  return { page, requests, url };
}

/** Saves a full-page screenshot where a person can look at it (the path is printed). */
async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(tmpdir(), `mw-report-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
  return path;
}

const count = (page: Page, selector: string) => page.locator(selector).count();

describe.skipIf(!existsSync(CHROMIUM))('the HTML report in headless Chromium', () => {
  test('a successful window: header, cards, the three charts with their data, the tables; nothing fetched, no script', async () => {
    const result = successResult();
    const { page, requests, url } = await open(result, 'success');
    expect(requests).toEqual([url]);
    expect(await count(page, 'script')).toBe(0);
    expect(await page.locator('header.result').getAttribute('data-result')).toBe('succeeded');
    expect(await page.locator('header h1').innerText()).toBe('Maintenance window succeeded');

    const bars = page.locator('svg[data-chart="timeline"] rect.bar');
    expect(await bars.count()).toBe(result.journal.steps.length);
    expect(await bars.first().getAttribute('data-step')).toBe('snapshot.baseline');
    expect(await page.locator('svg[data-chart="timeline"] rect.bracket').getAttribute('data-downtime-seconds')).toBe('72');
    expect(await page.locator('svg[data-chart="timeline"] rect.bar[data-status="warning"]').count()).toBe(2);

    const pairs = page.locator('svg[data-chart="table-sizes"] g[data-table]');
    expect(await pairs.count()).toBe(5);
    const biggest = (result.baseline as Snapshot).database!.tables[0]!;
    expect(await pairs.first().getAttribute('data-table')).toBe(biggest.name);
    expect(Number(await pairs.first().getAttribute('data-before'))).toBe(biggest.totalBytes);
    expect(Number(await pairs.first().getAttribute('data-after'))).toBe((result.post as Snapshot).database!.tables[0]!.totalBytes);

    // 8 weeks of history (baseline + post each) and this window's two snapshots.
    expect(await count(page, 'svg[data-chart="db-size-history"] circle[data-value]')).toBe(18);
    expect(await page.locator('svg[data-chart="db-size-history"] circle[data-value]').last().getAttribute('data-value')).toBe(
      String((result.post as Snapshot).database!.sizeBytes),
    );
    expect(await count(page, 'svg[data-chart="disk-history"] g[data-series]')).toBe(2);

    for (const heading of ['Timeline', 'Table sizes (largest 5)', 'History', 'Steps', 'Before / after', 'Integrity', 'Findings', 'Host after the window']) {
      expect(await page.getByRole('heading', { name: heading, exact: true }).count(), heading).toBe(1);
    }
    expect(await page.locator('ul.findings li[data-severity="warning"]').count()).toBe(2);
    const shot = await screenshot(page, 'success');
    expect(statSync(shot).size).toBeGreaterThan(50_000);
    await page.close();
  });

  test('a failed window leads with what to do next, and its failed bar is red', async () => {
    const { page, requests, url } = await open(failureResult(), 'failure');
    expect(requests).toEqual([url]);
    expect(await page.locator('header.result').getAttribute('data-result')).toBe('failed');
    const next = page.locator('section.next');
    expect(await next.innerText()).toContain('resume: db.reindex');
    expect(await next.locator('pre').innerText()).toContain('canceling statement due to lock timeout (55P03)');
    expect(await page.locator('svg[data-chart="timeline"] rect.bar[data-status="failed"]').getAttribute('data-step')).toBe('db.reindex');
    expect(await page.locator('svg[data-chart="timeline"] text.unstarted').count()).toBe(4);
    await screenshot(page, 'failure');
    await page.close();
  });

  test('markup from the host is shown as text: no element, no request, even for an image pointing at the network', async () => {
    const result = deferralResult();
    result.journal.steps[1]!.summary = '<img src="http://127.0.0.1:9/pixel.png"><script>document.title="owned"</script>';
    (result.post as Snapshot).database!.tables[0]!.name = '"><svg onload=alert(1)>';
    const { page, requests, url } = await open(result, 'escaped', []);
    expect(requests).toEqual([url]);
    expect(await count(page, 'img')).toBe(0);
    expect(await count(page, 'script')).toBe(0);
    expect(await page.title()).not.toBe('owned');
    expect(await page.getByText('<img src="http://127.0.0.1:9/pixel.png">', { exact: false }).count()).toBe(1);
    const tables = await page
      .locator('svg[data-chart="table-sizes"] g[data-table]')
      .evaluateAll((groups) => groups.map((group) => group.getAttribute('data-table')));
    expect(tables).toContain('"><svg onload=alert(1)>');
    expect(await count(page, 'svg[onload]')).toBe(0);
    // Without history the trend charts still draw this window's two points.
    expect(await count(page, 'svg[data-chart="db-size-history"] circle')).toBe(2);
    expect(await count(page, 'svg[data-chart="timeline"] text.unstarted[data-status="deferred"]')).toBe(5);
    await screenshot(page, 'deferral');
    await page.close();
  });

  test('a dry run shows the plan and what each step runs', async () => {
    const { page, requests, url } = await open(dryRunResult(), 'dry-run', []);
    expect(requests).toEqual([url]);
    expect(await page.locator('header.result').getAttribute('data-result')).toBe('planned');
    expect(await page.locator('section table tbody tr').count()).toBe(15);
    expect(await page.locator('details summary').count()).toBe(15);
    await page.close();
  });
});
