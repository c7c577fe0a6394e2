import type { Database } from '../../database/database.js';
import { lastLines, parseDockerSize, parseJsonLines, runDocker } from '../docker/docker-cli.js';
import { MINUTES, type Finding, type StepContext, type StepFactory, type StepOutcome } from '../step.js';

export interface ContainerStats {
  name: string;
  cpuPercent: number;
  memoryBytes?: number;
  memoryLimitBytes?: number;
  memoryPercent: number;
}

export interface SlowQuery {
  query: string;
  calls: number;
  meanMs: number;
  totalMs: number;
}

export interface MetricsSample {
  containers?: ContainerStats[];
  connections: { byState: Record<string, number>; total: number; max: number; idleInTransactionOver5m: number };
  cacheHitRatio?: number;
  slowQueries?: SlowQuery[];
}

export const THRESHOLDS = { cacheHitRatio: 0.99, connectionsPercent: 80, containerCpuPercent: 90, containerMemoryPercent: 90, slowQueryMeanMs: 1000 };

const percent = (text: string | undefined) => Number.parseFloat((text ?? '').replace('%', '')) || 0;

/** `docker stats --no-stream --format '{{json .}}'` rows. */
export function parseDockerStats(text: string): ContainerStats[] {
  return parseJsonLines(text).map((row) => {
    const [used = '', limit = ''] = (row.MemUsage ?? '').split('/');
    return {
      name: row.Name ?? row.Container ?? '?',
      cpuPercent: percent(row.CPUPerc),
      memoryBytes: parseDockerSize(used),
      memoryLimitBytes: parseDockerSize(limit),
      memoryPercent: percent(row.MemPerc),
    };
  });
}

export function metricsFindings(sample: MetricsSample): Finding[] {
  const findings: Finding[] = [];
  const { connections } = sample;
  if (sample.cacheHitRatio !== undefined && sample.cacheHitRatio < THRESHOLDS.cacheHitRatio) {
    findings.push({
      severity: 'warning',
      title: `cache hit ratio ${sample.cacheHitRatio.toFixed(4)} is under ${THRESHOLDS.cacheHitRatio}`,
      action: 'Reads go to disk: check shared_buffers against the memory PostgreSQL may use, and queries reading whole tables.',
    });
  }
  if (connections.max > 0 && (connections.total / connections.max) * 100 >= THRESHOLDS.connectionsPercent) {
    findings.push({
      severity: 'warning',
      title: `${connections.total} of max_connections ${connections.max} in use`,
      action: 'Use a connection pool or raise max_connections.',
    });
  }
  if (connections.idleInTransactionOver5m > 0) {
    findings.push({
      severity: 'warning',
      title: `${connections.idleInTransactionOver5m} session(s) idle in a transaction for over 5 minutes`,
      action: 'They hold locks and keep VACUUM from removing dead rows: find them in pg_stat_activity and fix the client.',
    });
  }
  for (const container of sample.containers ?? []) {
    if (container.cpuPercent >= THRESHOLDS.containerCpuPercent)
      findings.push({ severity: 'warning', title: `container ${container.name} uses ${container.cpuPercent}% CPU` });
    if (container.memoryPercent >= THRESHOLDS.containerMemoryPercent) {
      findings.push({
        severity: 'warning',
        title: `container ${container.name} uses ${container.memoryPercent}% of its memory limit`,
        action: 'It will be OOM-killed at 100%: raise the limit or find the growth.',
      });
    }
  }
  const slow = (sample.slowQueries ?? []).filter((query) => query.meanMs >= THRESHOLDS.slowQueryMeanMs);
  if (slow.length > 0) {
    findings.push({
      severity: 'info',
      title: `${slow.length} statement(s) take over ${THRESHOLDS.slowQueryMeanMs} ms on average`,
      evidence: slow.map((query) => `${query.meanMs.toFixed(0)} ms × ${query.calls}: ${query.query}`).join('\n'),
    });
  }
  return findings;
}

async function containerStats(ctx: StepContext): Promise<{ containers?: ContainerStats[]; note?: string }> {
  const result = await runDocker(
    ctx,
    `command -v docker >/dev/null 2>&1 || { echo __mw_no_docker_cli__; exit 0; }; docker stats --no-stream --format '{{json .}}'`,
    { timeoutMs: 2 * MINUTES },
  );
  if (result.code === 0 && result.stdout.includes('__mw_no_docker_cli__')) return { note: 'no docker CLI: container resources not sampled' };
  if (result.code !== 0) return { note: `docker stats failed (exit code ${result.code}: ${lastLines(result.stderr)}): container resources not sampled` };
  return { containers: parseDockerStats(result.stdout) };
}

