import { analyzeStale, estimateIndexBloat, isBloated } from '../../database/bloat.js';
import type { Database } from '../../database/database.js';
import { displayName, isReindexLeftover, listIndexes, listTables, qualify, type IndexInfo } from '../../database/relations.js';
import { runTracked, type StatementResult } from '../../database/tracked-statement.js';
import { formatBytes } from '../../report/human-size.js';
import type { MaintenanceConfig } from '../../settings/config.js';
import { formatDuration } from '../../settings/durations.js';
import { MINUTES, type Finding, type StepContext, type StepFactory, type StepOutcome } from '../step.js';

type Failure = Extract<StatementResult, { ok: false }>;

interface Rebuilt {
  /** An index (concurrently mode) or a table (database mode). */
  name: string;
  why: string;
  /** How many indexes that was. */
  indexes: number;
  bytesBefore: number;
  bytesAfter: number;
  durationMs: number;
}

interface NotRebuilt {
  name: string;
  why: string;
  reason: 'lock' | 'error';
  message: string;
  code?: string;
  /** It was invalid before: a failure is reported, not fatal. */
  wasInvalid: boolean;
}

interface Work {
  rebuilt: Rebuilt[];
  notRebuilt: NotRebuilt[];
  /** Found at the start: left by an earlier interrupted REINDEX CONCURRENTLY. */
  leftoversDropped: string[];
  /** Half-built copies of this run's own failed attempts, dropped again. */
  failedCopiesDropped: string[];
  /** Leftovers that could not be dropped (their table was busy). */
  leftoversRemaining: string[];
}

function indexName(index: Pick<IndexInfo, 'schema' | 'name'>): string {
  return displayName(index);
}

export const reindex: StepFactory = (config) => {
  const wholeDatabase = config.database.reindex === 'database';
  const { lockTimeoutMs, bloatThresholdPercent, minRelationBytes } = config.database;
  return {
    id: 'db.reindex',
    title: wholeDatabase ? 'REINDEX of every table' : 'REINDEX CONCURRENTLY of invalid and bloated indexes',
    description: wholeDatabase
      ? 'Rebuilds every index of every user table (what REINDEX DATABASE does, table by table), with the application stopped.'
      : `Drops indexes left by interrupted REINDEX CONCURRENTLY, then rebuilds, without blocking writes, invalid indexes and those with estimated bloat >= ${bloatThresholdPercent}% and at least ${formatBytes(minRelationBytes)}.`,
    commands: [
      `SET lock_timeout = '${lockTimeoutMs}ms'; DROP INDEX CONCURRENTLY IF EXISTS <index>  -- invalid leftovers named *_ccnew / *_ccold`,
      ...(wholeDatabase
        ? ['REINDEX TABLE <table>  -- each user table; if one fails, its indexes one by one (REINDEX INDEX), so one broken index does not stop the rest']
        : [
            'ANALYZE <table>  -- only tables with stale statistics, so the bloat estimate is right',
            'SELECT … FROM pg_stats / pg_class  -- bloat estimate per btree index (ioguix model)',
            `REINDEX INDEX CONCURRENTLY <index>  -- invalid indexes, and indexes with estimated bloat >= ${bloatThresholdPercent}% and >= ${formatBytes(minRelationBytes)}`,
          ]),
    ],
    impact: wholeDatabase ? 'downtime' : 'degraded',
    destructive: wholeDatabase,
    idempotent: true,
    timeoutMs: 120 * MINUTES,
    retries: 0,
    run: (ctx) => runReindex(ctx, wholeDatabase),
  };
};

async function runReindex(ctx: StepContext, wholeDatabase: boolean): Promise<StepOutcome> {
  const started = Date.now();
  const db = await ctx.db();
  const indexes = (await listIndexes(db)).filter((index) => index.owned);
  const work: Work = { rebuilt: [], notRebuilt: [], leftoversDropped: [], failedCopiesDropped: [], leftoversRemaining: [] };
  await dropLeftovers(ctx, db, indexes.filter(isReindexLeftover), work, 'found');
  const remaining = indexes.filter((index) => !isReindexLeftover(index));
  if (wholeDatabase) await reindexTables(ctx, db, remaining, work);
  else await reindexTargets(ctx, db, remaining, work);
  return outcome(ctx.config, work, wholeDatabase, started);
}

