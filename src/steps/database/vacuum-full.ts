import { analyzeStale, estimateTableBloat, isBloated, type BloatEstimate } from '../../database/bloat.js';
import type { Database } from '../../database/database.js';
import { availableBytes, dataDirectory } from '../../database/free-space.js';
import { displayName, listTables, qualify, tableSize, type TableInfo } from '../../database/relations.js';
import { runTracked } from '../../database/tracked-statement.js';
import { getErrorMessage } from '../../errors.js';
import { formatBytes } from '../../report/human-size.js';
import type { MaintenanceConfig } from '../../settings/config.js';
import { formatDuration } from '../../settings/durations.js';
import { MINUTES, type Finding, type StepContext, type StepFactory, type StepOutcome } from '../step.js';

/** VACUUM FULL writes a new copy before dropping the old one: the table's size plus this margin must be free. */
export const DISK_MARGIN = 0.1;
/** The most bloated tables listed in the details, rewritten or not. */
const CHECKED_ROWS = 20;

interface Rewritten {
  table: string;
  bytesBefore: number;
  bytesAfter: number;
  relfilenodeBefore: number;
  relfilenodeAfter: number;
  durationMs: number;
  bloatPercent?: number;
}

interface NotRewritten {
  table: string;
  reason: 'lock' | 'disk' | 'error';
  message: string;
}

function describeSelection(config: MaintenanceConfig): string {
  const db = config.database;
  return db.vacuumFull === 'all'
    ? 'every table'
    : `tables with estimated bloat >= ${db.bloatThresholdPercent}% and at least ${formatBytes(db.minRelationBytes)}`;
}

export const vacuumFull: StepFactory = (config) => {
  const { lockTimeoutMs, vacuumFullMode } = config.database;
  return {
    id: 'db.vacuum-full',
    title: 'VACUUM FULL of bloated tables',
    description: `Rewrites ${describeSelection(config)}, one at a time, each only if its lock is granted within ${formatDuration(lockTimeoutMs)} and the disk has room for the copy.`,
    commands: [
      'ANALYZE <table>  -- only tables with stale statistics, so the bloat estimate is right',
      'SELECT … FROM pg_stats / pg_class  -- bloat estimate per table (ioguix model)',
      `df -Pk <data directory or tablespace>  -- before each table: free space >= its total size + ${DISK_MARGIN * 100}%`,
      `SET lock_timeout = '${lockTimeoutMs}ms'; VACUUM (FULL, ANALYZE) <table>  -- for ${describeSelection(config)}`,
    ],
    impact: vacuumFullMode === 'downtime' ? 'downtime' : 'degraded',
    destructive: true,
    idempotent: true,
    timeoutMs: 120 * MINUTES,
    retries: 0,
    run: (ctx) => runVacuumFull(ctx),
  };
};

async function runVacuumFull(ctx: StepContext): Promise<StepOutcome> {
  const { config, log } = ctx;
  const settings = config.database;
  const started = Date.now();
  const db = await ctx.db();

  const owned = (await listTables(db)).filter((table) => table.owned);
  const analyzed = settings.vacuumFull === 'bloated' ? await analyzeStale(db, owned, settings.lockTimeoutMs) : [];
  if (analyzed.length > 0) log.info(`analyzed ${analyzed.map(displayName).join(', ')} first (statistics were stale)`);
  const tables = analyzed.length > 0 ? (await listTables(db)).filter((table) => table.owned) : owned;
  const estimates = await estimateTableBloat(db);
  const candidates = tables
    .filter((table) => settings.vacuumFull === 'all' || isBloated(estimates.get(table.oid), settings.bloatThresholdPercent, settings.minRelationBytes))
    .sort((a, b) => (estimates.get(b.oid)?.bloatBytes ?? 0) - (estimates.get(a.oid)?.bloatBytes ?? 0));
  const checked = tables
    .map((table) => ({ table: displayName(table), totalBytes: table.totalBytes, ...pickEstimate(estimates.get(table.oid)) }))
    .sort((a, b) => (b.bloatBytes ?? 0) - (a.bloatBytes ?? 0))
    .slice(0, CHECKED_ROWS);

  if (candidates.length === 0) {
    return {
      status: 'skipped',
      summary: `no table needs a rewrite: none of ${tables.length} has estimated bloat >= ${settings.bloatThresholdPercent}% and at least ${formatBytes(settings.minRelationBytes)}`,
      metrics: { bytesBefore: 0, bytesAfter: 0, reclaimedBytes: 0, tablesRewritten: 0, tablesSkipped: 0, durationMs: Date.now() - started },
      details: { checked },
    };
  }
  log.info(
    `${candidates.length} table(s) to rewrite: ${candidates.map((table) => `${displayName(table)} (${estimates.get(table.oid)?.bloatPercent ?? '?'}% bloat)`).join(', ')}`,
  );

  const defaultDir = candidates.some((table) => !table.tablespaceLocation) ? await dataDirectory(db, config) : undefined;
  const rewritten: Rewritten[] = [];
  const notRewritten: NotRewritten[] = [];
  for (const table of candidates) {
    const result = await rewriteTable(ctx, db, table, table.tablespaceLocation || defaultDir, estimates.get(table.oid));
    if (!result) {
      log.info(`${displayName(table)} was dropped meanwhile`);
    } else if ('reason' in result) {
      notRewritten.push(result);
      log.warn(`${result.table} not rewritten: ${result.message}`);
    } else {
      rewritten.push(result);
      log.info(`${result.table}: ${formatBytes(result.bytesBefore)} → ${formatBytes(result.bytesAfter)} in ${formatDuration(result.durationMs)}`);
    }
  }
  return outcome(config, { rewritten, notRewritten, checked, started });
}

