import type { Database } from '../../database/database.js';
import { quoteIdent } from '../../database/sql.js';
import { getErrorMessage } from '../../errors.js';
import { formatBytes } from '../../report/human-size.js';
import { historyDir } from '../../report/snapshot.js';
import { quote } from '../../remote/shell.js';
import { RemoteCommandError, type Target } from '../../remote/target.js';
import { sampleResponseTimes } from '../health/response-time.js';
import { MINUTES, type Finding, type StepContext, type StepFactory, type StepOutcome } from '../step.js';
import {
  isPerfRecord,
  PERF_RECORD_PREFIX,
  previousQuarterRecord,
  ratio,
  regressions,
  sinceThen,
  type CacheHit,
  type Latency,
  type PerfRecord,
  type Regression,
  type TableUsage,
  type TopQuery,
} from './perf-record.js';
import { quarterOf } from './quarter.js';
import { ReviewFactKeys, type PerfBaselineFacts } from './review-facts.js';

const LARGE_TABLES = 20;
const TOP_QUERIES = 10;
const RECORD_SEPARATOR = '\x1e';

const DATABASE_SQL = `select blks_hit::float8 as hit, blks_read::float8 as read, stats_reset::text as reset
  from pg_stat_database where datname = current_database()`;
/** Tables from database.min-relation-size up, largest first. */
const TABLES_SQL = `select s.schemaname || '.' || s.relname as table, pg_total_relation_size(s.relid)::float8 as bytes,
       coalesce(s.seq_scan, 0)::float8 as seq, coalesce(s.idx_scan, 0)::float8 as idx
  from pg_stat_user_tables s where pg_total_relation_size(s.relid) >= $1 order by bytes desc limit ${LARGE_TABLES}`;
/** Statements naming a password are left out: utility statements keep their literals in pg_stat_statements. */
const topQueriesSql = (schema: string) => `select queryid::text as queryid, left(regexp_replace(query, '\\s+', ' ', 'g'), 200) as query,
       calls::float8 as calls, total_exec_time as total, mean_exec_time as mean
  from ${quoteIdent(schema)}.pg_stat_statements
 where dbid = (select oid from pg_database where datname = current_database()) and query !~* '\\mpassword\\M'
 order by total_exec_time desc limit ${TOP_QUERIES}`;

const ENABLE_STATEMENTS = 'add pg_stat_statements to shared_preload_libraries (a restart), then CREATE EXTENSION pg_stat_statements in the database';

