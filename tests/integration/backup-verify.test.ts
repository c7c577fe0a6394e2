import { statSync, truncateSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupVerify, type CountComparison } from '../../src/steps/backup/backup-verify.js';
import type { BackupRecord } from '../../src/steps/step.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { caseDir, caseRunner, resign, rowCount, sandboxBackups } from './backup-cases.js';

let sandbox: Sandbox;
let runner: ReturnType<typeof caseRunner>;
let goodGz: string;
let goodDump: string;
let backupCounts: Record<string, number>;

beforeAll(async () => {
  sandbox = await startSandbox({ app: false });
  runner = caseRunner(sandbox);
  goodGz = sandboxBackups(sandbox, '.sql.gz')[0]!;
  goodDump = await sandbox.makeBackup('custom');
  backupCounts = { vendor_equipment: await rowCount(sandbox, 'vendor_equipment'), threat_intelligence: await rowCount(sandbox, 'threat_intelligence') };
});
afterAll(async () => {
  await runner?.close();
  await sandbox?.stop();
});

const tempDatabases = () => sandbox.psql("select string_agg(datname, ',') from pg_database where datname like 'mw_verify_%'");
const counts = (details: unknown) => (details as { counts: CountComparison[] }).counts;

describe('backup.verify', () => {
  it('test-restores a plain .sql.gz backup, compares counts, drops the temporary database', async () => {
    const dir = caseDir(sandbox, [goodGz]);
    const { outcome, facts, log } = await runner.run(backupVerify, { backups: { dir } });
    expect(outcome.status, outcome.summary).toBe('succeeded');
    expect(counts(outcome.details)).toEqual([
      { table: 'vendor_equipment', backup: backupCounts.vendor_equipment, live: backupCounts.vendor_equipment, difference: 0 },
      { table: 'threat_intelligence', backup: backupCounts.threat_intelligence, live: backupCounts.threat_intelligence, difference: 0 },
    ]);
    expect(outcome.details).toMatchObject({ tempDatabaseDropped: true, source: 'newest in the backup directory' });
    expect(await tempDatabases()).toBe('');
    expect(facts.backup).toMatchObject({ path: `${dir}/${basename(goodGz)}`, format: 'plain-gz', kind: 'verified' });
    expect(log.join('\n')).not.toContain(sandbox.postgres.password);
    expect(JSON.stringify(outcome)).not.toContain(sandbox.postgres.password);
  });

  it('test-restores a custom-format dump with pg_restore', async () => {
    const { outcome } = await runner.run(backupVerify, { backups: { dir: caseDir(sandbox, [goodDump]) } });
    expect(outcome.status, outcome.summary).toBe('succeeded');
    expect(counts(outcome.details).map((entry) => entry.backup)).toEqual([backupCounts.vendor_equipment, backupCounts.threat_intelligence]);
    expect(await tempDatabases()).toBe('');
  });

  it("verifies this window's fresh backup rather than the newest file, and keeps it as the rollback point", async () => {
    const fresh: BackupRecord = {
      path: `${caseDir(sandbox, [goodDump])}/${basename(goodDump)}`,
      format: 'custom',
      sizeBytes: statSync(goodDump).size,
      createdAt: new Date().toISOString(),
      kind: 'fresh',
    };
    const newer = caseDir(sandbox, [goodGz]);
    const { outcome, facts } = await runner.run(backupVerify, { backups: { dir: newer } }, { backup: fresh });
    expect(outcome.status, outcome.summary).toBe('succeeded');
    expect(outcome.details).toMatchObject({ source: 'fresh backup of this window', file: { path: fresh.path } });
    expect(facts.backup).toEqual(fresh);
  });

  it('fails on a truncated custom dump whose restore breaks, and still drops the temporary database', async () => {
    const dir = caseDir(sandbox, [goodDump]);
    const file = `${dir}/${basename(goodDump)}`;
    truncateSync(file, Math.floor(statSync(file).size * 0.7));
    resign(file);
    const { outcome, facts } = await runner.run(backupVerify, { backups: { dir } });
    expect(outcome.status).toBe('failed');
    expect(outcome.summary).toMatch(
      /test restore of .* failed: restoring .* into database mw_verify_[0-9a-f]{12} on .* failed \(exit code 1\).*could not read from input file/s,
    );
    expect(outcome.details).toMatchObject({ tempDatabaseDropped: true });
    expect(await tempDatabases()).toBe('');
    expect(facts.backup).toBeUndefined();
  });

  it('fails on a wrong checksum before restoring anything', async () => {
    const dir = caseDir(sandbox, [goodGz]);
    writeFileSync(`${dir}/${basename(goodGz)}.sha256`, `${'f'.repeat(64)}  ${basename(goodGz)}\n`);
    const { outcome, facts } = await runner.run(backupVerify, { backups: { dir } });
    expect(outcome.status).toBe('failed');
    expect(outcome.summary).toContain(`does not match ${dir}/${basename(goodGz)}.sha256`);
    expect((outcome.details as { tempDatabase?: string }).tempDatabase).toBeUndefined();
    expect(facts.backup).toBeUndefined();
  });

  it('fails clearly when there is no backup at all', async () => {
    const dir = caseDir(sandbox);
    const { outcome } = await runner.run(backupVerify, { backups: { dir } });
    expect(outcome.status).toBe('failed');
    expect(outcome.summary).toBe(`backup not usable: no backup matching ner11_db_* in ${dir}`);
  });

  it('reports live rows written since the backup without failing', async () => {
    await sandbox.psql("insert into vendor_equipment (vendor, model, serial) select 'v', 'm', 's' || g from generate_series(1, 7) g", 'ner11_db');
    try {
      const { outcome } = await runner.run(backupVerify, { backups: { dir: caseDir(sandbox, [goodGz]) } });
      expect(outcome.status, outcome.summary).toBe('succeeded');
      expect(counts(outcome.details)[0]).toEqual({
        table: 'vendor_equipment',
        backup: backupCounts.vendor_equipment,
        live: backupCounts.vendor_equipment + 7,
        difference: 7,
      });
      expect(outcome.findings?.[0]).toMatchObject({ severity: 'info', title: 'Row counts differ between the backup and the live database' });
    } finally {
      await sandbox.psql("delete from vendor_equipment where vendor = 'v' and model = 'm'", 'ner11_db');
    }
  });

  it('fails when an integrity table is missing from the restored copy', async () => {
    await sandbox.psql('create table late_table (id int); insert into late_table values (1); alter table late_table owner to ner11', 'ner11_db');
    try {
      const { outcome } = await runner.run(backupVerify, {
        backups: { dir: caseDir(sandbox, [goodGz]) },
        database: { 'integrity-tables': ['vendor_equipment', 'public.late_table'] },
      });
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toMatch(/lacks integrity table public\.late_table$/);
      expect(await tempDatabases()).toBe('');
    } finally {
      await sandbox.psql('drop table late_table', 'ner11_db');
    }
  });

  it('drops test-restore databases left behind by an interrupted run', async () => {
    await sandbox.psql('create database mw_verify_0123456789ab owner ner11');
    const { outcome, log } = await runner.run(backupVerify, { backups: { dir: caseDir(sandbox, [goodGz]) } });
    expect(outcome.status, outcome.summary).toBe('succeeded');
    expect(outcome.details).toMatchObject({ leftoversDropped: ['mw_verify_0123456789ab'] });
    expect(log.join('\n')).toContain('dropped test-restore databases left by an interrupted run: mw_verify_0123456789ab');
    expect(await tempDatabases()).toBe('');
  });
});
