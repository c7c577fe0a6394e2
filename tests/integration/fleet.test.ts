import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { runFleetAndReport, type FleetReport } from '../../src/fleet/run-fleet.js';
import { cliIO } from '../../src/report/publish.js';
import { mapInputSource } from '../../src/settings/input-source.js';
import { parseSettings } from '../../src/settings/parse-settings.js';
import type { RunContext } from '../../src/settings/settings.js';
import { consoleIO } from '../../src/window/runner-io.js';
import { maxOverlap, startFleetSandbox, WORK_STEP, workIntervals, type FleetHostInfo, type FleetSandbox } from '../support/fleet-sandbox.js';

const HOSTS = 20;
let fleet: FleetSandbox;
let config: string;

beforeAll(async () => {
  fleet = await startFleetSandbox(HOSTS);
  config = fleet.writeConfig('fleet.yml', 0.4);
  mkdirSync(join(fleet.sandbox.root, 'fail'), { recursive: true });
});
afterAll(async () => {
  await fleet?.stop();
});

function run(attempt: number): RunContext {
  return { repository: 'test/fleet', runId: '900', runAttempt: attempt, workflow: 'fleet', serverUrl: 'https://github.com', actor: 'tester' };
}

/** A fleet run through the same door as the CLI: inputs → settings → fleet → reports and published lines. */
async function runFleet(inputs: Record<string, string>, attempt = 1): Promise<FleetReport & { published: string[]; log: string[] }> {
  const inventory = join(fleet.sandbox.root, `inventory-${inputs['window-id']}.txt`);
  writeFileSync(inventory, inputs.inventory ?? fleet.inventory());
  const settings = parseSettings(
    mapInputSource({
      steps: WORK_STEP,
      config,
      'private-key': fleet.sandbox.ssh.privateKey,
      'known-hosts': fleet.knownHosts,
      'connect-timeout': '5s',
      'report-dir': join(fleet.sandbox.root, 'report', inputs['window-id']),
      ...inputs,
      inventory,
    }),
    run(attempt),
    {},
  );
  const published: string[] = [];
  const log: string[] = [];
  const report = await runFleetAndReport({ settings, io: consoleIO((line) => log.push(line)), publish: cliIO({ write: (line) => published.push(line) }) });
  return { ...report, published, log };
}

const statusOf = (report: FleetReport) => Object.fromEntries(report.fleet.hosts.map((run) => [run.host.label, run.status]));
const setFailing = (hosts: FleetHostInfo[]) => hosts.forEach((host) => writeFileSync(fleet.failMarker(host.port), ''));
const clearFailing = () => fleet.hosts.forEach((host) => rmSync(fleet.failMarker(host.port), { force: true }));
const journalOnHost = (label: string, windowId: string) =>
  JSON.parse(readFileSync(join(fleet.stateDir(label), 'windows', `${windowId}-${label}.json`), 'utf8'));

