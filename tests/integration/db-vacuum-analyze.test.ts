import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, runTracked } from '../../src/database/tracked-statement.js';
import { vacuumAnalyze } from '../../src/steps/database/vacuum-analyze.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { memoryLogger, stepHarness, type StepHarness } from '../support/step-harness.js';
import { integrityCounts, superuserClient, timedQuery, waitForLockWaiter } from './db-helpers.js';

interface Details {
  topTables: Array<{ table: string; totalBytes: number; deadTuples: number }>;
  bloat: { tables: Array<{ table: string; bloatPercent: number; estimable: boolean }>; indexes: Array<{ index: string; bloatPercent: number }> };
  invalidIndexes: string[];
}

describe('db.vacuum-analyze', () => {
  let sandbox: Sandbox;
  let harness: StepHarness;
  let su: pg.Client;
  let countsBefore: string;

  beforeAll(async () => {
    sandbox = await startSandbox({ app: false });
    harness = stepHarness(sandbox);
    su = await superuserClient(sandbox);
    countsBefore = await integrityCounts(sandbox);
  });

  afterAll(async () => {
    await su?.end();
    await harness?.close();
    await sandbox?.stop();
  });

  it('is a harmless, idempotent step that shows what it runs', () => {
    const step = vacuumAnalyze(harness.config);
    expect(step).toMatchObject({ id: 'db.vacuum-analyze', impact: 'none', destructive: false, idempotent: true });
    expect(step.commands.join('\n')).toMatch(/SET lock_timeout = '2000ms'; VACUUM \(ANALYZE\)/);
  });

  it('vacuums every table and the seeded dead tuples are gone; reports sizes and bloat', async () => {
    const outcome = await harness.run(vacuumAnalyze(harness.config));
    expect(outcome.status).toBe('succeeded');
    expect(outcome.metrics).toMatchObject({ tablesVacuumed: 5, tablesSkipped: 0, tablesFailed: 0 });
    expect(outcome.metrics!.deadTuplesBefore).toBeGreaterThanOrEqual(90_000);
    expect(outcome.metrics!.deadTuplesAfter).toBeLessThan(100);
    // Independently of the step's own numbers: the statistics the server keeps.
    expect(
      Number(await sandbox.psql("SELECT sum(n_dead_tup) FROM pg_stat_user_tables WHERE relname IN ('vendor_equipment', 'threat_intelligence')", 'ner11_db')),
    ).toBeLessThan(100);
    expect(await sandbox.psql('SELECT bool_and(last_vacuum IS NOT NULL AND last_analyze IS NOT NULL) FROM pg_stat_user_tables', 'ner11_db')).toBe('t');

    const details = outcome.details as Details;
    expect(details.topTables.map((row) => row.table).slice(0, 2)).toEqual(['public.threat_intelligence', 'public.vendor_equipment']);
    // VACUUM leaves the space inside the files: the estimate still sees it, for the monthly rewrite.
    const threat = details.bloat.tables.find((row) => row.table === 'public.threat_intelligence')!;
    expect(threat.estimable).toBe(true);
    expect(threat.bloatPercent).toBeGreaterThan(60);
    const users = details.bloat.tables.find((row) => row.table === 'public.users')!;
    expect(users.bloatPercent).toBeLessThan(30);
    expect(details.bloat.indexes.find((row) => row.index === 'public.vendor_equipment_serial_idx')!.bloatPercent).toBeGreaterThan(60);
    expect(details.invalidIndexes).toEqual(['public.threat_intelligence_source_uniq']);
    expect(outcome.findings!.map((finding) => finding.title).join('\n')).toMatch(
      /estimated reclaimable[\s\S]*invalid index\(es\): public\.threat_intelligence_source_uniq/,
    );
    expect(await integrityCounts(sandbox)).toBe(countsBefore);
  });

  it('skips a table whose lock stays busy past lock_timeout, vacuums the others, and never blocks readers', async () => {
    await su.query('BEGIN');
    await su.query('LOCK TABLE audit_log IN SHARE UPDATE EXCLUSIVE MODE'); // what a running CREATE INDEX CONCURRENTLY holds
    try {
      const started = Date.now();
      const running = harness.run(vacuumAnalyze(harness.config));
      await waitForLockWaiter(su, 'audit_log');
      const readerMs = await timedQuery(sandbox, 'SELECT count(*) FROM audit_log');
      const outcome = await running;
      const elapsed = Date.now() - started;

      expect(readerMs).toBeLessThan(1000);
      expect(elapsed).toBeLessThan(2000 + 6000);
      expect(outcome.status).toBe('warning');
      expect(outcome.metrics).toMatchObject({ tablesVacuumed: 4, tablesSkipped: 1 });
      expect(outcome.summary).toContain('skipped (lock busy): public.audit_log');
      expect(outcome.findings!.some((finding) => finding.severity === 'warning' && finding.title.includes('public.audit_log was not vacuumed'))).toBe(true);
      expect(harness.log.lines.some((line) => /warn: public\.audit_log not vacuumed: lock not granted within 2\.0 s/.test(line))).toBe(true);
    } finally {
      await su.query('COMMIT');
    }
  });

  it('names a table whose VACUUM fails, finishes the others, and fails the step', async () => {
    // ANALYZE evaluates expression indexes: this one divides by zero once its flag row is gone.
    await sandbox.psql(
      `SET ROLE ner11;
       CREATE TABLE stats_flag (x int); INSERT INTO stats_flag VALUES (1);
       CREATE FUNCTION flagged(v int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT v / (SELECT count(*)::int FROM public.stats_flag)';
       CREATE TABLE stats_break (id int); INSERT INTO stats_break SELECT generate_series(1, 100);
       CREATE INDEX stats_break_expr ON stats_break (flagged(id));
       DELETE FROM stats_flag;`,
      'ner11_db',
    );
    try {
      const outcome = await harness.run(vacuumAnalyze(harness.config));
      expect(outcome.status).toBe('failed');
      expect(outcome.metrics).toMatchObject({ tablesFailed: 1, tablesVacuumed: 6 });
      expect(outcome.summary).toContain('failed: public.stats_break');
      const finding = outcome.findings!.find((item) => item.severity === 'critical')!;
      expect(finding.title).toBe('VACUUM of public.stats_break failed');
      expect(finding.evidence).toMatch(/division by zero/);
    } finally {
      await sandbox.psql('DROP TABLE stats_break, stats_flag; DROP FUNCTION flagged(int);', 'ner11_db');
    }
  });

  describe('progress and cancellation (the shared statement runner)', () => {
    beforeAll(async () => {
      await sandbox.psql("SET ROLE ner11; CREATE TABLE progress_demo AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 3500) g;", 'ner11_db');
    });

    // Throttled like a big table: each page costs a few ms, so the run lasts a couple of seconds.
    const slowVacuum = 'VACUUM (ANALYZE, DISABLE_PAGE_SKIPPING) progress_demo';

    it('logs the phase and blocks scanned from pg_stat_progress_vacuum every interval, then stops', async () => {
      const db = await harness.context().db();
      const log = memoryLogger();
      const result = await db.withSession(async (session) => {
        await session.query("SET vacuum_cost_delay = '3ms'");
        await session.query('SET vacuum_cost_limit = 1');
        const ran = await runTracked(db, session, {
          label: 'public.progress_demo',
          sql: slowVacuum,
          progressView: 'pg_stat_progress_vacuum',
          lockTimeoutMs: 2000,
          log,
          signal: new AbortController().signal,
          progressIntervalMs: 150,
        });
        await session.query('RESET vacuum_cost_delay; RESET vacuum_cost_limit');
        return ran;
      });
      expect(result.ok).toBe(true);
      const progress = log.lines.filter((line) => /^info: public\.progress_demo: scanning heap, heap blocks scanned \d+\/\d+ \(\d+%\)$/.test(line));
      expect(progress.length).toBeGreaterThanOrEqual(2);
      const linesAtEnd = log.lines.length;
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(log.lines.length).toBe(linesAtEnd); // the poller stopped with the statement
    });

    it('cancels the statement on the server when the step is aborted', async () => {
      const db = await harness.context().db();
      const controller = new AbortController();
      const pid = await db.withSession(async (session) => {
        await session.query("SET vacuum_cost_delay = '10ms'");
        await session.query('SET vacuum_cost_limit = 1');
        setTimeout(() => controller.abort(), 300);
        const started = Date.now();
        await expect(
          runTracked(db, session, {
            label: 'public.progress_demo',
            sql: slowVacuum,
            progressView: 'pg_stat_progress_vacuum',
            lockTimeoutMs: 2000,
            log: memoryLogger(),
            signal: controller.signal,
          }),
        ).rejects.toBeInstanceOf(CancelledError);
        expect(Date.now() - started).toBeLessThan(2000);
        await session.query('RESET vacuum_cost_delay; RESET vacuum_cost_limit');
        return session.pid;
      });
      expect(await sandbox.psql(`SELECT count(*) FROM pg_stat_activity WHERE pid = ${pid} AND query ILIKE 'VACUUM%' AND state = 'active'`)).toBe('0');
      expect(await integrityCounts(sandbox)).toBe(countsBefore);
    });
  });
});