async function connections(db: Database): Promise<MetricsSample['connections']> {
  const rows = await db.query<{ state: string; count: number; stale: number }>(
    `select coalesce(state, 'unknown') as state, count(*)::int as count,
            count(*) filter (where state like 'idle in transaction%' and now() - state_change > interval '5 minutes')::int as stale
       from pg_stat_activity where datname = current_database() group by 1 order by 1`,
  );
  const [limits] = await db.query<{ total: number; max: number }>(
    `select (select count(*)::int from pg_stat_activity where backend_type = 'client backend') as total, current_setting('max_connections')::int as max`,
  );
  return {
    byState: Object.fromEntries(rows.map((row) => [row.state, row.count])),
    total: limits?.total ?? 0,
    max: limits?.max ?? 0,
    idleInTransactionOver5m: rows.reduce((sum, row) => sum + row.stale, 0),
  };
}

async function cacheHitRatio(db: Database): Promise<number | undefined> {
  const [row] = await db.query<{ hit: string; read: string }>(
    `select blks_hit::text as hit, blks_read::text as read from pg_stat_database where datname = current_database()`,
  );
  const hit = Number(row?.hit ?? 0);
  const read = Number(row?.read ?? 0);
  return hit + read > 0 ? hit / (hit + read) : undefined;
}

/** The five statements slowest on average, or why there are none: the extension is absent or not preloaded. */
async function slowQueries(db: Database, user: string): Promise<{ slowQueries?: SlowQuery[]; note?: string }> {
  const [extension] = await db.query<{ version: string }>(`select extversion as version from pg_extension where extname = 'pg_stat_statements'`);
  if (!extension)
    return {
      note: 'pg_stat_statements is not installed in this database: no per-statement timings (CREATE EXTENSION pg_stat_statements, with it in shared_preload_libraries)',
    };
  try {
    const rows = await db.query<{ query: string; calls: string; mean_ms: number; total_ms: number }>(
      `select left(regexp_replace(query, '\\s+', ' ', 'g'), 200) as query, calls::text, mean_exec_time as mean_ms, total_exec_time as total_ms
         from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
        order by mean_exec_time desc limit 5`,
    );
    const slowQueries = rows.map((row) => ({ query: row.query, calls: Number(row.calls), meanMs: row.mean_ms, totalMs: row.total_ms }));
    const hidden = slowQueries.filter((query) => query.query === '<insufficient privilege>').length;
    return {
      slowQueries,
      note: hidden ? `${hidden} statement text(s) of other roles are hidden from ${user}: GRANT pg_read_all_stats TO ${user} to see them` : undefined,
    };
  } catch (error) {
    return { note: `pg_stat_statements ${extension.version} is installed but cannot be read: ${(error as Error).message}` };
  }
}

async function run(ctx: StepContext): Promise<StepOutcome> {
  const db = await ctx.db();
  const [docker, connectionStats, ratio, statements] = await Promise.all([
    containerStats(ctx),
    connections(db),
    cacheHitRatio(db),
    slowQueries(db, ctx.config.database.user),
  ]);
  const sample: MetricsSample = { containers: docker.containers, connections: connectionStats, cacheHitRatio: ratio, slowQueries: statements.slowQueries };
  const findings = metricsFindings(sample);
  const metrics: Record<string, number> = { connections: connectionStats.total, maxConnections: connectionStats.max };
  if (ratio !== undefined) metrics.cacheHitRatio = ratio;
  for (const [state, count] of Object.entries(connectionStats.byState)) metrics[`connections:${state}`] = count;
  for (const container of docker.containers ?? []) {
    metrics[`cpuPercent:${container.name}`] = container.cpuPercent;
    if (container.memoryBytes !== undefined) metrics[`memoryBytes:${container.name}`] = container.memoryBytes;
  }
  if (statements.slowQueries?.[0]) metrics.slowestMeanMs = statements.slowQueries[0].meanMs;
  const notes = [docker.note, statements.note].filter((note): note is string => Boolean(note));
  const summary =
    `cache hit ratio ${ratio === undefined ? 'n/a' : ratio.toFixed(4)}, ${connectionStats.total}/${connectionStats.max} connections` +
    `${docker.containers ? `, ${docker.containers.length} container(s) sampled` : ''}` +
    `${statements.slowQueries ? `, ${statements.slowQueries.length} slowest statement(s) listed` : ''}`;
  return {
    status: findings.some((finding) => finding.severity !== 'info') ? 'warning' : 'succeeded',
    summary,
    metrics,
    details: { ...sample, notes, thresholds: THRESHOLDS },
    findings,
  };
}

export const metricsReview: StepFactory = () => ({
  id: 'metrics.review',
  title: 'Performance metrics review',
  description:
    'Samples container CPU / memory, database connections by state, the cache hit ratio and the slowest statements (pg_stat_statements), with findings past thresholds.',
  commands: [
    `docker stats --no-stream --format '{{json .}}'`,
    `select state, count(*) from pg_stat_activity where datname = current_database() group by 1`,
    `select blks_hit, blks_read from pg_stat_database where datname = current_database()`,
    `select query, calls, mean_exec_time from pg_stat_statements order by mean_exec_time desc limit 5   -- when installed`,
  ],
  impact: 'none',
  destructive: false,
  idempotent: true,
  timeoutMs: 10 * MINUTES,
  retries: 1,
  run,
});
