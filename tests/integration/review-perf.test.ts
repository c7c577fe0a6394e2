import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PerfRecord } from '../../src/steps/review/perf-record.js';
import { perfBaseline } from '../../src/steps/review/perf-baseline.js';
import type { PerfBaselineFacts } from '../../src/steps/review/review-facts.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { stepHarness } from '../support/step-harness.js';

let sandbox: Sandbox;
let historyDir: string;
let runs = 0;

beforeAll(async () => {
  sandbox = await startSandbox();
  historyDir = join(sandbox.stateDir, 'history');
});
afterAll(async () => {
  await sandbox?.stop();
});

/** One run of the step in its own window (the history persists across runs, as on a real host). */
async function runStep(config: Record<string, unknown> = {}) {
  const windowId = `perf-test-${++runs}`;
  // The database health URL opens a PostgreSQL connection per request: a latency of several ms, never zero.
  const harness = stepHarness(sandbox, {
    config: { health: { url: `${sandbox.app!.url}/api/v1/db/health` }, perf: { requests: 5 }, ...config },
    settings: { windowId },
  });
  try {
    const outcome = await harness.run(perfBaseline(harness.config));
    return { outcome, facts: harness.facts, windowId, record: (outcome.details as { record: PerfRecord }).record };
  } finally {
    await harness.close();
  }
}

function earlierRecord(quarter: string, windowId: string, overrides: Partial<PerfRecord> = {}): PerfRecord {
  return {
    schemaVersion: 1,
    windowId,
    target: 'earlier',
    takenAt: `${quarter.slice(0, 4)}-01-15T02:30:00.000Z`,
    quarter,
    database: 'ner11_db',
    statsReset: 'an earlier statistics epoch',
    cacheHit: { blocksHit: 1e15, blocksRead: 0, ratio: 1 },
    tables: [],
    latency: { url: 'http://earlier', requests: 20, ok: 20, p50Ms: 0.1, p95Ms: 0.2, errors: [] },
    ...overrides,
  };
}

const perfFiles = () =>
  readdirSync(historyDir)
    .filter((name) => name.startsWith('perf-'))
    .sort();

