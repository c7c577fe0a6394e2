import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preflight } from '../../src/steps/health/preflight.js';
import { countRecentRequests, logLineTime } from '../../src/steps/health/access-activity.js';
import type { Check } from '../../src/steps/health/check-list.js';
import type { StepOutcome, WindowFacts } from '../../src/steps/step.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { caseDir, caseRunner, resign, rowCount, sandboxBackups } from './backup-cases.js';

let sandbox: Sandbox;
let runner: ReturnType<typeof caseRunner>;
let goodGz: string;
let goodDump: string;

beforeAll(async () => {
  sandbox = await startSandbox();
  runner = caseRunner(sandbox);
  goodGz = sandboxBackups(sandbox, '.sql.gz')[0]!;
  goodDump = await sandbox.makeBackup('custom');
});
afterAll(async () => {
  await runner?.close();
  await sandbox?.stop();
});

/** Runs preflight with the backups in dir; quiet activity unless the case sets its own. */
const runPreflight = (dir: string, extra: Record<string, unknown> = {}, facts: WindowFacts = {}) =>
  runner.run(preflight, { backups: { dir }, activity: { 'warn-above': 100_000 }, ...extra }, facts);

const check = (outcome: StepOutcome, name: string) => (outcome.details as { checks: Check[] }).checks.find((entry) => entry.name === name);

