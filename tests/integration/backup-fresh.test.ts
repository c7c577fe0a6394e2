import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupFresh } from '../../src/steps/backup/backup-fresh.js';
import type { BackupRecord } from '../../src/steps/step.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { caseDir, caseRunner, watchCommandLines } from './backup-cases.js';

let sandbox: Sandbox;
let runner: ReturnType<typeof caseRunner>;

beforeAll(async () => {
  sandbox = await startSandbox({ app: false });
  runner = caseRunner(sandbox);
});
afterAll(async () => {
  await runner?.close();
  await sandbox?.stop();
});

/** Holds an ACCESS EXCLUSIVE lock on vendor_equipment (pg_dump must wait for it) until released. */
async function holdLock(): Promise<{ release(): Promise<void> }> {
  const holder = sandbox
    .psql('BEGIN; LOCK TABLE vendor_equipment IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120) /* mw-hold-lock */; COMMIT;', 'ner11_db')
    .catch(() => 'terminated');
  const release = async () => {
    await sandbox.psql("select pg_terminate_backend(pid) from pg_stat_activity where query like '%/* mw-hold-lock */%' and pid <> pg_backend_pid()");
    await holder;
  };
  const lockedQuery =
    "select count(*) from pg_locks l join pg_class c on c.oid = l.relation where c.relname = 'vendor_equipment' and l.mode = 'AccessExclusiveLock' and l.granted";
  await expect.poll(() => sandbox.psql(lockedQuery, 'ner11_db'), { timeout: 10_000 }).toBe('1');
  return { release };
}

describe('backup.fresh', () => {
  it('the command-line watcher sees a secret in argv (control for the checks below)', async () => {
    const watcher = watchCommandLines(sandbox.postgres.password);
    await new Promise<void>((resolve) => spawn('sh', ['-c', 'sleep 0.3', 'sh', sandbox.postgres.password]).on('close', () => resolve()));
    expect(watcher.stop()).toHaveLength(1);
  });

  it('writes a custom dump and a sha256sum sidecar, checks them, and records the rollback point', async () => {
    const dir = caseDir(sandbox);
    const watcher = watchCommandLines(sandbox.postgres.password);
    const { outcome, facts, log } = await runner.run(backupFresh, { backups: { dir } });
    expect(watcher.stop()).toEqual([]);
    expect(outcome.status, outcome.summary).toBe('succeeded');

    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^ner11_db_\d{8}_\d{6}_window\.dump$/);
    expect(files[1]).toBe(`${files[0]}.sha256`);
    const path = `${dir}/${files[0]}`;
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // The sidecar is in sha256sum format: the standard tool accepts it.
    expect(spawnSync('sha256sum', ['-c', files[1]!], { cwd: dir, encoding: 'utf8' }).stdout).toContain(`${files[0]}: OK`);
    const listing = spawnSync('pg_restore', ['--list', path], { encoding: 'utf8' });
    expect(listing.status).toBe(0);
    expect(listing.stdout).toContain('TABLE DATA public vendor_equipment');

    const backup = facts.backup as BackupRecord;
    expect(backup).toMatchObject({ path, format: 'custom', kind: 'fresh', sizeBytes: statSync(path).size });
    expect(readFileSync(`${path}.sha256`, 'utf8')).toBe(`${backup.sha256}  ${files[0]}\n`);
    expect(Date.now() - Date.parse(backup.createdAt)).toBeLessThan(60_000);
    expect(log.join('\n')).not.toContain(sandbox.postgres.password);
    expect(JSON.stringify(outcome)).not.toContain(sandbox.postgres.password);
  });

  it('replaces a verified backup fact: the fresh one is the better rollback point', async () => {
    const verified: BackupRecord = { path: '/old.sql.gz', format: 'plain-gz', sizeBytes: 1, createdAt: '2026-01-01T00:00:00Z', kind: 'verified' };
    const { outcome, facts } = await runner.run(backupFresh, { backups: { dir: caseDir(sandbox) } }, { backup: verified });
    expect(outcome.status).toBe('succeeded');
    expect(facts.backup?.kind).toBe('fresh');
  });

  it('fails naming pg_dump and its exit code when the dump fails, leaving no file behind', async () => {
    const dir = caseDir(sandbox);
    const run = runner.run(backupFresh, { backups: { dir }, database: { name: 'no_such_db' } });
    await expect(run).rejects.toThrow(/backing up no_such_db to .*no_such_db_\d{8}_\d{6}_window\.dump \(pg_dump -Fc\) on .* failed \(exit code 10\)/);
    await expect(run).rejects.toThrow(/database "no_such_db" does not exist/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('gives up on a lock it cannot get within lock-timeout and removes the partial dump', async () => {
    const dir = caseDir(sandbox);
    const lock = await holdLock();
    try {
      const facts = {};
      await expect(runner.run(backupFresh, { backups: { dir } }, facts)).rejects.toThrow(/exit code 10\).*\n.*Query was: LOCK TABLE public\.vendor_equipment/);
      expect(readdirSync(dir)).toEqual([]);
      expect(facts).toEqual({});
    } finally {
      await lock.release();
    }
  });

  it('removes the partial dump when the step is cancelled mid-dump', async () => {
    const dir = caseDir(sandbox);
    const lock = await holdLock();
    try {
      const controller = new AbortController();
      const run = runner.run(backupFresh, { backups: { dir }, database: { 'lock-timeout': '60s' } }, {}, controller.signal);
      await expect.poll(() => readdirSync(dir), { timeout: 20_000 }).toEqual([expect.stringMatching(/_window\.dump\.partial$/)]);
      controller.abort();
      await expect(run).rejects.toThrow(/timed out/);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await lock.release();
    }
  });

  it('refuses to start when the dump would fill the backup filesystem past disk.fail-percent', async () => {
    const dir = caseDir(
      sandbox,
      readdirSync(sandbox.backupsDir)
        .map((name) => `${sandbox.backupsDir}/${name}`)
        .filter((file) => file.endsWith('.gz')),
    );
    const run = runner.run(backupFresh, { backups: { dir }, disk: { 'warn-percent': 1, 'fail-percent': 2 } });
    await expect(run).rejects.toThrow(/not enough space for a new backup in .*disk\.fail-percent 2/);
    expect(readdirSync(dir).filter((name) => name.includes('_window'))).toEqual([]);
  });
});