describe('perf.baseline', () => {
  it('records a first baseline on the host and says how to enable pg_stat_statements', async () => {
    const { outcome, facts, windowId, record } = await runStep();
    expect(outcome.status, outcome.summary).toBe('succeeded');
    expect(outcome.summary).toMatch(
      /^\d{4}-Q[1-4] baseline: cache hit \d+\.\d\d%, p50 [\d.]+ ms \/ p95 [\d.]+ ms over 5 requests, \d+ table\(s\) from 64\.0 KiB, no pg_stat_statements; no baseline from an earlier quarter to compare with$/,
    );
    const file = join(historyDir, `perf-${windowId}.json`);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(record);
    expect(record.latency).toMatchObject({ requests: 5, ok: 5 });
    expect(record.cacheHit.ratio).toBeGreaterThan(0);
    expect(record.cacheHit.ratio).toBeLessThanOrEqual(1);
    const vendor = record.tables.find((table) => table.table === 'public.vendor_equipment');
    expect(vendor?.indexUsage).toBeGreaterThanOrEqual(0);
    expect(record.topQueries).toBeUndefined();
    expect(outcome.findings).toEqual([
      expect.objectContaining({
        severity: 'info',
        evidence: 'the pg_stat_statements extension is not installed in this database',
        action: expect.stringContaining('shared_preload_libraries'),
      }),
    ]);
    expect(facts.perfBaseline as PerfBaselineFacts).toMatchObject({ quarter: record.quarter, regressions: 0, p95Ms: record.latency!.p95Ms });
  });

  it("flags regressions against the last earlier quarter's baseline, with both numbers", async () => {
    writeFileSync(
      join(historyDir, 'perf-q-older.json'),
      JSON.stringify(earlierRecord('1999-Q4', 'q-older', { latency: { url: 'x', requests: 20, ok: 20, p50Ms: 1000, p95Ms: 1000, errors: [] } })),
    );
    writeFileSync(join(historyDir, 'perf-q-last.json'), JSON.stringify(earlierRecord('2000-Q1', 'q-last')));
    const { outcome, facts } = await runStep();
    expect(outcome.status, outcome.summary).toBe('warning');
    expect(outcome.summary).toMatch(/compared with 2000-Q1 \(window q-last\): \d+ regression\(s\) over 20%$/);
    const p50 = outcome.findings!.find((finding) => finding.title.startsWith('app latency p50 regressed'));
    expect(p50).toMatchObject({ severity: 'warning' });
    expect(p50!.evidence).toMatch(/^2000-Q1 \(2000-01-15, window q-last\): 0\.1 ms; now: [\d.]+ ms \(threshold 20%\)$/);
    expect(outcome.findings!.some((finding) => finding.title.startsWith('app latency p95 regressed'))).toBe(true);
    expect((facts.perfBaseline as PerfBaselineFacts).comparedWith).toBe('2000-Q1');
  });

  it('does not flag what stayed within the threshold', async () => {
    const slowLast = earlierRecord('2000-Q2', 'q-slow', { latency: { url: 'x', requests: 20, ok: 20, p50Ms: 10_000, p95Ms: 10_000, errors: [] } });
    writeFileSync(join(historyDir, 'perf-q-slow.json'), JSON.stringify(slowLast));
    const { outcome } = await runStep();
    expect(outcome.summary).toMatch(/compared with 2000-Q2 \(window q-slow\)/);
    expect(outcome.findings!.filter((finding) => finding.title.startsWith('app latency'))).toEqual([]);
  });

  it('keeps only history-keep baselines on the host', async () => {
    mkdirSync(historyDir, { recursive: true });
    const old = new Date(Date.now() - 400 * 86_400_000);
    for (const name of ['perf-old-1.json', 'perf-old-2.json', 'perf-old-3.json']) {
      writeFileSync(join(historyDir, name), JSON.stringify(earlierRecord('1998-Q1', name)));
      utimesSync(join(historyDir, name), old, old);
    }
    const { windowId } = await runStep({ 'history-keep': 2 });
    const kept = perfFiles();
    expect(kept).toHaveLength(2);
    expect(kept).toContain(`perf-${windowId}.json`);
    expect(existsSync(join(historyDir, 'perf-old-1.json'))).toBe(false);
  });

  it('warns when the health URL fails during the baseline', async () => {
    await sandbox.stopApp();
    try {
      const { outcome, record } = await runStep();
      expect(outcome.status).toBe('warning');
      expect(record.latency).toMatchObject({ requests: 5, ok: 0 });
      expect(outcome.findings).toContainEqual(
        expect.objectContaining({ severity: 'warning', title: '5 of 5 requests to the health URL failed during the baseline' }),
      );
    } finally {
      await sandbox.startApp();
    }
  });

  it('lists the top queries from pg_stat_statements, leaving out statements that carry a password', async () => {
    await sandbox.psql("alter system set shared_preload_libraries = 'pg_stat_statements'");
    await sandbox.restartPostgres();
    await sandbox.psql('create extension pg_stat_statements', 'ner11_db');
    // A utility statement keeps its literal in pg_stat_statements: ner11 changing its own password must not reach the report.
    await sandbox.psql('select pg_stat_statements_reset()', 'ner11_db');
    await sandbox.psql(`set role ner11; alter role ner11 password '${sandbox.postgres.password}'`, 'ner11_db');
    const topTen =
      "select string_agg(query, ' | ') from (select query from pg_stat_statements where dbid = (select oid from pg_database where datname = 'ner11_db') order by total_exec_time desc limit 10) top";
    expect(await sandbox.psql(topTen, 'ner11_db')).toContain(sandbox.postgres.password);
    const { outcome, record } = await runStep();
    expect(record.topQueries?.length).toBeGreaterThan(0);
    expect(record.topQueries![0]).toMatchObject({ queryid: expect.stringMatching(/^-?\d+$/), calls: expect.any(Number), meanMs: expect.any(Number) });
    expect(outcome.metrics!.topQueries).toBe(record.topQueries!.length);
    expect(outcome.findings!.some((finding) => finding.title.startsWith('No top queries'))).toBe(false);
    // CREATE EXTENSION and ALTER ROLE ran as postgres: ner11 may not see them.
    expect(outcome.findings).toContainEqual(
      expect.objectContaining({ severity: 'info', title: expect.stringMatching(/^\d+ of the top 10 statements belong to other roles and are hidden$/) }),
    );
    expect(JSON.stringify(outcome)).not.toContain(sandbox.postgres.password);
    expect(record.topQueries!.some((query) => /password/i.test(query.query))).toBe(false);
  });

  it('fails when the database cannot be reached', async () => {
    await sandbox.stopPostgres();
    try {
      await expect(runStep()).rejects.toThrow(/cannot connect to database ner11_db/);
    } finally {
      await sandbox.startPostgres();
    }
  });
});