describe('fleet windows', () => {
  it('runs 20 hosts at most 25% (5) at a time, measured on the hosts; a re-run skips the hosts that succeeded', async () => {
    const failing = fleet.hosts.slice(17);
    setFailing(failing);
    const windowId = 'roll';
    const first = await runFleet({ 'window-id': windowId, 'max-concurrency': '25%', 'max-errors': '3' });

    // Every host ran once; the concurrency, from the hosts' own logs, never passed 5 and did reach it.
    const intervals = fleet.hosts.map((host) => workIntervals(fleet, host.port));
    expect(intervals.map((list) => list.length)).toEqual(fleet.hosts.map(() => 1));
    expect(maxOverlap(intervals.flat())).toBeLessThanOrEqual(5);
    // The journals on the hosts bracket each whole window (lock to end): the bound holds, and was reached.
    const windows = fleet.hosts
      .map((host) => journalOnHost(host.label, windowId))
      .map((journal) => [Date.parse(journal.startedAt), Date.parse(journal.endedAt)] as [number, number]);
    expect(maxOverlap(windows)).toBeLessThanOrEqual(5);
    expect(maxOverlap(windows)).toBeGreaterThanOrEqual(4);
    expect(first.fleet.concurrency).toBe(5);
    expect(first.fleet.peakInFlight).toBe(5);

    expect(first.fleet.result).toBe('failed');
    expect(first.fleet.budgetSpent).toBe(false);
    const statuses = statusOf(first);
    expect(Object.values(statuses).filter((status) => status === 'succeeded')).toHaveLength(17);
    expect(failing.map((host) => statuses[host.label])).toEqual(['failed', 'failed', 'failed']);
    expect(first.fleet.failureMessage).toBe(`the weekly window failed on 3 of 20 hosts: h17 (${WORK_STEP}), h18 (${WORK_STEP}), h19 (${WORK_STEP})`);

    // Each host has its own journal on the host and its own report dir; the aggregate is on top of the summary.
    expect(journalOnHost('h03', windowId)).toMatchObject({ windowId: 'roll-h03', status: 'succeeded' });
    expect(journalOnHost('h18', windowId)).toMatchObject({ windowId: 'roll-h18', status: 'failed', failedStep: WORK_STEP });
    const reportDir = join(fleet.sandbox.root, 'report', windowId);
    for (const host of fleet.hosts) expect(existsSync(join(reportDir, host.label, 'report.html'))).toBe(true);
    expect(first.files).toContain(join(reportDir, 'fleet.json'));
    expect(first.files).toContain(join(reportDir, 'h19', 'window.json'));
    const summary = first.published.join('\n');
    expect(summary.indexOf('## ❌ Weekly maintenance window failed on 3 of 20 hosts')).toBe(0);
    expect(summary).toMatch(/\| h18 \| `mwroot@127\.0\.0\.1:\d+` \| ❌ failed \| [\d.]+ s \| none \| — \| `custom\.work` \|/);
    expect(summary).toContain('at most 5 at a time (max-concurrency 25%), peak 5');
    expect(first.published).toContain(`failed-step=h17:${WORK_STEP},h18:${WORK_STEP},h19:${WORK_STEP}`);
    expect(first.published.some((line) => /^error: Step custom\.work failed on 127\.0\.0\.1:\d+: custom\.work failed \(exit code 3\)$/.test(line))).toBe(true);
    const json = JSON.parse(readFileSync(join(reportDir, 'fleet.json'), 'utf8'));
    expect(json).toMatchObject({
      windowId,
      result: 'failed',
      maxConcurrency: { input: '25%', hosts: 5 },
      maxErrors: { input: '3', hosts: 3 },
      peakInFlight: 5,
    });
    expect(json.hosts[18]).toMatchObject({ label: 'h18', status: 'failed', failedStep: WORK_STEP, windowId: 'roll-h18', reportDir: 'h18' });
    expect(first.log.some((line) => /^\[h05\] custom\.work: succeeded in/.test(line))).toBe(true);

    // Re-run (attempt 2) after fixing the hosts: the 17 done hosts are not run again, the 3 failed ones are.
    clearFailing();
    const second = await runFleet({ 'window-id': windowId, 'max-concurrency': '25%', 'max-errors': '3' }, 2);
    expect(second.fleet.result).toBe('succeeded');
    const again = statusOf(second);
    expect(Object.values(again).filter((status) => status === 'already-succeeded')).toHaveLength(17);
    expect(failing.map((host) => again[host.label])).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(fleet.hosts.map((host) => workIntervals(fleet, host.port).length)).toEqual(fleet.hosts.map((_, index) => (index >= 17 ? 2 : 1)));
    expect(journalOnHost('h18', windowId).attempts.map((attempt: { status: string }) => attempt.status)).toEqual(['failed', 'succeeded']);
    expect(second.published.join('\n')).toMatch(/\| h00 \| `mwroot@127\.0\.0\.1:\d+` \| ✅ already succeeded \(run attempt 1\) \| — \|/);
    // The skipped host's report is still in this attempt's artifact, from its journal.
    expect(JSON.parse(readFileSync(join(fleet.sandbox.root, 'report', windowId, 'h00', 'window.json'), 'utf8')).status).toBe('succeeded');
  });

  it('stops starting hosts once the error budget is spent; hosts in flight finish, the rest are not started', async () => {
    const failing = fleet.hosts.slice(0, 4);
    setFailing(failing);
    const windowId = 'budget';
    const before = fleet.hosts.map((host) => workIntervals(fleet, host.port).length);
    const report = await runFleet({ 'window-id': windowId, 'max-concurrency': '5', 'max-errors': '10%' });
    clearFailing();

    expect(report.fleet.errorBudget).toBe(2);
    expect(report.fleet.budgetSpent).toBe(true);
    expect(report.fleet.result).toBe('failed');
    const runs = report.fleet.hosts;
    expect(failing.map((host) => statusOf(report)[host.label])).toEqual(['failed', 'failed', 'failed', 'failed']);
    const started = runs.filter((entry) => entry.status !== 'not-started');
    const notStarted = runs.filter((entry) => entry.status === 'not-started');
    expect(notStarted.length).toBeGreaterThan(0);
    // In order: once a host was not started, no later host started.
    expect(runs.findIndex((entry) => entry.status === 'not-started')).toBe(started.length);
    // No host started after the third failure (one more than max-errors 2) was known.
    const failures = started.filter((entry) => entry.status === 'failed').map((entry) => Date.parse(entry.startedAt!) + entry.durationMs!);
    for (const entry of started) expect(failures.filter((end) => end < Date.parse(entry.startedAt!)).length).toBeLessThanOrEqual(2);
    // Hosts in flight finished their window (no cancelled or cut-short host); unstarted hosts never ran.
    for (const entry of started) expect(['succeeded', 'failed']).toContain(entry.status);
    fleet.hosts.forEach((host, index) => {
      const ran = workIntervals(fleet, host.port).length - before[index];
      expect(ran).toBe(index < started.length ? 1 : 0);
    });
    for (const entry of notStarted) expect(existsSync(join(fleet.stateDir(entry.host.label), 'windows', `budget-${entry.host.label}.json`))).toBe(false);
    expect(report.published.join('\n')).toContain(`so ${notStarted.length} hosts were not started. Hosts already in flight finished.`);
    expect(report.published).toContain(
      `error: Error budget spent: ${notStarted.length} host(s) not started: ${notStarted.map((entry) => entry.host.label).join(', ')}`,
    );
    expect(report.fleet.failureMessage).toMatch(
      new RegExp(`${notStarted.length} hosts were not started: the error budget was spent \\(max-errors 10%: 2 failures tolerated\\)$`),
    );
  });

  it('takes its shard of the inventory, and counts a host it cannot reach as a failure that did not start', async () => {
    const closed = { label: 'gone', port: 1 };
    const inventory = fleet.inventory([closed, ...fleet.hosts.slice(0, 7)]);
    const report = await runFleet({ 'window-id': 'shard', inventory, shard: '1/2', 'max-concurrency': '2', 'max-errors': '1', 'connect-timeout': '1s' });
    expect(report.fleet.inventorySize).toBe(8);
    expect(report.fleet.hosts.map((entry) => entry.host.label)).toEqual(['gone', 'h00', 'h01', 'h02']);
    expect(statusOf(report)).toEqual({ gone: 'failed', h00: 'succeeded', h01: 'succeeded', h02: 'succeeded' });
    const gone = report.fleet.hosts[0];
    expect(gone.result?.failureMessage).toMatch(/^the weekly window on mwroot@127\.0\.0\.1:1 did not start: .*ECONNREFUSED/);
    expect(report.published.join('\n')).toMatch(/\| gone \| `mwroot@127\.0\.0\.1:1` \| ❌ failed \| .* \| did not start \|/);
    expect(report.published.join('\n')).toContain('shard 1/2: 4 hosts of 8');
    expect(report.fleet.artifactName).toBe('maintenance-fleet-shard-shard1of2-attempt1');
  });

  it('runs a fleet from the CLI when an inventory is given, exit 1 when a host failed', async () => {
    const root = fleet.sandbox.root;
    const [ok, bad] = fleet.hosts.slice(10, 12);
    writeFileSync(join(root, 'cli-inventory.txt'), fleet.inventory([ok, bad]));
    writeFileSync(join(root, 'known_hosts'), fleet.knownHosts);
    setFailing([bad]);
    const summaryFile = join(root, 'cli-summary.md');
    const code = await main([
      'run',
      ...['--inventory', join(root, 'cli-inventory.txt'), '--max-concurrency', '100%', '--max-errors', '1'],
      ...['--private-key-file', fleet.sandbox.ssh.privateKeyPath, '--known-hosts-file', join(root, 'known_hosts')],
      ...['--config', config, '--steps', WORK_STEP, '--window-id', 'cli', '--report-dir', join(root, 'report', 'cli'), '--summary-file', summaryFile],
    ]);
    clearFailing();
    expect(code).toBe(1);
    const summary = readFileSync(summaryFile, 'utf8');
    expect(summary.startsWith('## ❌ Weekly maintenance window failed on 1 of 2 hosts')).toBe(true);
    expect(summary).toContain(`| ${ok.label} | \`mwroot@127.0.0.1:${ok.port}\` | ✅ succeeded |`);
    expect(JSON.parse(readFileSync(join(root, 'report', 'cli', 'fleet.json'), 'utf8')).hosts.map((host: { status: string }) => host.status)).toEqual([
      'succeeded',
      'failed',
    ]);
  });
});
