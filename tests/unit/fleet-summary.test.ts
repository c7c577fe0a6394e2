import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetHost } from '../../src/fleet/fleet-settings.js';
import { renderFleetSummary } from '../../src/fleet/fleet-markdown.js';
import { fleetFailureMessage, fleetOutcome, type FleetResult } from '../../src/fleet/fleet-result.js';
import { fleetAnnotations, fleetArtifactName, fleetJson, fleetOutputs } from '../../src/fleet/fleet-report.js';
import type { HostRun } from '../../src/fleet/run-host.js';
import { writeReport } from '../../src/report/write-report.js';
import type { Settings } from '../../src/settings/settings.js';
import type { WindowResult } from '../../src/window/result.js';
import { failureResult, successResult } from '../support/report-fixtures.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mw-fleet-summary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const host = (label: string, line: number): FleetHost => ({ label, line, endpoint: { username: 'deploy', host: `${label}.example.com`, port: 22 } });

async function ran(label: string, line: number, result: WindowResult, status: HostRun['status'] = result.result): Promise<HostRun> {
  const report = await writeReport(result, path.join(dir, label), ['s3cret-password'], { artifactName: 'maintenance-fleet-weekly-9-attempt1' });
  return { host: host(label, line), status, startedAt: '2026-11-29T02:00:00.000Z', durationMs: 754_000, result: report.result, report };
}

function fleetOf(hosts: HostRun[], overrides: Partial<FleetResult> = {}): FleetResult {
  const base = {
    tier: 'monthly' as const,
    windowId: 'monthly-9',
    dryRun: false,
    source: 'inventory fleet/db.txt',
    inventorySize: 8,
    shard: { index: 2, count: 2 },
    maxConcurrency: { kind: 'percent' as const, value: 50 },
    concurrency: 2,
    maxErrors: { kind: 'count' as const, value: 0 },
    errorBudget: 0,
    errors: hosts.filter((run) => run.status === 'failed').length,
    budgetSpent: hosts.some((run) => run.status === 'not-started'),
    peakInFlight: 2,
    startedAt: '2026-11-29T02:00:00.000Z',
    endedAt: '2026-11-29T02:31:00.000Z',
    hosts,
    artifactName: 'maintenance-fleet-monthly-9-shard2of2-attempt1',
    reportDir: dir,
    ...overrides,
  };
  return { ...base, result: fleetOutcome(hosts, base.dryRun), failureMessage: fleetFailureMessage(base) };
}

let runs: HostRun[];
let fleet: FleetResult;
beforeAll(async () => {
  const failed = failureResult();
  failed.failureMessage = `${failed.failureMessage} <img src=x onerror=alert(1)> s3cret-password`;
  runs = [
    await ran('db1', 1, successResult()),
    await ran('db2', 2, failed),
    await ran('db3', 3, successResult(), 'already-succeeded'),
    { host: host('db4', 4), status: 'not-started', notStarted: 'error budget' },
  ];
  fleet = fleetOf(runs);
});