function pickEstimate(estimate: BloatEstimate | undefined): { bloatPercent?: number; bloatBytes?: number } {
  return estimate?.estimable ? { bloatPercent: estimate.bloatPercent, bloatBytes: estimate.bloatBytes } : {};
}

async function rewriteTable(
  ctx: StepContext,
  db: Database,
  table: TableInfo,
  directory: string | undefined,
  estimate: BloatEstimate | undefined,
): Promise<Rewritten | NotRewritten | undefined> {
  const name = displayName(table);
  const before = await tableSize(db, table.oid);
  if (!before) return undefined;

  if (!directory) {
    return {
      table: name,
      reason: 'disk',
      message:
        'cannot tell which filesystem holds the data directory (the role may not read data_directory): refused rather than risk filling the disk; set database.data-directory',
    };
  }
  const needed = Math.ceil(before.totalBytes * (1 + DISK_MARGIN));
  let free: number;
  try {
    free = await availableBytes(ctx.target, directory);
  } catch (error) {
    return { table: name, reason: 'disk', message: `cannot check the free space on ${directory}: ${getErrorMessage(error)}` };
  }
  if (free < needed) {
    return {
      table: name,
      reason: 'disk',
      message: `refused: the copy needs ${formatBytes(needed)} free on ${directory} (table ${formatBytes(before.totalBytes)} + ${DISK_MARGIN * 100}%), only ${formatBytes(free)} available`,
    };
  }

  const sql = `VACUUM (FULL, ANALYZE) ${qualify(table.schema, table.name)}`;
  const result = await db.withSession((session) =>
    runTracked(db, session, {
      label: name,
      sql,
      progressView: 'pg_stat_progress_cluster',
      lockTimeoutMs: ctx.config.database.lockTimeoutMs,
      log: ctx.log,
      signal: ctx.signal,
    }),
  );
  if (!result.ok) {
    const message =
      result.reason === 'lock'
        ? `its lock was not granted within ${formatDuration(ctx.config.database.lockTimeoutMs)} (something else holds a lock on it)`
        : result.message;
    return { table: name, reason: result.reason, message };
  }
  const after = (await tableSize(db, table.oid)) ?? { totalBytes: 0, relfilenode: 0 };
  return {
    table: name,
    bytesBefore: before.totalBytes,
    bytesAfter: after.totalBytes,
    relfilenodeBefore: before.relfilenode,
    relfilenodeAfter: after.relfilenode,
    durationMs: result.durationMs,
    ...(estimate?.estimable ? { bloatPercent: estimate.bloatPercent } : {}),
  };
}

function outcome(config: MaintenanceConfig, parts: { rewritten: Rewritten[]; notRewritten: NotRewritten[]; checked: unknown[]; started: number }): StepOutcome {
  const { rewritten, notRewritten } = parts;
  const bytesBefore = rewritten.reduce((sum, table) => sum + table.bytesBefore, 0);
  const bytesAfter = rewritten.reduce((sum, table) => sum + table.bytesAfter, 0);
  const skipped = notRewritten.filter((table) => table.reason !== 'error');
  const failed = notRewritten.filter((table) => table.reason === 'error');
  const findings: Finding[] = notRewritten.map((table) => findingFor(config, table));

  let summary = `rewrote ${rewritten.length} of ${rewritten.length + notRewritten.length} table(s), reclaimed ${formatBytes(bytesBefore - bytesAfter)} (${formatBytes(bytesBefore)} → ${formatBytes(bytesAfter)})`;
  if (skipped.length > 0)
    summary += `; skipped ${skipped.map((table) => `${table.table} (${table.reason === 'lock' ? 'lock busy' : 'not enough disk'})`).join(', ')}`;
  if (failed.length > 0) summary += `; failed ${failed.map((table) => table.table).join(', ')}`;
  return {
    status: failed.length > 0 ? 'failed' : skipped.length > 0 ? 'warning' : 'succeeded',
    summary,
    metrics: {
      bytesBefore,
      bytesAfter,
      reclaimedBytes: bytesBefore - bytesAfter,
      tablesRewritten: rewritten.length,
      tablesSkipped: skipped.length,
      tablesFailed: failed.length,
      durationMs: Date.now() - parts.started,
    },
    details: { rewritten, notRewritten, checked: parts.checked },
    findings,
  };
}

function findingFor(config: MaintenanceConfig, table: NotRewritten): Finding {
  switch (table.reason) {
    case 'lock':
      return {
        severity: 'warning',
        title: `${table.table} was not rewritten: its lock was busy`,
        evidence: table.message,
        action: `Nothing changed on it. Look in pg_stat_activity for long or idle-in-transaction sessions on it; the next window tries again (lock timeout ${formatDuration(config.database.lockTimeoutMs)}).`,
      };
    case 'disk':
      return {
        severity: 'warning',
        title: `${table.table} was not rewritten: not enough disk for its copy`,
        evidence: table.message,
        action:
          'Free space on that filesystem (or set database.data-directory if it could not be found); VACUUM FULL needs room for a full copy until it commits.',
      };
    case 'error':
      return {
        severity: 'critical',
        title: `VACUUM FULL of ${table.table} failed`,
        evidence: table.message,
        action: 'Read the PostgreSQL log for this table; the old copy is intact (the rewrite rolled back).',
      };
  }
}
