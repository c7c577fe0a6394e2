import { describe, expect, it, test } from 'vitest';
import { previousQuarterRecord, regressions, sinceThen, type PerfRecord } from '../../src/steps/review/perf-record.js';
import { quarterOf } from '../../src/steps/review/quarter.js';

function record(quarter: string, overrides: Partial<PerfRecord> = {}): PerfRecord {
  return {
    schemaVersion: 1,
    windowId: `w-${quarter}`,
    target: 'host',
    takenAt: `${quarter.slice(0, 4)}-0${Number(quarter.slice(-1)) * 3 - 2}-05T02:00:00.000Z`,
    quarter,
    database: 'ner11_db',
    cacheHit: { blocksHit: 990, blocksRead: 10, ratio: 0.99 },
    tables: [],
    ...overrides,
  };
}

describe('quarterOf', () => {
  test.each([
    ['2026-12-31T23:30:00Z', 'UTC', '2026-Q4'],
    ['2026-12-31T23:30:00Z', 'Europe/Berlin', '2027-Q1'],
    ['2026-04-01T00:00:00Z', 'UTC', '2026-Q2'],
  ])('%s in %s is %s', (at, zone, quarter) => {
    expect(quarterOf(new Date(at), zone)).toBe(quarter);
  });
});

describe('previousQuarterRecord', () => {
  it('takes the newest baseline of an earlier quarter of the same database', () => {
    const records = [
      record('2026-Q2'),
      record('2026-Q3'),
      record('2026-Q4'),
      record('2026-Q3', { takenAt: '2026-09-30T02:00:00.000Z', windowId: 'late' }),
      record('2026-Q3', { database: 'other', takenAt: '2026-09-30T03:00:00.000Z' }),
    ];
    expect(previousQuarterRecord(records, '2026-Q4', 'ner11_db')?.windowId).toBe('late');
    expect(previousQuarterRecord(records, '2026-Q2', 'ner11_db')).toBeUndefined();
  });
});

describe('sinceThen', () => {
  it('gives counter deltas only when every counter grew', () => {
    expect(sinceThen([150, 20], [100, 10])).toEqual([50, 10]);
    expect(sinceThen([50, 20], [100, 10])).toBeUndefined();
    expect(sinceThen([50, 20], undefined)).toBeUndefined();
  });
});

describe('regressions', () => {
  const latency = (p50Ms: number, p95Ms: number) => ({ url: 'u', requests: 20, ok: 20, p50Ms, p95Ms, errors: [] });

  it('flags latency that grew by more than the threshold, with both numbers', () => {
    const found = regressions(record('2026-Q3', { latency: latency(10, 20) }), record('2026-Q4', { latency: latency(13, 23) }), 20);
    expect(found).toEqual([{ metric: 'app latency p50', previous: 10, current: 13, percent: expect.closeTo(30, 9), unit: 'ms' }]);
  });

  it('ignores a large percent of a tiny time (under 2 ms more)', () => {
    expect(regressions(record('2026-Q3', { latency: latency(0.5, 0.5) }), record('2026-Q4', { latency: latency(1.5, 2.4) }), 20)).toEqual([]);
  });

  it('flags a hit ratio whose misses grew past the threshold, preferring the quarter-only ratio', () => {
    const before = record('2026-Q3', { cacheHit: { blocksHit: 0, blocksRead: 0, ratio: 0.5, intervalRatio: 0.99 } });
    const after = record('2026-Q4', { cacheHit: { blocksHit: 0, blocksRead: 0, ratio: 0.99, intervalRatio: 0.97 } });
    expect(regressions(before, after, 20)).toEqual([
      { metric: 'cache hit ratio', previous: 0.99, current: 0.97, percent: expect.closeTo(200, 6), unit: 'ratio' },
    ]);
  });

  it('ignores a hit ratio that lost less than a point', () => {
    const before = record('2026-Q3', { cacheHit: { blocksHit: 0, blocksRead: 0, ratio: 0.999 } });
    expect(regressions(before, record('2026-Q4', { cacheHit: { blocksHit: 0, blocksRead: 0, ratio: 0.995 } }), 20)).toEqual([]);
  });

  it('compares index usage per table and the mean time of the same query', () => {
    const table = (indexUsage: number) => [{ table: 'public.t', bytes: 1, seqScans: 0, indexScans: 0, indexUsage }];
    const query = (meanMs: number) => [{ queryid: '42', query: 'select * from t where id = $1', calls: 100, totalMs: 100 * meanMs, meanMs }];
    const found = regressions(
      record('2026-Q3', { tables: table(0.98), topQueries: query(5) }),
      record('2026-Q4', { tables: table(0.9), topQueries: query(8) }),
      20,
    );
    expect(found.map((entry) => entry.metric)).toEqual(['index usage of public.t', 'mean time of query 42 (select * from t where id = $1)']);
  });
});