describe('preflight', () => {
  it('passes on a good .sql.gz backup, records it as verified and the exact baseline counts', async () => {
    const dir = caseDir(sandbox, [goodGz]);
    const { outcome, facts, log } = await runPreflight(dir);
    expect(outcome.status, outcome.summary).toBe('succeeded');
    expect(check(outcome, 'backup.integrity')?.ok).toBe(true);
    expect(check(outcome, 'backup.checksum')?.ok).toBe(true);
    expect(check(outcome, 'rollback possible')?.ok).toBe(true);
    expect(facts.backup).toMatchObject({ kind: 'verified', format: 'plain-gz', path: `${dir}/${goodGz.split('/').pop()}` });
    expect(facts.baselineCounts).toEqual({
      vendor_equipment: await rowCount(sandbox, 'vendor_equipment'),
      threat_intelligence: await rowCount(sandbox, 'threat_intelligence'),
    });
    expect(typeof facts.baselineResponseMs).toBe('number');
    expect(outcome.metrics?.backupAgeMs).toBeLessThan(3_600_000);
    // The DB password never reaches the log or the outcome.
    expect(log.join('\n')).not.toContain(sandbox.postgres.password);
    expect(JSON.stringify(outcome)).not.toContain(sandbox.postgres.password);
  });

  it('passes on a good custom-format dump', async () => {
    const { outcome } = await runPreflight(caseDir(sandbox, [goodDump]));
    expect(outcome.status, outcome.summary).toBe('succeeded');
    expect(check(outcome, 'backup.integrity')?.detail).toContain('pg_restore read the archive');
  });

  it('keeps a fresh backup fact of this window instead of replacing it with the newest file', async () => {
    const fresh = { path: '/elsewhere/fresh.dump', format: 'custom' as const, sizeBytes: 1, createdAt: new Date().toISOString(), kind: 'fresh' as const };
    const { outcome, facts } = await runPreflight(caseDir(sandbox, [goodGz]), {}, { backup: fresh });
    expect(outcome.status).toBe('succeeded');
    expect(facts.backup).toEqual(fresh);
  });

  it('fails naming the directory and pattern when there is no backup, where the runbook script dies silently', async () => {
    const dir = caseDir(sandbox);
    const { outcome, facts } = await runPreflight(dir);
    expect(outcome.status).toBe('failed');
    expect(outcome.summary).toContain(dir);
    expect(outcome.summary).toContain("'ner11_db_*'");
    expect(check(outcome, 'rollback possible')?.ok).toBe(false);
    expect(facts.backup).toBeUndefined();

    // The runbook's own check, verbatim except for the directory: set -e kills it before its message.
    const runbook = `set -euo pipefail
LATEST_BACKUP=$(ls -t ${dir}/*.sql.gz | head -1)
if [ -n "$LATEST_BACKUP" ]; then echo "Latest backup: $LATEST_BACKUP"
else echo " No recent backup found! Create backup before maintenance."; exit 1; fi`;
    const result = spawnSync('bash', ['-c', runbook], { encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).not.toContain('No recent backup');
  });

  it('fails when the backup directory does not exist', async () => {
    const { outcome } = await runPreflight(`${sandbox.root}/no-such-dir`);
    expect(outcome.status).toBe('failed');
    expect(outcome.summary).toContain(`backup directory ${sandbox.root}/no-such-dir does not exist`);
  });

  it('fails when the newest backup is older than max-age', async () => {
    const dir = caseDir(sandbox, [goodGz]);
    execFileSync('touch', ['-d', '3 days ago', `${dir}/${goodGz.split('/').pop()}`]);
    const { outcome, facts } = await runPreflight(dir);
    expect(outcome.status).toBe('failed');
    expect(check(outcome, 'backup.age')).toMatchObject({ ok: false, severity: 'critical' });
    expect(outcome.summary).toMatch(/backup\.age: .* is 7\d\.\d h old \(limit 26\.0 h\)/);
    // Intact, but restoring it would lose more writes than max-age allows: not a rollback point.
    expect(check(outcome, 'backup.integrity')?.ok).toBe(true);
    expect(facts.backup).toBeUndefined();
  });

  it('fails on a truncated gzip even when its sidecar was computed from the truncated file', async () => {
    const dir = caseDir(sandbox, [goodGz]);
    const file = `${dir}/${goodGz.split('/').pop()}`;
    truncateSync(file, Math.floor(statSync(file).size / 2));
    resign(file);
    const { outcome, facts } = await runPreflight(dir);
    expect(outcome.status).toBe('failed');
    expect(check(outcome, 'backup.integrity')).toMatchObject({ ok: false });
    expect(check(outcome, 'backup.integrity')?.detail).toContain('gzip -t failed');
    expect(check(outcome, 'backup.checksum')?.ok).toBe(true);
    expect(facts.backup).toBeUndefined();
  });

  it('fails on a well-formed gzip of a dump that was cut short (gunzip -t alone passes it)', async () => {
    const dir = caseDir(sandbox);
    const file = `${dir}/ner11_db_20990101_000000.sql.gz`;
    const sql = gunzipSync(readFileSync(goodGz));
    writeFileSync(file, gzipSync(sql.subarray(0, Math.floor(sql.length * 0.6))));
    resign(file);
    expect(spawnSync('gzip', ['-t', file]).status).toBe(0);
    const { outcome } = await runPreflight(dir);
    expect(outcome.status).toBe('failed');
    expect(check(outcome, 'backup.integrity')?.detail).toContain("without pg_dump's 'dump complete' trailer");
  });

  it('fails on a truncated custom dump that pg_restore --list still accepts', async () => {
    const dir = caseDir(sandbox, [goodDump]);
    const file = `${dir}/${goodDump.split('/').pop()}`;
    truncateSync(file, Math.floor(statSync(file).size * 0.7));
    resign(file);
    expect(spawnSync('pg_restore', ['--list', file]).status).toBe(0);
    const { outcome } = await runPreflight(dir);
    expect(outcome.status).toBe('failed');
    expect(check(outcome, 'backup.integrity')?.detail).toContain('could not read the whole archive');
  });

  it('fails on a checksum mismatch', async () => {
    const dir = caseDir(sandbox, [goodGz]);
    const file = `${dir}/${goodGz.split('/').pop()}`;
    writeFileSync(`${file}.sha256`, `${'0'.repeat(64)}  ${file.split('/').pop()}\n`);
    const { outcome, facts } = await runPreflight(dir);
    expect(outcome.status).toBe('failed');
    expect(check(outcome, 'backup.checksum')?.detail).toContain('does not match');
    expect(outcome.summary).toContain(`${file}.sha256`);
    expect(facts.backup).toBeUndefined();
  });

  it('fails when the checksum sidecar is missing, unless checksums are turned off', async () => {
    const dir = caseDir(sandbox, [goodGz]);
    rmSync(`${dir}/${goodGz.split('/').pop()}.sha256`);
    const { outcome } = await runPreflight(dir);
    expect(outcome.status).toBe('failed');
    expect(check(outcome, 'backup.checksum')?.detail).toContain('no checksum sidecar');
    const relaxed = await runPreflight(dir, { backups: { dir, checksum: false } });
    expect(relaxed.outcome.status, relaxed.outcome.summary).toBe('succeeded');
    expect(check(relaxed.outcome, 'backup.checksum')).toMatchObject({ ok: true, severity: 'info' });
  });

  it('judges disk usage against disk.warn-percent and disk.fail-percent', async () => {
    const dir = caseDir(sandbox, [goodGz]);
    const warned = await runPreflight(dir, { disk: { 'warn-percent': 1, 'fail-percent': 100 } });
    expect(warned.outcome.status).toBe('warning');
    expect(warned.outcome.findings?.map((finding) => finding.title).join('\n')).toMatch(/disk \/: \d+% used, [\d.]+ GiB free \(warn 1%, fail 100%\)/);
    const failed = await runPreflight(dir, { disk: { 'warn-percent': 1, 'fail-percent': 2 } });
    expect(failed.outcome.status).toBe('failed');
    expect(check(failed.outcome, `disk ${dir}`)).toMatchObject({ ok: false, severity: 'critical' });
  });

  it('fails when the app is already down, and says not to start maintenance', async () => {
    await sandbox.stopApp();
    try {
      const { outcome } = await runPreflight(caseDir(sandbox, [goodGz]), { health: { timeout: '2s' } });
      expect(outcome.status).toBe('failed');
      expect(check(outcome, 'services')?.ok).toBe(false);
      expect(check(outcome, 'app health')?.ok).toBe(false);
      expect(outcome.summary).toContain('the app is already down; never start maintenance on it');
    } finally {
      await sandbox.startApp();
    }
  });

  it('warns about high request activity with a finding', async () => {
    for (let i = 0; i < 20; i++) await fetch(`${sandbox.app!.url}/api/v1/stats`);
    const { outcome } = await runPreflight(caseDir(sandbox, [goodGz]), { activity: { 'warn-above': 10 } });
    expect(outcome.status, outcome.summary).toBe('warning');
    expect(outcome.metrics?.recentRequests).toBeGreaterThanOrEqual(20);
    const finding = outcome.findings?.find((entry) => entry.title.startsWith('activity'));
    expect(finding).toMatchObject({ severity: 'warning', action: 'Consider rescheduling: users are active.' });
    expect(finding?.title).toMatch(/\d+ requests in the last 10 min/);
  });
});

describe('access-log timestamps', () => {
  it.each([
    ['127.0.0.1 - - [28/Nov/2026:02:00:05 +0000] "GET / HTTP/1.1" 200 2', Date.UTC(2026, 10, 28, 2, 0, 5)],
    ['10.0.0.1 - - [28/Nov/2026:03:00:05 +0100] "GET / HTTP/1.1" 200 2', Date.UTC(2026, 10, 28, 2, 0, 5)],
    ['{"time":"2026-11-28T02:00:05.250Z","path":"/"}', Date.UTC(2026, 10, 28, 2, 0, 5, 250)],
    ['2026-11-28 01:00:05-01:00 GET /', Date.UTC(2026, 10, 28, 2, 0, 5)],
    ['no timestamp here', undefined],
  ])('%s', (line, expected) => {
    expect(logLineTime(line)).toBe(expected);
  });

  it('counts only lines inside the window and says when the tail did not reach its start', () => {
    const now = Date.UTC(2026, 10, 28, 2, 10, 0);
    const line = (minutesAgo: number) => `{"time":"${new Date(now - minutesAgo * 60_000).toISOString()}"}`;
    const tail = [line(30), line(9), line(1), 'garbage', line(0)].join('\n');
    expect(countRecentRequests(tail, now, 600_000, 1000)).toEqual({ requests: 3, unparsedLines: 1, complete: true });
    expect(countRecentRequests([line(2), line(1)].join('\n'), now, 600_000, 2)).toEqual({ requests: 2, unparsedLines: 0, complete: false });
  });
});
