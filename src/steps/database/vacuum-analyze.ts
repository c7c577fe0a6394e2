import { estimateIndexBloat, estimateTableBloat, isBloated } from '../../database/bloat.js';
import type { Database } from '../../database/database.js';
import { displayName, listIndexes, listTables, qualify, serverVersion, type TableInfo } from '../../database/relations.js';
import { runTracked } from '../../database/tracked-statement.js';
import { formatBytes } from '../../report/human-size.js';
import { formatDuration } from '../../settings/durations.js';
import { MINUTES, type Finding, type StepContext, type StepFactory, type StepOutcome } from '../step.js';

const TOP_TABLES = 10;
/** Rows per list in the details (the journal and report stay small on databases with thousands of tables). */
const DETAIL_ROWS = 20;

interface TableResult {
  table: string;
  status: 'vacuumed' | 'lock' | 'error';
  durationMs: number;
  message?: string;
}

export const vacuumAnalyze: StepFactory = (config) => ({
  id: 'db.vacuum-analyze',
  title: 'VACUUM ANALYZE',
  description: `Vacuums and analyzes every user table, ${config.database.vacuumJobs} at a time, then reports dead tuples, the largest tables and estimated bloat.`,
  commands: [
    `SET lock_timeout = '${config.database.lockTimeoutMs}ms'; VACUUM (ANALYZE) <table>  -- each user table, ${config.database.vacuumJobs} sessions in parallel (like vacuumdb --jobs)`,
    'SELECT … FROM pg_stat_progress_vacuum WHERE pid = <session>  -- progress, every few seconds',
    'SELECT … FROM pg_stat_user_tables / pg_stats  -- dead tuples before / after, top 10 tables, bloat estimates',
  ],
  impact: 'none',
  destructive: false,
  idempotent: true,
  timeoutMs: 60 * MINUTES,
  retries: 1,
  run: (ctx) => runVacuumAnalyze(ctx),
});

async function runVacuumAnalyze(ctx: StepContext): Promise<StepOutcome> {
  const { config, log } = ctx;
  const started = Date.now();
  const db = await ctx.db();
  const all = await listTables(db);
  const tables = all.filter((table) => table.owned);
  const notOwned = all.filter((table) => !table.owned).map(displayName);
  if (notOwned.length > 0) log.warn(`not vacuumed (owned by another role): ${notOwned.join(', ')}`);
  const deadBefore = new Map(tables.map((table) => [table.oid, table.deadTuples]));

  const results = await vacuumInParallel(ctx, db, tables);
  const vacuumedNames = new Set(results.filter((result) => result.status === 'vacuumed').map((result) => result.table));
  const after = await listTables(db);
  const vacuumedAfter = after.filter((table) => vacuumedNames.has(displayName(table)));
  const deadTuplesBefore = vacuumedAfter.reduce((sum, table) => sum + (deadBefore.get(table.oid) ?? 0), 0);
  const deadTuplesAfter = vacuumedAfter.reduce((sum, table) => sum + table.deadTuples, 0);

  const [tableBloat, indexBloat, indexes] = await Promise.all([estimateTableBloat(db), estimateIndexBloat(db), listIndexes(db)]);
  const byBloat = <T extends { bloatBytes: number }>(rows: T[]) => rows.sort((a, b) => b.bloatBytes - a.bloatBytes).slice(0, DETAIL_ROWS);
  const bloat = {
    model: 'ioguix estimate from pg_stats (no pgstattuple); see src/database/bloat.ts for its limits',
    tables: byBloat([...tableBloat.values()]).map(({ schema, table, realBytes, bloatBytes, bloatPercent, estimable }) => ({
      table: `${schema}.${table}`,
      realBytes,
      bloatBytes,
      bloatPercent,
      estimable,
    })),
    indexes: byBloat([...indexBloat.values()]).map(({ schema, index, table, realBytes, bloatBytes, bloatPercent, estimable }) => ({
      index: `${schema}.${index}`,
      table,
      realBytes,
      bloatBytes,
      bloatPercent,
      estimable,
    })),
  };
  const topTables = after.slice(0, TOP_TABLES).map((table) => ({
    table: displayName(table),
    totalBytes: table.totalBytes,
    heapBytes: table.heapBytes,
    liveTuples: table.liveTuples,
    deadTuples: table.deadTuples,
    bloatPercent: tableBloat.get(table.oid)?.estimable ? tableBloat.get(table.oid)?.bloatPercent : undefined,
  }));
  for (const row of topTables)
    log.info(
      `${row.table}: ${formatBytes(row.totalBytes)}, ${row.liveTuples} live / ${row.deadTuples} dead tuples${row.bloatPercent === undefined ? '' : `, ~${row.bloatPercent}% bloat`}`,
    );

  const skipped = results.filter((result) => result.status === 'lock');
  const failed = results.filter((result) => result.status === 'error');
  const findings: Finding[] = [
    ...skipped.map((result): Finding => ({
      severity: 'warning',
      title: `${result.table} was not vacuumed: its lock was busy`,
      evidence: result.message,
      action: 'Look in pg_stat_activity for a long transaction or DDL on it; autovacuum and the next window try again.',
    })),
    ...failed.map((result): Finding => ({
      severity: 'critical',
      title: `VACUUM of ${result.table} failed`,
      evidence: result.message,
      action: 'Read the PostgreSQL log for this table.',
    })),
  ];
  const { bloatThresholdPercent: threshold, minRelationBytes: minBytes } = config.database;
  const bloatedTables = [...tableBloat.values()].filter((estimate) => isBloated(estimate, threshold, minBytes));
  const bloatedIndexes = [...indexBloat.values()].filter((estimate) => isBloated(estimate, threshold, minBytes));
  const invalidIndexes = indexes.filter((index) => !index.valid).map((index) => `${index.schema}.${index.name}`);
  if (bloatedTables.length + bloatedIndexes.length > 0) {
    const reclaimable = [...bloatedTables, ...bloatedIndexes].reduce((sum, estimate) => sum + estimate.bloatBytes, 0);
    findings.push({
      severity: 'info',
      title: `about ${formatBytes(reclaimable)} is estimated reclaimable: ${bloatedTables.length} table(s) and ${bloatedIndexes.length} index(es) over ${threshold}% bloat`,
      evidence: [
        ...bloatedTables.map((estimate) => `${estimate.schema}.${estimate.table} ${estimate.bloatPercent}%`),
        ...bloatedIndexes.map((estimate) => `${estimate.schema}.${estimate.index} ${estimate.bloatPercent}%`),
      ].join(', '),
      action: 'VACUUM leaves this free space inside the files; the monthly db.vacuum-full and db.reindex give it back.',
    });
  }
  if (invalidIndexes.length > 0) {
    findings.push({
      severity: 'warning',
      title: `invalid index(es): ${invalidIndexes.join(', ')}`,
      action: 'Unused by queries but still maintained on writes; the monthly db.reindex rebuilds or reports them.',
    });
  }

  const durationMs = Date.now() - started;
  let summary = `vacuumed ${vacuumedNames.size} of ${tables.length} table(s) in ${formatDuration(durationMs)}, dead tuples ${deadTuplesBefore} → ${deadTuplesAfter}`;
  if (skipped.length > 0) summary += `; skipped (lock busy): ${skipped.map((result) => result.table).join(', ')}`;
  if (failed.length > 0) summary += `; failed: ${failed.map((result) => result.table).join(', ')}`;
  return {
    status: failed.length > 0 ? 'failed' : skipped.length > 0 ? 'warning' : 'succeeded',
    summary,
    metrics: { tablesVacuumed: vacuumedNames.size, tablesSkipped: skipped.length, tablesFailed: failed.length, deadTuplesBefore, deadTuplesAfter, durationMs },
    details: { notVacuumed: [...skipped, ...failed], slowest: slowest(results), notOwned, topTables, bloat, invalidIndexes },
    findings,
  };
}