describe('fleet summary', () => {
  it('puts the aggregate on top: a row per host with result, time, downtime, reclaimed space and failed step', () => {
    const markdown = renderFleetSummary(fleet);
    expect(markdown.startsWith('## ❌ Monthly maintenance window failed on 2 of 4 hosts\n\n')).toBe(true);
    expect(markdown).toContain(
      'shard 2/2: 4 hosts of 8 from inventory fleet/db.txt · at most 2 at a time (max-concurrency 50%), peak 2 · error budget 0 failures (max-errors 0) · took 31m',
    );
    const downtime = `${runs[0].result!.journal.bracket!.downtimeSeconds}`;
    expect(downtime).not.toBe('undefined');
    const reclaimed = runs[0].report!.diff.reclaimedBytes!;
    expect(reclaimed).toBeGreaterThan(0);
    const rows = markdown.split('\n').filter((line) => line.startsWith('| db'));
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatch(/^\| db1 \| `deploy@db1\.example\.com:22` \| ✅ succeeded \| 12m 34s \| [\dms. ]+ \| [\d.]+ [KMG]i?B \| — \|$/);
    expect(rows[1]).toMatch(/^\| db2 \| .* \| ❌ failed \| 12m 34s \| .* \| `db\.reindex` \|$/);
    expect(rows[2]).toMatch(/^\| db3 \| .* \| ✅ already succeeded \(run attempt \d\) \| — \|/);
    expect(rows[3]).toBe('| db4 | `deploy@db4.example.com:22` | ▫️ not started (error budget) | — | — | — | — |');
    expect(markdown).toMatch(/\| \*\*All\*\* \| {2}\| {2}\| {2}\| [^|]+ \| [^|]+ \| {2}\|/);
    expect(markdown).toContain('✅ succeeded: 1 · ❌ failed: 1 · ✅ already succeeded: 1 · ▫️ not started: 1');
  });

  it('says the error budget was spent and why the failed host failed, with host text made inert', () => {
    const markdown = renderFleetSummary(fleet);
    expect(markdown).toContain('> [!CAUTION]\n> The error budget was spent: 1 host failed, more than max-errors 0 (0) allows, so 1 host was not started.');
    expect(markdown).toContain(
      '### Failures\n\n- **db2**: db.reindex failed on deploy@db1.example.com:22: canceling statement due to lock timeout (55P03) &lt;img src=x onerror=alert(1)&gt; \\*\\*\\*',
    );
    expect(fleet.failureMessage).toBe(
      'the monthly window failed on 1 of 4 hosts: db2 (db.reindex); 1 host was not started: the error budget was spent (max-errors 0: 0 failures tolerated)',
    );
  });

  it('folds every host report below the aggregate, and drops them (troubled hosts last) to fit the limit', () => {
    const full = renderFleetSummary(fleet);
    expect(full.indexOf('### Host reports')).toBeGreaterThan(full.indexOf('| db4 |'));
    expect(full).toContain('<details><summary>db1 — ✅ succeeded</summary>');
    expect(full).toContain('<details><summary>db2 — ❌ failed</summary>');
    expect(full).not.toContain('s3cret-password');
    expect(full).not.toContain('<img');

    const hostBytes = Buffer.byteLength(runs[0].report!.summary);
    const fitted = renderFleetSummary(fleet, Buffer.byteLength(full) - hostBytes);
    expect(fitted).toContain('<details><summary>db2 — ❌ failed</summary>');
    expect(fitted).not.toContain('<details><summary>db1');
    expect(fitted).toContain('_Reports of the hosts that succeeded are in the artifact._');

    const small = renderFleetSummary(fleet, 4000);
    expect(Buffer.byteLength(small)).toBeLessThanOrEqual(4000);
    expect(small).toContain('| db4 |');
    expect(small).not.toContain('### Host reports');
  });

  it('writes fleet.json for machines', () => {
    const json = fleetJson(fleet) as { hosts: Array<Record<string, unknown>> } & Record<string, unknown>;
    expect(json).toMatchObject({
      schemaVersion: 1,
      windowId: 'monthly-9',
      result: 'failed',
      maxConcurrency: { input: '50%', hosts: 2 },
      maxErrors: { input: '0', hosts: 0 },
      budgetSpent: true,
    });
    expect(json.hosts[1]).toMatchObject({
      label: 'db2',
      windowId: 'monthly-9-db2',
      status: 'failed',
      failedStep: 'db.reindex',
      reportDir: 'db2',
      durationMs: 754_000,
    });
    expect(json.hosts[1].failureMessage).toMatch(/^db\.reindex failed on/);
    expect(json.hosts[3]).toMatchObject({ label: 'db4', status: 'not-started', notStarted: 'error budget', reportDir: undefined });
    expect(JSON.stringify(json)).not.toContain('s3cret-password');
  });

  it('sets outputs that add up across hosts', () => {
    const outputs = fleetOutputs(fleet);
    const downtime = runs
      .slice(0, 2)
      .reduce((sum, run) => sum + run.result!.journal.bracket!.downtimeSeconds!, runs[2].result!.journal.bracket!.downtimeSeconds!);
    expect(outputs).toMatchObject({
      result: 'failed',
      'window-id': 'monthly-9',
      'failed-step': 'db2:db.reindex',
      'downtime-seconds': String(downtime),
      'report-dir': dir,
    });
    expect(Number(outputs['reclaimed-bytes'])).toBe(runs.slice(0, 3).reduce((sum, run) => sum + run.report!.diff.reclaimedBytes!, 0));
  });

  it('annotates the spent budget and each run host (not the hosts done earlier)', () => {
    const annotations = fleetAnnotations(fleet);
    expect(annotations[0]).toEqual({ level: 'error', title: 'Error budget spent', message: '1 host(s) not started: db4' });
    expect(annotations.some((annotation) => annotation.title === 'Step db.reindex failed on db1.example.com')).toBe(true);
    const perHost = annotations.slice(1);
    expect(perHost.length).toBeGreaterThan(0);
  });

  it.each<[HostRun['status'][], boolean, FleetResult['result']]>([
    [['succeeded', 'already-succeeded'], false, 'succeeded'],
    [['succeeded', 'deferred'], false, 'deferred'],
    [['succeeded', 'not-started'], false, 'failed'],
    [['deferred', 'failed'], false, 'failed'],
    [['planned', 'planned'], true, 'planned'],
    [['planned', 'failed'], true, 'failed'],
    [['skipped', 'skipped'], false, 'skipped'],
    [[], false, 'skipped'],
  ])('a fleet of %j (dry run %s) is %s', (statuses, dryRun, expected) => {
    expect(
      fleetOutcome(
        statuses.map((status, index) => ({ host: host(`h${index}`, index + 1), status })),
        dryRun,
      ),
    ).toBe(expected);
  });

  it('names the artifact per window, shard and attempt', () => {
    const settings = { windowId: 'weekly-77', run: { runAttempt: 3 }, fleet: { shard: { index: 4, count: 16 } } } as Settings;
    expect(fleetArtifactName(settings)).toBe('maintenance-fleet-weekly-77-shard4of16-attempt3');
    expect(fleetArtifactName({ ...settings, fleet: { ...settings.fleet!, shard: undefined } })).toBe('maintenance-fleet-weekly-77-attempt3');
  });
});
