import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrDrillFacts } from '../../src/steps/review/review-facts.js';
import { drDrill } from '../../src/steps/review/dr-drill.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { caseDir, caseRunner, resign, rowCount, sandboxBackups } from './backup-cases.js';

let sandbox: Sandbox;
let runner: ReturnType<typeof caseRunner>;
let goodGz: string;
let rows: { vendor_equipment: number; threat_intelligence: number };

beforeAll(async () => {
  sandbox = await startSandbox({ app: false });
  runner = caseRunner(sandbox);
  goodGz = sandboxBackups(sandbox, '.sql.gz')[0]!;
  rows = { vendor_equipment: await rowCount(sandbox, 'vendor_equipment'), threat_intelligence: await rowCount(sandbox, 'threat_intelligence') };
});
afterAll(async () => {
  await runner?.close();
  await sandbox?.stop();
});

const scratchDatabases = () => sandbox.psql("select string_agg(datname, ',') from pg_database where datname like 'mw_dr_%'");

/** A signed copy of the good plain backup with SQL inserted before pg_dump's trailer. */
function backupWith(sql: string): string {
  const dir = caseDir(sandbox);
  const text = gunzipSync(readFileSync(goodGz)).toString('utf8');
  const trailer = text.lastIndexOf('-- PostgreSQL database dump complete');
  const file = join(dir, basename(goodGz));
  writeFileSync(file, gzipSync(text.slice(0, trailer) + `${sql}\n` + text.slice(trailer)));
  resign(file);
  return dir;
}

