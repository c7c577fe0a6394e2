import { copyFileSync, statSync, truncateSync } from 'node:fs';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupFresh } from '../../src/steps/backup/backup-fresh.js';
import { rollback } from '../../src/steps/backup/restore-backup.js';
import type { BackupRecord, WindowFacts } from '../../src/steps/step.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { caseDir, caseRunner, resign, rowCount, watchCommandLines } from './backup-cases.js';

let sandbox: Sandbox;
let runner: ReturnType<typeof caseRunner>;
/** The window's fresh backup, taken once: the rollback point of every case. */
let dir: string;
let window: WindowFacts;
let backup: BackupRecord;
let backupRows: Record<string, number>;

beforeAll(async () => {
  sandbox = await startSandbox();
  runner = caseRunner(sandbox);
  dir = caseDir(sandbox);
  window = (await runner.run(backupFresh, { backups: { dir } })).facts;
  backup = window.backup!;
  backupRows = { vendor_equipment: await rowCount(sandbox, 'vendor_equipment'), threat_intelligence: await rowCount(sandbox, 'threat_intelligence') };
});
afterAll(async () => {
  await runner?.close();
  await sandbox?.stop();
});

const databases = () => sandbox.psql("select string_agg(datname, ',' order by datname) from pg_database where datname like 'ner11_db%'");
const insertRows = (n: number) =>
  sandbox.psql(`insert into vendor_equipment (vendor, model, serial) select 'after', 'backup', 'r' || g from generate_series(1, ${n}) g`, 'ner11_db');

