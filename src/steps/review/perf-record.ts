/**
 * The performance baseline kept on the host (`<state-dir>/history/perf-<window>.json`) and its comparison with
 * the previous quarter's. Pure, apart from the types.
 */

export interface CacheHit {
  blocksHit: number;
  blocksRead: number;
  /** Since the statistics were last reset. */
  ratio?: number;
  /** Since the previous baseline, when the counters were not reset in between: this quarter's own ratio. */
  intervalRatio?: number;
}

export interface TableUsage {
  table: string;
  bytes: number;
  seqScans: number;
  indexScans: number;
  /** Share of scans that used an index, since the statistics reset. */
  indexUsage?: number;
  /** The same since the previous baseline. */
  intervalIndexUsage?: number;
}

export interface TopQuery {
  queryid: string;
  query: string;
  calls: number;
  totalMs: number;
  meanMs: number;
}

export interface Latency {
  url: string;
  requests: number;
  ok: number;
  p50Ms?: number;
  p95Ms?: number;
  errors: string[];
}

export interface PerfRecord {
  schemaVersion: 1;
  windowId: string;
  target: string;
  takenAt: string;
  quarter: string;
  database: string;
  statsReset?: string;
  cacheHit: CacheHit;
  tables: TableUsage[];
  /** Absent when pg_stat_statements is not available. */
  topQueries?: TopQuery[];
  latency?: Latency;
}

export const PERF_RECORD_PREFIX = 'perf-';

export function isPerfRecord(value: unknown): value is PerfRecord {
  const record = value as Partial<PerfRecord> | null;
  return (
    typeof record === 'object' && record !== null && record.schemaVersion === 1 && typeof record.quarter === 'string' && typeof record.takenAt === 'string'
  );
}

export const ratio = (part: number, whole: number): number | undefined => (whole > 0 ? part / whole : undefined);

/** Counters since the previous baseline, when they only grew (no reset, no server rebuilt in between). */
export function sinceThen(now: number[], then: number[] | undefined): number[] | undefined {
  if (!then || then.length !== now.length || now.some((value, index) => value < then[index]!)) return undefined;
  return now.map((value, index) => value - then[index]!);
}

/** The newest baseline of an earlier quarter than `quarter` (quarters sort as text: 2026-Q4 < 2027-Q1). */
export function previousQuarterRecord(records: PerfRecord[], quarter: string, database: string): PerfRecord | undefined {
  return records
    .filter((record) => record.quarter < quarter && record.database === database)
    .sort((a, b) => a.takenAt.localeCompare(b.takenAt))
    .at(-1);
}

export interface Regression {
  metric: string;
  previous: number;
  current: number;
  /** Percent worse. */
  percent: number;
  unit: 'ms' | 'ratio';
}

/** A time that grew by less than this is noise (network, cache state), whatever the percent. */
const MIN_TIME_DELTA_MS = 2;
/** A hit ratio that lost less than one point has not regressed, however the misses grew. */
const MIN_RATIO_DROP = 0.01;

function slower(metric: string, previous: number | undefined, current: number | undefined, threshold: number): Regression | undefined {
  if (previous === undefined || current === undefined || current - previous < MIN_TIME_DELTA_MS) return undefined;
  const percent = previous > 0 ? ((current - previous) / previous) * 100 : Infinity;
  return percent > threshold ? { metric, previous, current, percent, unit: 'ms' } : undefined;
}

/** A hit ratio regresses when its misses (1 − ratio) grew by more than the threshold and it lost a point. */
function lessHits(metric: string, previous: number | undefined, current: number | undefined, threshold: number): Regression | undefined {
  if (previous === undefined || current === undefined || previous - current < MIN_RATIO_DROP) return undefined;
  const missesBefore = 1 - previous;
  const percent = missesBefore > 0 ? ((1 - current - missesBefore) / missesBefore) * 100 : Infinity;
  return percent > threshold ? { metric, previous, current, percent, unit: 'ratio' } : undefined;
}

/** What got worse than the previous baseline by more than `thresholdPercent`. */
export function regressions(previous: PerfRecord, current: PerfRecord, thresholdPercent: number): Regression[] {
  const found: (Regression | undefined)[] = [
    slower('app latency p50', previous.latency?.p50Ms, current.latency?.p50Ms, thresholdPercent),
    slower('app latency p95', previous.latency?.p95Ms, current.latency?.p95Ms, thresholdPercent),
    lessHits(
      'cache hit ratio',
      previous.cacheHit.intervalRatio ?? previous.cacheHit.ratio,
      current.cacheHit.intervalRatio ?? current.cacheHit.ratio,
      thresholdPercent,
    ),
  ];
  for (const table of current.tables) {
    const before = previous.tables.find((entry) => entry.table === table.table);
    if (before)
      found.push(
        lessHits(
          `index usage of ${table.table}`,
          before.intervalIndexUsage ?? before.indexUsage,
          table.intervalIndexUsage ?? table.indexUsage,
          thresholdPercent,
        ),
      );
  }
  for (const query of current.topQueries ?? []) {
    const before = previous.topQueries?.find((entry) => entry.queryid === query.queryid);
    if (before) found.push(slower(`mean time of query ${query.queryid} (${query.query.slice(0, 60)})`, before.meanMs, query.meanMs, thresholdPercent));
  }
  return found.filter((entry) => entry !== undefined);
}