describe('dr.drill', () => {
  it('restores the newest backup into a scratch database, times it and checks it against the targets', async () => {
    const { outcome, facts, log } = await runner.run(drDrill, { backups: { dir: caseDir(sandbox, [goodGz]) } });
    expect(outcome.status, outcome.summary).toBe('succeeded');
    expect(outcome.summary).toMatch(
      /^restored .*\.sql\.gz into a scratch database: RTO [\d.]+ (ms|s) \(target 1h\), RPO [\d.]+ (ms|s) \(target 24h\); rows backup\/live: vendor_equipment \d+\/\d+, threat_intelligence \d+\/\d+$/,
    );
    expect(outcome.metrics).toMatchObject({ rtoTargetMs: 3_600_000, rpoTargetMs: 86_400_000 });
    expect(outcome.metrics!.recoveryMs).toBeGreaterThanOrEqual(outcome.metrics!.restoreMs!);
    expect(outcome.details).toMatchObject({
      scratchDropped: true,
      counts: [
        { table: 'vendor_equipment', backup: rows.vendor_equipment, live: rows.vendor_equipment, difference: 0 },
        { table: 'threat_intelligence', backup: rows.threat_intelligence, live: rows.threat_intelligence, difference: 0 },
      ],
    });
    expect(facts.drDrill as DrDrillFacts).toMatchObject({ recoveryMs: outcome.metrics!.recoveryMs, rtoTargetMs: 3_600_000 });
    expect(await scratchDatabases()).toBe('');
    expect(log.join('\n') + JSON.stringify(outcome)).not.toContain(sandbox.postgres.password);
  });

  it('flags a missed RTO with both numbers', async () => {
    const { outcome } = await runner.run(drDrill, { backups: { dir: backupWith('SELECT pg_sleep(1.5);') }, dr: { 'rto-target': '1s' } });
    expect(outcome.status, outcome.summary).toBe('warning');
    const finding = outcome.findings!.find((entry) => entry.title === 'Recovery time objective missed');
    expect(finding?.evidence).toMatch(/took [\d.]+ s; dr\.rto-target is 1\.0 s/);
    expect(outcome.metrics!.recoveryMs).toBeGreaterThan(1500);
    expect(await scratchDatabases()).toBe('');
  });

  it('flags a missed RPO when the newest backup is older than the target', async () => {
    const dir = caseDir(sandbox, [goodGz]);
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    utimesSync(join(dir, basename(goodGz)), twoDaysAgo, twoDaysAgo);
    const { outcome } = await runner.run(drDrill, { backups: { dir } });
    expect(outcome.status).toBe('warning');
    expect(outcome.findings!.find((entry) => entry.title === 'Recovery point objective missed')?.evidence).toMatch(
      / is 2d 0h old; dr\.rpo-target is 24h: a disaster now loses that much$/,
    );
    expect(outcome.metrics!.backupAgeMs).toBeGreaterThan(47 * 3_600_000);
  });

  it('reports rows a recovery would lose when the live database moved on', async () => {
    await sandbox.psql("insert into vendor_equipment (vendor, model, serial) values ('dr', 'drill', 'SN-DR')", 'ner11_db');
    try {
      const { outcome } = await runner.run(drDrill, { backups: { dir: caseDir(sandbox, [goodGz]) } });
      expect(outcome.status).toBe('succeeded');
      expect(outcome.findings).toContainEqual(
        expect.objectContaining({
          severity: 'info',
          evidence: expect.stringContaining(`vendor_equipment: backup ${rows.vendor_equipment}, live ${rows.vendor_equipment + 1}`),
        }),
      );
    } finally {
      await sandbox.psql("delete from vendor_equipment where serial = 'SN-DR'", 'ner11_db');
    }
  });

  it('fails when the restore fails, and still drops the scratch database', async () => {
    const { outcome, facts } = await runner.run(drDrill, { backups: { dir: backupWith('SELECT * FROM no_such_table;') } });
    expect(outcome.status).toBe('failed');
    expect(outcome.summary).toMatch(
      /DR drill: restoring .* failed: restoring .* into database mw_dr_[0-9a-f]{12} on .* failed \(exit code 3\).*no_such_table/s,
    );
    expect(outcome.details).toMatchObject({ scratchDropped: true });
    expect(outcome.findings?.[0]).toMatchObject({ severity: 'critical', title: 'The newest backup does not restore' });
    expect(facts.drDrill).toBeUndefined();
    expect(await scratchDatabases()).toBe('');
  });

  it('fails when the backup lacks an integrity table', async () => {
    const { outcome } = await runner.run(drDrill, { backups: { dir: backupWith('DROP TABLE public.threat_intelligence;') } });
    expect(outcome.status).toBe('failed');
    expect(outcome.summary).toMatch(/lacks integrity table\(s\) threat_intelligence/);
    expect(await scratchDatabases()).toBe('');
  });

  it('fails without a backup to recover from', async () => {
    const { outcome } = await runner.run(drDrill, { backups: { dir: caseDir(sandbox) } });
    expect(outcome.status).toBe('failed');
    expect(outcome.summary).toMatch(/^DR drill impossible: no backup matching ner11_db_\* in /);
    expect(outcome.findings?.[0]).toMatchObject({ severity: 'critical', title: 'No backup to recover from' });
  });

  it('fails on a damaged backup before creating anything', async () => {
    const dir = caseDir(sandbox, [goodGz]);
    writeFileSync(join(dir, basename(goodGz)), readFileSync(goodGz).subarray(0, 2000));
    resign(join(dir, basename(goodGz)));
    const { outcome } = await runner.run(drDrill, { backups: { dir } });
    expect(outcome.status).toBe('failed');
    expect(outcome.findings?.[0]).toMatchObject({ severity: 'critical', title: 'The newest backup is damaged' });
    expect(await scratchDatabases()).toBe('');
  });

  it('drops the scratch database when the drill is cancelled mid-restore', async () => {
    const controller = new AbortController();
    const running = runner.run(drDrill, { backups: { dir: backupWith('SELECT pg_sleep(30);') } }, {}, controller.signal);
    // Cancel once the scratch database exists and the restore is sleeping in it.
    for (
      let i = 0;
      i < 200 && !(await sandbox.psql("select count(*) from pg_stat_activity where datname like 'mw_dr_%' and query like '%pg_sleep%'")).startsWith('1');
      i++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    controller.abort();
    const { outcome } = await running;
    expect(outcome.status).toBe('failed');
    expect(outcome.details).toMatchObject({ scratchDropped: true });
    expect(await scratchDatabases()).toBe('');
  });
});
