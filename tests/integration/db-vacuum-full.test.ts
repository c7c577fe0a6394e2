import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError } from '../../src/database/tracked-statement.js';
import type { StepOutcome } from '../../src/steps/step.js';
import { vacuumFull } from '../../src/steps/database/vacuum-full.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { stepHarness, type StepHarness } from '../support/step-harness.js';
import { integrityCounts, relfilenodes, superuserClient, timedQuery, waitForLockWaiter } from './db-helpers.js';

interface Details {
  rewritten: Array<{ table: string; bytesBefore: number; bytesAfter: number; relfilenodeBefore: number; relfilenodeAfter: number }>;
  notRewritten: Array<{ table: string; reason: string; message: string }>;
}

const LOCK_TIMEOUT_MS = 2000;

function postgresIds(): { uid: number; gid: number } {
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
  };
}

function freeBytes(dir: string): number {
  const stats = statfsSync(dir);
  return stats.bavail * stats.bsize;
}

describe('db.vacuum-full', () => {
  let sandbox: Sandbox;
  let harness: StepHarness;
  let su: pg.Client;
  let countsBefore: string;
  /** A 16 MiB filesystem holding a tablespace with one bloated table, nearly full. */
  let smallFs: string | undefined;
  let mountProblem = '';

  beforeAll(async () => {
    sandbox = await startSandbox({ app: false });
    harness = stepHarness(sandbox, { config: { database: { 'data-directory': sandbox.postgres.dataDir } } });
    su = await superuserClient(sandbox);
    countsBefore = await integrityCounts(sandbox);

    const dir = join(sandbox.root, 'small-fs');
    mkdirSync(dir);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dir], { stdio: 'pipe' });
      smallFs = dir;
    } catch (error) {
      mountProblem = `cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]})`;
      return;
    }
    mkdirSync(join(dir, 'ts'));
    const { uid, gid } = postgresIds();
    chownSync(join(dir, 'ts'), uid, gid);
    await sandbox.psql(`CREATE TABLESPACE small_ts OWNER ner11 LOCATION '${join(dir, 'ts')}'`);
    await sandbox.psql(
      `SET ROLE ner11;
       CREATE TABLE far_away (id int, pad text) WITH (autovacuum_enabled = false) TABLESPACE small_ts;
       INSERT INTO far_away SELECT g, repeat('p', 150) FROM generate_series(1, 10000) g;
       UPDATE far_away SET pad = pad || 'a';
       UPDATE far_away SET pad = pad || 'b';
       VACUUM ANALYZE far_away;`,
      'ner11_db',
    );
    // Leave 3 MiB: less than the table plus the 10% margin.
    writeFileSync(join(dir, 'filler'), Buffer.alloc(freeBytes(dir) - 3 * 1024 * 1024));
  });

  afterAll(async () => {
    await su?.end();
    await harness?.close();
    if (smallFs) {
      await sandbox.psql('DROP TABLE IF EXISTS far_away', 'ner11_db').catch(() => undefined);
      await sandbox.psql('DROP TABLESPACE IF EXISTS small_ts').catch(() => undefined);
      execFileSync('umount', ['-l', smallFs]);
    }
    await sandbox?.stop();
  });

  it('is destructive and idempotent; degraded online, downtime when configured so', () => {
    const step = vacuumFull(harness.config);
    expect(step).toMatchObject({ id: 'db.vacuum-full', impact: 'degraded', destructive: true, idempotent: true });
    expect(step.commands.join('\n')).toMatch(/df -Pk[\s\S]*SET lock_timeout = '2000ms'; VACUUM \(FULL, ANALYZE\)/);
    const downtime = stepHarness(sandbox, { config: { database: { 'vacuum-full-mode': 'downtime' } } });
    expect(vacuumFull(downtime.config).impact).toBe('downtime');
    return downtime.close();
  });

  it('refuses to rewrite when it cannot tell which filesystem holds the data directory', async () => {
    // The role may not read data_directory, and none is configured.
    const blind = stepHarness(sandbox, { config: { database: { 'data-directory': undefined } } });
    try {
      const before = await relfilenodes(sandbox);
      const outcome = await blind.run(vacuumFull(blind.config));
      expect(outcome.status).toBe('warning');
      expect(outcome.metrics).toMatchObject({ tablesRewritten: 0 });
      const refused = (outcome.details as Details).notRewritten
        .filter((table) => /set database\.data-directory/.test(table.message))
        .map((table) => table.table);
      expect(refused.sort()).toEqual(['public.threat_intelligence', 'public.vendor_equipment']);
      expect(await relfilenodes(sandbox)).toEqual(before);
    } finally {
      await blind.close();
    }
  });

  describe('with a busy table and a nearly full tablespace', () => {
    let outcome: StepOutcome;
    let before: Record<string, number>;
    let readerMs = 0;
    let elapsedMs = 0;
    let smallFsFreeBefore = 0;

    beforeAll(async () => {
      before = await relfilenodes(sandbox);
      if (smallFs) smallFsFreeBefore = freeBytes(smallFs);
      await su.query('BEGIN');
      await su.query('LOCK TABLE vendor_equipment IN ACCESS SHARE MODE'); // an application transaction left open
      try {
        const started = Date.now();
        const running = harness.run(vacuumFull(harness.config));
        await waitForLockWaiter(su, 'vendor_equipment');
        // Queued behind VACUUM FULL's pending ACCESS EXCLUSIVE request: released when lock_timeout fires.
        readerMs = await timedQuery(sandbox, 'SELECT count(*) FROM vendor_equipment');
        outcome = await running;
        elapsedMs = Date.now() - started;
      } finally {
        await su.query('COMMIT');
      }
    });

    it('rewrites the bloated table that is free and reclaims its space', async () => {
      const details = outcome.details as Details;
      const threat = details.rewritten.find((table) => table.table === 'public.threat_intelligence')!;
      expect(threat.relfilenodeAfter).not.toBe(threat.relfilenodeBefore);
      expect(threat.bytesAfter).toBeLessThan(threat.bytesBefore / 2);
      expect(details.rewritten.map((table) => table.table)).toEqual(['public.threat_intelligence']);
      expect(outcome.metrics!.reclaimedBytes).toBe(threat.bytesBefore - threat.bytesAfter);
      expect(outcome.metrics!.reclaimedBytes).toBeGreaterThan(5 * 1024 * 1024);
      const after = await relfilenodes(sandbox);
      expect(after.threat_intelligence).not.toBe(before.threat_intelligence);
      // The small clean tables are left alone.
      for (const table of ['users', 'assets', 'audit_log']) expect(after[table]).toBe(before[table]);
    });

    it('skips the busy table within lock_timeout, names it, and the reader waited no longer than that', async () => {
      expect(outcome.status).toBe('warning');
      const skipped = (outcome.details as Details).notRewritten.find((table) => table.table === 'public.vendor_equipment')!;
      expect(skipped.reason).toBe('lock');
      expect(outcome.summary).toContain('public.vendor_equipment (lock busy)');
      expect(outcome.findings!.some((finding) => finding.title === 'public.vendor_equipment was not rewritten: its lock was busy')).toBe(true);
      expect((await relfilenodes(sandbox)).vendor_equipment).toBe(before.vendor_equipment);
      expect(readerMs).toBeLessThan(LOCK_TIMEOUT_MS + 1000);
      expect(elapsedMs).toBeLessThan(LOCK_TIMEOUT_MS + 10_000);
    });

    it('refuses, before starting, a table whose copy would not fit on its filesystem', async (ctx) => {
      if (!smallFs) ctx.skip(mountProblem);
      const refused = (outcome.details as Details).notRewritten.find((table) => table.table === 'public.far_away')!;
      expect(refused.reason).toBe('disk');
      expect(refused.message).toMatch(
        new RegExp(`^refused: the copy needs [\\d.]+ MiB free on ${join(smallFs!, 'ts')} \\(table [\\d.]+ MiB \\+ 10%\\), only 3\\.\\d+ MiB available$`),
      );
      expect(outcome.summary).toContain('public.far_away (not enough disk)');
      expect((await relfilenodes(sandbox)).far_away).toBe(before.far_away);
      expect(freeBytes(smallFs!)).toBe(smallFsFreeBefore); // nothing was written there
      expect(outcome.metrics!.tablesSkipped).toBe(2);
    });
  });

  it('rewrites the formerly busy table on the next run and leaves the done one alone', async () => {
    const before = await relfilenodes(sandbox);
    const outcome = await harness.run(vacuumFull(harness.config));
    const rewritten = (outcome.details as Details).rewritten.map((table) => table.table);
    expect(rewritten).toEqual(['public.vendor_equipment']);
    const after = await relfilenodes(sandbox);
    expect(after.vendor_equipment).not.toBe(before.vendor_equipment);
    expect(after.threat_intelligence).toBe(before.threat_intelligence);
    expect(outcome.metrics!.reclaimedBytes).toBeGreaterThan(3 * 1024 * 1024);
    expect(outcome.status).toBe(smallFs ? 'warning' : 'succeeded'); // far_away still does not fit
  });

  it('says there is nothing to do once no table is bloated', async () => {
    if (smallFs) await sandbox.psql('DROP TABLE far_away', 'ner11_db');
    const outcome = await harness.run(vacuumFull(harness.config));
    expect(outcome.status).toBe('skipped');
    expect(outcome.summary).toMatch(/^no table needs a rewrite: none of 5 has estimated bloat >= 30% and at least 64\.0 KiB$/);
  });

  it("rewrites every table with vacuum-full: 'all'", async () => {
    const all = stepHarness(sandbox, { config: { database: { 'data-directory': sandbox.postgres.dataDir, 'vacuum-full': 'all' } } });
    try {
      const before = await relfilenodes(sandbox);
      const outcome = await all.run(vacuumFull(all.config));
      expect(outcome.status).toBe('succeeded');
      expect(outcome.metrics!.tablesRewritten).toBe(5);
      const after = await relfilenodes(sandbox);
      for (const table of ['users', 'assets', 'audit_log', 'vendor_equipment', 'threat_intelligence']) expect(after[table]).not.toBe(before[table]);
    } finally {
      await all.close();
    }
  });

  it('cancels the statement on the server when the step is aborted while it waits', async () => {
    const all = stepHarness(sandbox, { config: { database: { 'data-directory': sandbox.postgres.dataDir, 'vacuum-full': 'all' } } });
    await su.query('BEGIN');
    await su.query('LOCK TABLE users, assets, audit_log, vendor_equipment, threat_intelligence IN ACCESS SHARE MODE');
    try {
      const before = await relfilenodes(sandbox);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 500);
      const started = Date.now();
      await expect(vacuumFull(all.config).run({ ...all.context(), signal: controller.signal })).rejects.toBeInstanceOf(CancelledError);
      expect(Date.now() - started).toBeLessThan(LOCK_TIMEOUT_MS);
      expect(await sandbox.psql("SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'VACUUM (FULL%' AND state = 'active'")).toBe('0');
      expect(await relfilenodes(sandbox)).toEqual(before);
    } finally {
      await su.query('COMMIT');
      await all.close();
    }
    expect(await integrityCounts(sandbox)).toBe(countsBefore);
  });
});