function slowest(results: TableResult[]): TableResult[] {
  return results
    .filter((result) => result.status === 'vacuumed')
    .sort((a, b) => b.durationMs - a.durationMs)
    .slice(0, TOP_TABLES);
}

/** Largest first over config.database.vacuumJobs sessions, like `vacuumdb --jobs`. */
async function vacuumInParallel(ctx: StepContext, db: Database, tables: TableInfo[]): Promise<TableResult[]> {
  const { config, log } = ctx;
  const queue = [...tables];
  const results: TableResult[] = [];
  const flush = (await serverVersion(db)) >= 150000;
  let fatal: unknown;
  const worker = () =>
    db.withSession(async (session) => {
      for (let table = queue.shift(); table && fatal === undefined; table = queue.shift()) {
        const name = displayName(table);
        const sql = `VACUUM (ANALYZE) ${qualify(table.schema, table.name)}`;
        try {
          const result = await runTracked(db, session, {
            label: name,
            sql,
            progressView: 'pg_stat_progress_vacuum',
            lockTimeoutMs: config.database.lockTimeoutMs,
            log,
            signal: ctx.signal,
          });
          if (result.ok) {
            results.push({ table: name, status: 'vacuumed', durationMs: result.durationMs });
            log.debug(`${name} vacuumed in ${formatDuration(result.durationMs)}`);
          } else {
            const message = result.reason === 'lock' ? `lock not granted within ${formatDuration(config.database.lockTimeoutMs)}` : result.message;
            results.push({ table: name, status: result.reason, durationMs: result.durationMs, message });
            log.warn(`${name} not vacuumed: ${message}`);
          }
        } catch (error) {
          fatal ??= error;
        }
      }
      // This session's table counters become visible to the "after" numbers now, not at its next idle flush.
      if (flush) await session.query('SELECT pg_stat_force_next_flush()');
    });
  const jobs = Math.max(1, Math.min(config.database.vacuumJobs, tables.length));
  await Promise.all(Array.from({ length: jobs }, () => worker().catch((error: unknown) => void (fatal ??= error))));
  if (fatal !== undefined) throw fatal;
  return results;
}