/** Concurrently mode: invalid indexes first, then bloated ones, largest bloat first. */
async function reindexTargets(ctx: StepContext, db: Database, indexes: IndexInfo[], work: Work): Promise<void> {
  const { bloatThresholdPercent, minRelationBytes, lockTimeoutMs } = ctx.config.database;
  const analyzed = await analyzeStale(
    db,
    (await listTables(db)).filter((table) => table.owned),
    lockTimeoutMs,
  );
  if (analyzed.length > 0) ctx.log.info(`analyzed ${analyzed.map(displayName).join(', ')} first (statistics were stale)`);
  const estimates = await estimateIndexBloat(db);
  const invalid = indexes.filter((index) => !index.valid).map((index) => ({ index, why: 'invalid' }));
  const bloated = indexes
    .filter((index) => index.valid && isBloated(estimates.get(index.oid), bloatThresholdPercent, minRelationBytes))
    .sort((a, b) => (estimates.get(b.oid)?.bloatBytes ?? 0) - (estimates.get(a.oid)?.bloatBytes ?? 0))
    .map((index) => ({ index, why: `~${estimates.get(index.oid)?.bloatPercent}% bloat` }));
  if (invalid.length + bloated.length === 0) return;
  ctx.log.info(`to rebuild: ${[...invalid, ...bloated].map(({ index, why }) => `${indexName(index)} (${why})`).join(', ')}`);

  const busyTables = new Set<string>();
  for (const { index, why } of [...invalid, ...bloated]) {
    const name = indexName(index);
    const table = `${index.schema}.${index.table}`;
    if (busyTables.has(table)) {
      work.notRebuilt.push({ name, why, reason: 'lock', message: `not tried: ${table} was busy for an earlier index in this run`, wasInvalid: !index.valid });
      continue;
    }
    const before = await indexState(db, index);
    const result = await rebuild(ctx, db, name, `REINDEX INDEX CONCURRENTLY ${qualify(index.schema, index.name)}`);
    const after = await indexState(db, index);
    // Failing in its last phase (waiting to drop the old copy), it has already swapped the new index in.
    const swapped = after.valid && after.relfilenode !== before.relfilenode;
    if (result.ok || swapped) {
      work.rebuilt.push({ name, why, indexes: 1, bytesBefore: before.bytes, bytesAfter: after.bytes, durationMs: result.durationMs });
      ctx.log.info(`${name} (${why}) rebuilt: ${formatBytes(before.bytes)} → ${formatBytes(after.bytes)} in ${formatDuration(result.durationMs)}`);
    }
    if (result.ok) continue;
    if (result.reason === 'lock') busyTables.add(table);
    if (!swapped) {
      work.notRebuilt.push(notRebuilt(name, why, result, !index.valid));
      ctx.log.warn(`${name} not rebuilt: ${result.message}`);
    }
    // A failed REINDEX CONCURRENTLY leaves its half-built copy behind as an invalid *_ccnew (or *_ccold) index.
    const leftovers = (await listIndexes(db)).filter(
      (other) =>
        other.schema === index.schema && other.table === index.table && isReindexLeftover(other) && !work.leftoversRemaining.includes(indexName(other)),
    );
    await dropLeftovers(ctx, db, leftovers, work, 'own');
  }
}