function recordPath(stateDir: string, windowId: string): string {
  return `${historyDir(stateDir)}/${PERF_RECORD_PREFIX}${windowId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;
}

async function loadRecords(target: Target, stateDir: string): Promise<PerfRecord[]> {
  const dir = quote(historyDir(stateDir));
  const script = `[ -d ${dir} ] || exit 0; for f in ${dir}/${PERF_RECORD_PREFIX}*.json; do [ -f "$f" ] || continue; printf '\\036\\n'; cat -- "$f"; done`;
  const result = await target.exec(script, { timeoutMs: 60_000, tailBytes: 16 * 1024 * 1024 });
  if (result.code !== 0) throw new RemoteCommandError(target.description, `reading the performance baselines in ${historyDir(stateDir)}`, result);
  return result.stdout.split(RECORD_SEPARATOR).flatMap((chunk) => {
    try {
      const parsed: unknown = chunk.trim() ? JSON.parse(chunk) : undefined;
      return isPerfRecord(parsed) ? [parsed] : [];
    } catch {
      return []; // a half-written or foreign file
    }
  });
}

/** Keeps the newest `keep` baselines (by modification time). */
function pruneScript(stateDir: string, keep: number): string {
  return `cd ${quote(historyDir(stateDir))} && ls -1t -- ${PERF_RECORD_PREFIX}*.json 2>/dev/null | tail -n +${Math.max(1, keep) + 1} | while IFS= read -r f; do rm -f -- "$f"; done`;
}

interface Statements {
  queries?: TopQuery[];
  /** Why there are none. */
  problem?: string;
  /** Top statements of other roles, whose text and id this role may not see (without pg_read_all_stats). */
  hidden?: number;
}

/** Top statements by total time; none (and why) when pg_stat_statements is not usable here. */
async function topQueries(db: Database): Promise<Statements> {
  const [extension] = await db.query<{ schema: string }>(
    "select extnamespace::regnamespace::text as schema from pg_extension where extname = 'pg_stat_statements'",
  );
  if (!extension) return { problem: 'the pg_stat_statements extension is not installed in this database' };
  try {
    const rows = await db.query<{ queryid: string | null; query: string; calls: number; total: number; mean: number }>(topQueriesSql(extension.schema));
    const queries = rows.flatMap((row) =>
      row.queryid === null ? [] : [{ queryid: row.queryid, query: row.query, calls: row.calls, totalMs: row.total, meanMs: row.mean }],
    );
    return { queries, hidden: rows.length - queries.length };
  } catch (error) {
    return { problem: getErrorMessage(error) };
  }
}

/** Counters since `before` are this quarter's own only when the statistics were not reset in between. */
async function measure(
  ctx: StepContext,
  takenAt: Date,
  quarter: string,
  before: PerfRecord | undefined,
): Promise<{ record: PerfRecord; statements: Statements }> {
  const db = await ctx.db();
  const [stats] = await db.query<{ hit: number; read: number; reset: string | null }>(DATABASE_SQL);
  const tables = await db.query<{ table: string; bytes: number; seq: number; idx: number }>(TABLES_SQL, [ctx.config.database.minRelationBytes]);
  const statements = await topQueries(db);
  const comparable = before && before.statsReset === (stats?.reset ?? undefined) ? before : undefined;

  const hit = stats?.hit ?? 0;
  const read = stats?.read ?? 0;
  const sinceHit = sinceThen([hit, read], comparable && [comparable.cacheHit.blocksHit, comparable.cacheHit.blocksRead]);
  const cacheHit: CacheHit = { blocksHit: hit, blocksRead: read, ratio: ratio(hit, hit + read) };
  if (sinceHit) cacheHit.intervalRatio = ratio(sinceHit[0]!, sinceHit[0]! + sinceHit[1]!);
  const usage: TableUsage[] = tables.map((row) => {
    const then = comparable?.tables.find((entry) => entry.table === row.table);
    const since = sinceThen([row.seq, row.idx], then && [then.seqScans, then.indexScans]);
    const entry: TableUsage = { table: row.table, bytes: row.bytes, seqScans: row.seq, indexScans: row.idx, indexUsage: ratio(row.idx, row.seq + row.idx) };
    if (since) entry.intervalIndexUsage = ratio(since[1]!, since[0]! + since[1]!);
    return entry;
  });

  const url = ctx.config.health.url;
  let latency: Latency | undefined;
  if (url) {
    const sampled = await sampleResponseTimes(ctx.target, url, ctx.config.perf.requests);
    latency = {
      url,
      requests: sampled.samples,
      ok: sampled.ok,
      errors: sampled.errors,
      ...(sampled.p50 !== undefined ? { p50Ms: sampled.p50 } : {}),
      ...(sampled.p95 !== undefined ? { p95Ms: sampled.p95 } : {}),
    };
  }
  const record: PerfRecord = {
    schemaVersion: 1,
    windowId: ctx.settings.windowId,
    target: ctx.target.description,
    takenAt: takenAt.toISOString(),
    quarter,
    database: ctx.config.database.name,
    ...(stats?.reset ? { statsReset: stats.reset } : {}),
    cacheHit,
    tables: usage,
    ...(statements.queries ? { topQueries: statements.queries } : {}),
    ...(latency ? { latency } : {}),
  };
  return { record, statements };
}

const percentText = (value: number | undefined) => (value === undefined ? 'n/a' : `${(value * 100).toFixed(2)}%`);
const valueText = (regression: Regression, value: number) => (regression.unit === 'ms' ? `${value.toFixed(1)} ms` : percentText(value));

function regressionFinding(regression: Regression, previous: PerfRecord, threshold: number): Finding {
  return {
    severity: 'warning',
    title: `${regression.metric} regressed ${Number.isFinite(regression.percent) ? `by ${regression.percent.toFixed(0)}%` : 'from nothing'} since last quarter`,
    evidence: `${previous.quarter} (${previous.takenAt.slice(0, 10)}, window ${previous.windowId}): ${valueText(regression, regression.previous)}; now: ${valueText(regression, regression.current)} (threshold ${threshold}%)`,
    action: 'Find what changed: data growth, query plans (EXPLAIN ANALYZE the top queries), settings, the application release.',
  };
}

async function run(ctx: StepContext): Promise<StepOutcome> {
  const { config } = ctx;
  const threshold = config.perf.regressionPercent;
  const records = await loadRecords(ctx.target, config.stateDir);
  const takenAt = ctx.now();
  const quarter = quarterOf(takenAt, config.window.timezone);
  const previous = previousQuarterRecord(records, quarter, config.database.name);
  const { record, statements } = await measure(ctx, takenAt, quarter, previous);

  const path = recordPath(config.stateDir, ctx.settings.windowId);
  await ctx.target.writeFileAtomic(path, JSON.stringify(record) + '\n', 0o600);
  const pruned = await ctx.target.exec(pruneScript(config.stateDir, config.historyKeep), { timeoutMs: 30_000 });
  if (pruned.code !== 0)
    ctx.log.warn(`pruning the performance baselines in ${historyDir(config.stateDir)} failed (exit ${pruned.code ?? pruned.signal}): ${pruned.stderr.trim()}`);

  const found = previous ? regressions(previous, record, threshold) : [];
  const findings: Finding[] = found.map((regression) => regressionFinding(regression, previous!, threshold));
  const latency = record.latency;
  if (latency && latency.ok < latency.requests) {
    findings.push({
      severity: 'warning',
      title: `${latency.requests - latency.ok} of ${latency.requests} requests to the health URL failed during the baseline`,
      evidence: `${latency.url}: ${latency.errors.join(', ')}`,
      action: 'The latency baseline is only as good as the answers: check the app.',
    });
  }
  if (statements.problem) {
    findings.push({
      severity: 'info',
      title: 'No top queries: pg_stat_statements is not available',
      evidence: statements.problem,
      action: `To enable it, ${ENABLE_STATEMENTS}.`,
    });
  }
  if (statements.hidden) {
    findings.push({
      severity: 'info',
      title: `${statements.hidden} of the top ${TOP_QUERIES} statements belong to other roles and are hidden`,
      action: `GRANT pg_read_all_stats TO ${config.database.user}; to see them.`,
    });
  }

  const hitRatio = record.cacheHit.intervalRatio ?? record.cacheHit.ratio;
  const facts: PerfBaselineFacts = {
    quarter: record.quarter,
    regressions: found.length,
    ...(latency?.p50Ms !== undefined ? { p50Ms: latency.p50Ms } : {}),
    ...(latency?.p95Ms !== undefined ? { p95Ms: latency.p95Ms } : {}),
    ...(hitRatio !== undefined ? { cacheHitRatio: hitRatio } : {}),
    ...(previous ? { comparedWith: previous.quarter } : {}),
  };
  await ctx.saveFacts({ [ReviewFactKeys.perfBaseline]: facts });

  const metrics: Record<string, number> = { tablesMeasured: record.tables.length, regressions: found.length };
  if (hitRatio !== undefined) metrics.cacheHitRatio = hitRatio;
  if (latency?.p50Ms !== undefined) metrics.p50Ms = latency.p50Ms;
  if (latency?.p95Ms !== undefined) metrics.p95Ms = latency.p95Ms;
  if (record.topQueries) metrics.topQueries = record.topQueries.length;

  const parts = [
    `cache hit ${percentText(hitRatio)}${record.cacheHit.intervalRatio !== undefined ? ' since the last baseline' : ''}`,
    ...(latency
      ? [`p50 ${latency.p50Ms ?? 'n/a'} ms / p95 ${latency.p95Ms ?? 'n/a'} ms over ${latency.requests} requests`]
      : ['no health URL: latency not measured']),
    `${record.tables.length} table(s) from ${formatBytes(config.database.minRelationBytes)}`,
    record.topQueries ? `${record.topQueries.length} top queries` : 'no pg_stat_statements',
  ];
  const comparison = previous
    ? `compared with ${previous.quarter} (window ${previous.windowId}): ${found.length ? `${found.length} regression(s) over ${threshold}%` : 'no regression'}`
    : 'no baseline from an earlier quarter to compare with';
  return {
    status: findings.some((finding) => finding.severity !== 'info') ? 'warning' : 'succeeded',
    summary: `${record.quarter} baseline: ${parts.join(', ')}; ${comparison}`,
    metrics,
    details: { record, previous, regressions: found, file: path },
    findings,
  };
}

export const perfBaseline: StepFactory = (config) => ({
  id: 'perf.baseline',
  title: 'Performance baseline',
  description: `records cache hit ratio, index usage of large tables, top queries (pg_stat_statements) and app latency over ${config.perf.requests} requests in ${historyDir(config.stateDir)}/perf-<window>.json, and flags what got more than ${config.perf.regressionPercent}% worse than last quarter's baseline`,
  commands: [
    DATABASE_SQL,
    TABLES_SQL.replace('$1', String(config.database.minRelationBytes)),
    topQueriesSql('<schema>'),
    ...(config.health.url ? [`# ${config.perf.requests} timed GET ${config.health.url} through the SSH tunnel, one at a time`] : []),
    `# written to ${historyDir(config.stateDir)}/perf-<window>.json; the newest ${config.historyKeep} kept`,
  ],
  impact: 'none',
  destructive: false,
  idempotent: true,
  timeoutMs: 15 * MINUTES,
  retries: 1,
  run,
});