describe('rollback (restoreWindowBackup)', () => {
  it('refuses when this window recorded no backup, rather than restoring the newest file', async () => {
    const { outcome } = await runner.run(rollback, { backups: { dir: caseDir(sandbox) } }, {});
    expect(outcome.status).toBe('failed');
    expect(outcome.summary).toBe('refusing to roll back ner11_db: this window recorded no backup of its own (backup.fresh or backup.verify did not succeed)');
    expect(await databases()).toBe('ner11_db');
  });

  it('refuses when the backup file changed since the window recorded it', async () => {
    const tampered = { backup: { ...backup, sha256: 'a'.repeat(64) } };
    const { outcome } = await runner.run(rollback, { backups: { dir } }, tampered);
    expect(outcome.status).toBe('failed');
    expect(outcome.summary).toContain(`differs from the one recorded for this window (${'a'.repeat(64)})`);
    expect(await databases()).toBe('ner11_db');
  });

  it('leaves the live database untouched when the restore fails', async () => {
    const damaged = `${caseDir(sandbox, [backup.path])}/${basename(backup.path)}`;
    truncateSync(damaged, Math.floor(statSync(damaged).size * 0.7));
    resign(damaged);
    const broken: WindowFacts = { backup: { ...backup, path: damaged, sha256: undefined } };
    const before = await rowCount(sandbox, 'vendor_equipment');
    const { outcome } = await runner.run(rollback, { backups: { dir } }, broken);
    expect(outcome.status).toBe('failed');
    expect(outcome.summary).toMatch(
      /^rollback of ner11_db failed before the swap; ner11_db is untouched: restoring .* into database ner11_db_restore_\d{8}_\d{6}/,
    );
    expect(await databases()).toBe('ner11_db');
    expect(await rowCount(sandbox, 'vendor_equipment')).toBe(before);
  });

  it('gives up at the swap when sessions on the database cannot be ended, and changes nothing', async () => {
    // A superuser session: the ner11 role may not terminate it.
    const sleeper = sandbox.psql('select pg_sleep(30)', 'ner11_db').catch(() => 'terminated');
    try {
      await expect.poll(() => sandbox.psql("select count(*) from pg_stat_activity where query = 'select pg_sleep(30)'"), { timeout: 5000 }).toBe('1');
      const { outcome } = await runner.run(rollback, { backups: { dir } }, { ...window });
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toMatch(
        /^rollback of ner11_db failed at the swap; ner11_db is untouched: sessions on ner11_db would not end within 5 s: pid \d+ \(postgres, psql\): .*superuser/,
      );
      expect(await databases()).toBe('ner11_db');
      expect(await sandbox.psql("select datallowconn from pg_database where datname = 'ner11_db'")).toBe('t');
    } finally {
      await sandbox.psql("select pg_terminate_backend(pid) from pg_stat_activity where query = 'select pg_sleep(30)'");
      await sleeper;
    }
  });

  it("restores the window's own backup (not a newer file), swaps it in and keeps the old database", async () => {
    await insertRows(25);
    // A newer backup (with the 25 rows) lands in the directory: the runbook's `ls -t | head -1` would pick it.
    const newer = `${dir}/ner11_db_29991231_235959.dump`;
    copyFileSync(await sandbox.makeBackup('custom'), newer);
    resign(newer);

    // Database-level settings and privileges are not in a pg_dump without --create: the rollback copies them.
    await sandbox.psql("ALTER DATABASE ner11_db SET work_mem = '8MB'; REVOKE CONNECT ON DATABASE ner11_db FROM PUBLIC");
    const properties = (name: string) =>
      sandbox.psql(
        `select array(select a::text from unnest(d.datacl) a order by 1)::text || ' ' || s.setconfig::text from pg_database d join pg_db_role_setting s on s.setdatabase = d.oid and s.setrole = 0 where d.datname = '${name}'`,
      );
    const before = await properties('ner11_db');
    expect(before).toBe('{=T/ner11,ner11=CTc/ner11} {work_mem=8MB}');

    const watcher = watchCommandLines(sandbox.postgres.password);
    const { outcome, log } = await runner.run(rollback, { backups: { dir } }, { ...window });
    expect(watcher.stop()).toEqual([]);
    expect(outcome.status, outcome.summary).toBe('succeeded');
    const kept = (outcome.details as { keptDatabase: string }).keptDatabase;
    expect(kept).toMatch(/^ner11_db_before_rollback_\d{8}_\d{6}$/);
    expect(outcome.summary).toContain(`kept as ${kept} for forensics`);
    expect(outcome.summary).toContain(`restored from ${backup.path} (fresh backup of ${backup.createdAt})`);

    expect(await rowCount(sandbox, 'vendor_equipment')).toBe(backupRows.vendor_equipment);
    expect(await rowCount(sandbox, 'threat_intelligence')).toBe(backupRows.threat_intelligence);
    expect(await rowCount(sandbox, 'vendor_equipment', kept)).toBe(backupRows.vendor_equipment + 25);
    expect(await databases()).toBe(`ner11_db,${kept}`);
    // Same owner as before, and the old one still accepts connections for forensics.
    expect(
      await sandbox.psql(
        "select string_agg(datname || ':' || pg_get_userbyid(datdba) || ':' || datallowconn, ',' order by datname) from pg_database where datname like 'ner11_db%'",
      ),
    ).toBe(`ner11_db:ner11:true,${kept}:ner11:true`);
    expect(await properties('ner11_db')).toBe(before);
    expect(await properties(kept)).toBe(before);
    expect((outcome.details as { counts: unknown[] }).counts).toEqual([
      {
        table: 'vendor_equipment',
        beforeRollback: backupRows.vendor_equipment + 25,
        backup: backupRows.vendor_equipment,
        afterRollback: backupRows.vendor_equipment,
      },
      {
        table: 'threat_intelligence',
        beforeRollback: backupRows.threat_intelligence,
        backup: backupRows.threat_intelligence,
        afterRollback: backupRows.threat_intelligence,
      },
    ]);
    expect(outcome.findings?.[0]?.title).toBe(`Previous database kept as ${kept}`);
    expect(log.join('\n')).not.toContain(sandbox.postgres.password);
    expect(JSON.stringify(outcome)).not.toContain(sandbox.postgres.password);
    // The app reconnects to the restored database.
    const health = await fetch(`${sandbox.app!.url}/api/v1/db/health`);
    expect(await health.json()).toEqual({ status: 'ok', rows: backupRows.vendor_equipment });
  });
});