/** Database mode: every table's indexes; a table that fails is retried index by index. */
async function reindexTables(ctx: StepContext, db: Database, indexes: IndexInfo[], work: Work): Promise<void> {
  const tables = [...new Set(indexes.map((index) => `${index.schema}\u0000${index.table}`))].map((key) => {
    const [schema = '', name = ''] = key.split('\u0000');
    return { schema, name };
  });
  for (const table of tables) {
    const name = displayName(table);
    const before = await indexesSize(db, table);
    const result = await rebuild(ctx, db, name, `REINDEX TABLE ${qualify(table.schema, table.name)}`);
    if (result.ok) {
      const after = await indexesSize(db, table);
      const count = indexes.filter((index) => index.schema === table.schema && index.table === table.name).length;
      work.rebuilt.push({ name, why: 'all indexes', indexes: count, bytesBefore: before, bytesAfter: after, durationMs: result.durationMs });
      ctx.log.info(`${name}: indexes rebuilt, ${formatBytes(before)} → ${formatBytes(after)} in ${formatDuration(result.durationMs)}`);
      continue;
    }
    if (result.reason === 'lock') {
      work.notRebuilt.push(notRebuilt(name, 'all indexes', result, false));
      continue;
    }
    ctx.log.warn(`REINDEX TABLE ${name} failed (${result.message}); rebuilding its indexes one by one`);
    for (const index of indexes.filter((other) => other.schema === table.schema && other.table === table.name)) {
      const indexBefore = await indexState(db, index);
      const single = await rebuild(ctx, db, indexName(index), `REINDEX INDEX ${qualify(index.schema, index.name)}`);
      if (single.ok) {
        const indexAfter = await indexState(db, index);
        work.rebuilt.push({
          name: indexName(index),
          why: 'all indexes',
          indexes: 1,
          bytesBefore: indexBefore.bytes,
          bytesAfter: indexAfter.bytes,
          durationMs: single.durationMs,
        });
      } else {
        work.notRebuilt.push(notRebuilt(indexName(index), 'all indexes', single, !index.valid));
      }
    }
  }
}

function rebuild(ctx: StepContext, db: Database, label: string, sql: string): Promise<StatementResult> {
  return db.withSession((session) =>
    runTracked(db, session, {
      label,
      sql,
      progressView: 'pg_stat_progress_create_index',
      lockTimeoutMs: ctx.config.database.lockTimeoutMs,
      log: ctx.log,
      signal: ctx.signal,
    }),
  );
}

function notRebuilt(name: string, why: string, result: Failure, wasInvalid: boolean): NotRebuilt {
  const message = result.detail ? `${result.message}: ${result.detail}` : result.message;
  return { name, why, reason: result.reason, message, ...(result.code ? { code: result.code } : {}), wasInvalid };
}

async function dropLeftovers(ctx: StepContext, db: Database, leftovers: IndexInfo[], work: Work, origin: 'found' | 'own'): Promise<void> {
  for (const leftover of leftovers) {
    const name = indexName(leftover);
    const result = await db.withSession(async (session) =>
      runTracked(db, session, {
        label: name,
        sql: `DROP INDEX CONCURRENTLY IF EXISTS ${qualify(leftover.schema, leftover.name)}`,
        progressView: 'pg_stat_progress_create_index',
        lockTimeoutMs: ctx.config.database.lockTimeoutMs,
        log: ctx.log,
        signal: ctx.signal,
      }),
    );
    if (result.ok) {
      if (origin === 'found') {
        work.leftoversDropped.push(name);
        ctx.log.info(`dropped ${name}: an invalid copy left behind by an earlier interrupted REINDEX CONCURRENTLY`);
      } else {
        work.failedCopiesDropped.push(name);
        ctx.log.info(`dropped ${name}: the copy this failed rebuild left behind`);
      }
    } else {
      work.leftoversRemaining.push(name);
      ctx.log.warn(`could not drop the leftover ${name}: ${result.message}`);
    }
  }
}

async function indexState(db: Database, index: Pick<IndexInfo, 'schema' | 'name'>): Promise<{ bytes: number; relfilenode: number; valid: boolean }> {
  // REINDEX CONCURRENTLY gives the index a new oid under the same name: look it up by name.
  const [row] = await db.query(
    'SELECT pg_relation_size(c.oid) AS bytes, c.relfilenode::int8 AS relfilenode, i.indisvalid AS valid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid WHERE c.oid = to_regclass($1)',
    [qualify(index.schema, index.name)],
  );
  return { bytes: Number(row?.bytes ?? 0), relfilenode: Number(row?.relfilenode ?? 0), valid: Boolean(row?.valid) };
}

async function indexesSize(db: Database, table: { schema: string; name: string }): Promise<number> {
  const [row] = await db.query('SELECT pg_indexes_size(to_regclass($1)) AS bytes', [qualify(table.schema, table.name)]);
  return Number(row?.bytes ?? 0);
}

