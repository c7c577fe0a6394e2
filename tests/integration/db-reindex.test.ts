import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reindex } from '../../src/steps/database/reindex.js';
import type { StepOutcome } from '../../src/steps/step.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { stepHarness, type StepHarness } from '../support/step-harness.js';
import { indexValidity, integrityCounts, relfilenodes, superuserClient, timedQuery, waitForWaitingStatement } from './db-helpers.js';

interface Details {
  rebuilt: Array<{ name: string; why: string; bytesBefore: number; bytesAfter: number }>;
  notRebuilt: Array<{ name: string; reason: string; message: string; code?: string; wasInvalid: boolean }>;
  leftoversDropped: string[];
  failedCopiesDropped: string[];
  leftoversRemaining: string[];
}

const names = (items: Array<{ name: string }>) => items.map((item) => item.name).sort();

describe('db.reindex', () => {
  let sandbox: Sandbox;
  let harness: StepHarness;
  let su: pg.Client;
  let countsBefore: string;

  beforeAll(async () => {
    sandbox = await startSandbox({ app: false });
    harness = stepHarness(sandbox);
    su = await superuserClient(sandbox);
    countsBefore = await integrityCounts(sandbox);

    // An invalid index whose data is fine again: a unique build failed on a duplicate since corrected.
    await sandbox.psql("UPDATE assets SET hostname = 'host-2' WHERE id = 1", 'ner11_db');
    await expect(sandbox.psql('SET ROLE ner11; CREATE UNIQUE INDEX CONCURRENTLY assets_hostname_uniq ON assets (hostname);', 'ner11_db')).rejects.toThrow(
      /duplicated/,
    );
    await sandbox.psql("UPDATE assets SET hostname = 'host-1' WHERE id = 1", 'ner11_db');

    // An interrupted REINDEX CONCURRENTLY: it waits for an old snapshot and is cancelled by its statement timeout.
    await su.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await su.query('SELECT count(*) FROM users');
    await expect(sandbox.psql("SET ROLE ner11; SET statement_timeout = '500ms'; REINDEX INDEX CONCURRENTLY audit_log_pkey;", 'ner11_db')).rejects.toThrow(
      /statement timeout/,
    );
    await su.query('COMMIT');
    expect(await indexValidity(sandbox)).toMatchObject({ audit_log_pkey_ccnew: false, assets_hostname_uniq: false, threat_intelligence_source_uniq: false });
  });

  afterAll(async () => {
    await su?.end();
    await harness?.close();
    await sandbox?.stop();
  });

  it('is online and not destructive by default; REINDEX of everything is downtime and destructive', async () => {
    const step = reindex(harness.config);
    expect(step).toMatchObject({ id: 'db.reindex', impact: 'degraded', destructive: false, idempotent: true });
    expect(step.commands.join('\n')).toMatch(/DROP INDEX CONCURRENTLY IF EXISTS[\s\S]*REINDEX INDEX CONCURRENTLY/);
    const whole = stepHarness(sandbox, { config: { database: { reindex: 'database' } } });
    expect(reindex(whole.config)).toMatchObject({ impact: 'downtime', destructive: true });
    await whole.close();
  });

  describe('while an application transaction holds vendor_equipment', () => {
    let outcome: StepOutcome;
    let details: Details;
    let before: Record<string, number>;
    let readerMs = 0;

    beforeAll(async () => {
      before = await relfilenodes(sandbox);
      // Watch from a third session: statements in the holder's transaction would give it a snapshot to wait for.
      const watcher = await superuserClient(sandbox);
      await su.query('BEGIN');
      await su.query('LOCK TABLE vendor_equipment IN ACCESS SHARE MODE');
      try {
        const running = harness.run(reindex(harness.config));
        await waitForWaitingStatement(watcher, 'REINDEX INDEX CONCURRENTLY "public"."vendor_equipment%');
        readerMs = await timedQuery(sandbox, "SELECT count(*) FROM vendor_equipment WHERE serial = 'SN00000001ab'");
        outcome = await running;
        details = outcome.details as Details;
      } finally {
        await su.query('COMMIT');
        await watcher.end();
      }
    });

    it('drops the leftover of the interrupted REINDEX CONCURRENTLY first, and says so', () => {
      expect(details.leftoversDropped).toEqual(['public.audit_log_pkey_ccnew']);
      expect(outcome.metrics!.leftoversDropped).toBe(1);
      expect(outcome.summary).toContain('dropped 1 leftover(s) of an interrupted REINDEX CONCURRENTLY: public.audit_log_pkey_ccnew');
      expect(harness.log.lines).toContain(
        'info: dropped public.audit_log_pkey_ccnew: an invalid copy left behind by an earlier interrupted REINDEX CONCURRENTLY',
      );
    });

    it('rebuilds the invalid index whose data is fine, and the bloated indexes of the free table', async () => {
      const validity = await indexValidity(sandbox);
      expect(validity.assets_hostname_uniq).toBe(true);
      expect(details.rebuilt.find((item) => item.name === 'public.assets_hostname_uniq')!.why).toBe('invalid');
      const after = await relfilenodes(sandbox);
      for (const index of ['threat_intelligence_pkey', 'threat_intelligence_indicator_idx']) {
        expect(after[index]).not.toBe(before[index]);
        const item = details.rebuilt.find((rebuilt) => rebuilt.name === `public.${index}`)!;
        expect(item.why).toMatch(/^~\d+(\.\d)?% bloat$/);
        expect(item.bytesAfter).toBeLessThan(item.bytesBefore / 2);
      }
      // small, clean indexes are left alone
      for (const index of ['users_pkey', 'users_email_key', 'assets_pkey']) expect(after[index]).toBe(before[index]);
      expect(outcome.metrics!.reclaimedBytes).toBeGreaterThan(2 * 1024 * 1024);
      expect(outcome.metrics!.reclaimedBytes).toBe(outcome.metrics!.bytesBefore! - outcome.metrics!.bytesAfter!);
    });

    it('reports the invalid unique index it cannot rebuild, with what to do, and cleans up after the attempt', async () => {
      const failed = details.notRebuilt.find((item) => item.name === 'public.threat_intelligence_source_uniq')!;
      expect(failed).toMatchObject({ reason: 'error', code: '23505', wasInvalid: true });
      const finding = outcome.findings!.find((item) => item.title === 'invalid index public.threat_intelligence_source_uniq cannot be rebuilt')!;
      expect(finding.severity).toBe('warning');
      expect(finding.evidence).toMatch(/Key \(source\)=\(feed-\d+\) is duplicated/);
      expect(finding.action).toContain('DROP INDEX CONCURRENTLY public.threat_intelligence_source_uniq;');
      expect(details.failedCopiesDropped).toContain('public.threat_intelligence_source_uniq_ccnew');
      expect(Object.keys(await indexValidity(sandbox))).not.toContain('threat_intelligence_source_uniq_ccnew');
    });

    it('gives up on the busy table within lock_timeout, names it, and never blocks the reader', async () => {
      expect(outcome.status).toBe('warning');
      expect(readerMs).toBeLessThan(1000);
      // The first index was swapped in before the wait to drop the old copy timed out: rebuilt, old copy left.
      expect(details.rebuilt.map((item) => item.name)).toContain('public.vendor_equipment_serial_idx');
      expect(details.leftoversRemaining).toEqual(['public.vendor_equipment_serial_idx_ccold']);
      expect(outcome.findings!.some((item) => item.title.includes('remain: public.vendor_equipment_serial_idx_ccold'))).toBe(true);
      const skipped = details.notRebuilt.find((item) => item.name === 'public.vendor_equipment_pkey')!;
      expect(skipped.reason).toBe('lock');
      expect(outcome.summary).toContain('skipped (lock busy): public.vendor_equipment_pkey');
      expect((await relfilenodes(sandbox)).vendor_equipment_pkey).toBe(before.vendor_equipment_pkey);
    });
  });

  it('fails the step when rebuilding a valid index fails, and drops the half-built copy', async () => {
    // statement_timeout below lock_timeout: the wait for an old snapshot ends in an error, not a lock timeout.
    const strict = stepHarness(sandbox, { config: { database: { 'lock-timeout': '10s', 'statement-timeout': '1s' } } });
    await su.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await su.query('SELECT count(*) FROM users');
    try {
      const before = await relfilenodes(sandbox);
      const outcome = await strict.run(reindex(strict.config));
      const details = outcome.details as Details;
      expect(outcome.status).toBe('failed');
      expect(details.leftoversDropped).toEqual(['public.vendor_equipment_serial_idx_ccold']);
      const failed = details.notRebuilt.find((item) => item.name === 'public.vendor_equipment_pkey')!;
      expect(failed).toMatchObject({ reason: 'error', code: '57014', wasInvalid: false });
      const finding = outcome.findings!.find((item) => item.title === 'rebuilding public.vendor_equipment_pkey failed')!;
      expect(finding.severity).toBe('critical');
      expect(details.failedCopiesDropped).toContain('public.vendor_equipment_pkey_ccnew');
      expect((await relfilenodes(sandbox)).vendor_equipment_pkey).toBe(before.vendor_equipment_pkey);
    } finally {
      await su.query('COMMIT');
      await strict.close();
    }
  });

  it('finishes on the next run and leaves no leftover behind; what was rebuilt is not rebuilt again', async () => {
    const before = await relfilenodes(sandbox);
    const outcome = await harness.run(reindex(harness.config));
    const details = outcome.details as Details;
    expect(names(details.rebuilt)).toEqual(['public.vendor_equipment_pkey']);
    expect(details.leftoversDropped).toEqual([]);
    expect(outcome.status).toBe('warning'); // the duplicate keys are still there
    expect(names(details.notRebuilt)).toEqual(['public.threat_intelligence_source_uniq']);
    const after = await relfilenodes(sandbox);
    for (const index of ['threat_intelligence_pkey', 'vendor_equipment_serial_idx', 'assets_hostname_uniq']) expect(after[index]).toBe(before[index]);
    expect(Object.keys(await indexValidity(sandbox)).filter((name) => /_cc(new|old)/.test(name))).toEqual([]);
  });

  it("with reindex: 'database' rebuilds every index, table by table, past the one that cannot be rebuilt", async () => {
    const whole = stepHarness(sandbox, { config: { database: { reindex: 'database' } } });
    try {
      const before = await relfilenodes(sandbox);
      const validity = await indexValidity(sandbox);
      const outcome = await whole.run(reindex(whole.config));
      expect(outcome.status).toBe('warning');
      const details = outcome.details as Details;
      expect(names(details.notRebuilt)).toEqual(['public.threat_intelligence_source_uniq']);
      const after = await relfilenodes(sandbox);
      const validIndexes = Object.keys(validity).filter((name) => validity[name]);
      expect(validIndexes).toHaveLength(10);
      for (const index of validIndexes) expect(after[index], index).not.toBe(before[index]);
      expect(outcome.metrics!.indexesRebuilt).toBe(10);
    } finally {
      await whole.close();
    }
    expect(await integrityCounts(sandbox)).toBe(countsBefore);
  });
});