function findingFor(config: MaintenanceConfig, item: NotRebuilt): Finding {
  if (item.reason === 'lock') {
    return {
      severity: 'warning',
      title: `${item.name} was not rebuilt: its table was busy`,
      evidence: item.message,
      action: `Nothing changed on it. Look in pg_stat_activity for long transactions; the next window tries again (lock timeout ${formatDuration(config.database.lockTimeoutMs)}).`,
    };
  }
  if (item.wasInvalid) {
    const duplicates = item.code === '23505';
    return {
      severity: 'warning',
      title: `invalid index ${item.name} cannot be rebuilt`,
      evidence: item.message,
      action: duplicates
        ? `The table holds duplicate keys for this unique index (a CREATE UNIQUE INDEX CONCURRENTLY failed on them). It is not used by queries and enforces nothing. Remove the duplicates and run db.reindex again, or drop it: DROP INDEX CONCURRENTLY ${item.name};`
        : `It is not used by queries. Fix the cause above and run db.reindex again, or drop it: DROP INDEX CONCURRENTLY ${item.name};`,
    };
  }
  return {
    severity: 'critical',
    title: `rebuilding ${item.name} failed`,
    evidence: item.message,
    action: 'Read the PostgreSQL log; the existing index is still in use (the rebuild rolled back).',
  };
}

function outcome(config: MaintenanceConfig, work: Work, wholeDatabase: boolean, started: number): StepOutcome {
  const bytesBefore = work.rebuilt.reduce((sum, item) => sum + item.bytesBefore, 0);
  const bytesAfter = work.rebuilt.reduce((sum, item) => sum + item.bytesAfter, 0);
  const skipped = work.notRebuilt.filter((item) => item.reason === 'lock');
  const invalidUnfixable = work.notRebuilt.filter((item) => item.reason === 'error' && item.wasInvalid);
  const failed = work.notRebuilt.filter((item) => item.reason === 'error' && !item.wasInvalid);
  const findings = work.notRebuilt.map((item) => findingFor(config, item));
  if (work.leftoversRemaining.length > 0) {
    findings.push({
      severity: 'warning',
      title: `leftover index(es) of an interrupted REINDEX CONCURRENTLY remain: ${work.leftoversRemaining.join(', ')}`,
      action: 'Their table was busy; they are unused but still slow writes. The next db.reindex drops them, or: DROP INDEX CONCURRENTLY <name>;',
    });
  }

  const what = wholeDatabase ? 'table(s)' : 'index(es)';
  const parts = [
    `rebuilt ${work.rebuilt.length} ${what}, reclaimed ${formatBytes(bytesBefore - bytesAfter)} (${formatBytes(bytesBefore)} → ${formatBytes(bytesAfter)})`,
  ];
  if (work.leftoversDropped.length > 0)
    parts.push(`dropped ${work.leftoversDropped.length} leftover(s) of an interrupted REINDEX CONCURRENTLY: ${work.leftoversDropped.join(', ')}`);
  if (skipped.length > 0) parts.push(`skipped (lock busy): ${skipped.map((item) => item.name).join(', ')}`);
  if (invalidUnfixable.length > 0) parts.push(`cannot rebuild invalid: ${invalidUnfixable.map((item) => item.name).join(', ')}`);
  if (failed.length > 0) parts.push(`failed: ${failed.map((item) => item.name).join(', ')}`);
  const nothing = work.rebuilt.length + work.notRebuilt.length + work.leftoversDropped.length + work.leftoversRemaining.length === 0;
  const warn = skipped.length + invalidUnfixable.length + work.leftoversRemaining.length > 0;
  return {
    status: failed.length > 0 ? 'failed' : warn ? 'warning' : nothing ? 'skipped' : 'succeeded',
    summary: nothing ? `no index is invalid or over ${config.database.bloatThresholdPercent}% estimated bloat` : parts.join('; '),
    metrics: {
      indexesRebuilt: work.rebuilt.reduce((sum, item) => sum + item.indexes, 0),
      bytesBefore,
      bytesAfter,
      reclaimedBytes: bytesBefore - bytesAfter,
      leftoversDropped: work.leftoversDropped.length,
      indexesSkipped: skipped.length,
      indexesFailed: failed.length + invalidUnfixable.length,
      durationMs: Date.now() - started,
    },
    details: work,
    findings,
  };
}
