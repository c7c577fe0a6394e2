import { randomBytes } from 'node:crypto';
import type { Database } from '../../database/database.js';
import { getErrorMessage } from '../../errors.js';
import { MINUTES, type Finding, type StepContext, type StepFactory, type StepOutcome } from '../step.js';
import { backupProblems, backupRecord, probeBackups, type BackupFileProbe } from './backup-probe.js';
import { countTables, countTablesIn, createDatabase, dropDatabase, type TableCounts } from './database-admin.js';
import { restoreCommandSummary, runRestore } from './postgres-tools.js';

const TEMP_PREFIX = 'mw_verify_';
const TEMP_NAME = /^mw_verify_[0-9a-f]{12}$/;

export interface CountComparison {
  table: string;
  backup?: number;
  live?: number;
  /** live - backup: rows written since the backup (or removed, when negative). */
  difference?: number;
}

function compareCounts(tables: string[], restored: TableCounts, live: TableCounts): CountComparison[] {
  return tables.map((table) => {
    const backup = restored.counts[table];
    const current = live.counts[table];
    return { table, backup, live: current, ...(backup !== undefined && current !== undefined ? { difference: current - backup } : {}) };
  });
}

/** Test-restore databases left by a run killed before its `finally`: ours by name, and nobody connected. */
async function dropLeftovers(db: Database): Promise<string[]> {
  const rows = await db.query<{ datname: string }>(
    'select datname from pg_database d where datname like $1 and not exists (select 1 from pg_stat_activity a where a.datname = d.datname)',
    [`${TEMP_PREFIX}%`],
  );
  const leftovers = rows.map((row) => row.datname).filter((name) => TEMP_NAME.test(name));
  for (const name of leftovers) await dropDatabase(db, name);
  return leftovers;
}

async function chooseBackup(ctx: StepContext): Promise<{ file?: BackupFileProbe; problems: string[]; source: string }> {
  const { dir, pattern, checksum } = ctx.config.backups;
  const fresh = ctx.facts.backup?.kind === 'fresh' ? ctx.facts.backup : undefined;
  // The window's own backup always has a sidecar and a recorded sha256: check them whatever backups.checksum says.
  const probe = await probeBackups(ctx.target, { dir, pattern, path: fresh?.path, checksum: checksum || fresh !== undefined, deep: false }, ctx.signal);
  if (!probe.file) {
    const problem = fresh
      ? `this window's fresh backup ${fresh.path} is gone`
      : probe.dirExists
        ? `no backup matching ${pattern} in ${dir}`
        : `backup directory ${dir} does not exist`;
    return { problems: [problem], source: fresh ? 'fresh backup of this window' : 'newest in the backup directory' };
  }
  const problems = backupProblems(probe.file);
  if (fresh?.sha256 && probe.file.checksum.actual && probe.file.checksum.actual !== fresh.sha256) {
    problems.push(`${fresh.path}: sha256 ${probe.file.checksum.actual} differs from the one recorded when it was taken (${fresh.sha256})`);
  }
  return { file: probe.file, problems, source: fresh ? 'fresh backup of this window' : 'newest in the backup directory' };
}

async function run(ctx: StepContext): Promise<StepOutcome> {
  const config = ctx.config;
  const tables = config.database.integrityTables;
  const chosen = await chooseBackup(ctx);
  if (!chosen.file || chosen.problems.length > 0) {
    return {
      status: 'failed',
      summary: `backup not usable: ${chosen.problems.join('; ')}`,
      details: { source: chosen.source, file: chosen.file, problems: chosen.problems },
      findings: chosen.problems.map((problem) => ({
        severity: 'critical',
        title: 'Backup failed verification',
        evidence: problem,
        action: 'Take a new backup (backup.fresh) and find out why this one is damaged.',
      })),
    };
  }
  const file = chosen.file;
  const db = await ctx.db();
  const findings: Finding[] = [];
  const leftovers = await dropLeftovers(db);
  if (leftovers.length > 0) ctx.log.warn(`dropped test-restore databases left by an interrupted run: ${leftovers.join(', ')}`);

  const temp = `${TEMP_PREFIX}${randomBytes(6).toString('hex')}`;
  let restoreMs = 0;
  let restored: TableCounts | undefined;
  let restoreError: string | undefined;
  let dropped = false;
  try {
    await createDatabase(db, temp, { like: config.database.name });
    restoreMs = await runRestore(ctx, file.path, file.format, temp, { keepOwners: false, jobs: 2 });
    restored = await countTablesIn(db, ctx.target, temp, tables);
  } catch (error) {
    restoreError = getErrorMessage(error);
  } finally {
    try {
      await dropDatabase(db, temp);
      dropped = true;
    } catch (error) {
      findings.push({
        severity: 'critical',
        title: `Test-restore database ${temp} could not be dropped`,
        evidence: getErrorMessage(error),
        action: `DROP DATABASE "${temp}" WITH (FORCE);`,
      });
    }
  }
  const live = await countTables(db, tables);
  const comparison = restored ? compareCounts(tables, restored, live) : [];
  const details = {
    source: chosen.source,
    file,
    tempDatabase: temp,
    tempDatabaseDropped: dropped,
    leftoversDropped: leftovers,
    restoreMs,
    counts: comparison,
    restoreError,
  };
  const metrics = { backupBytes: file.sizeBytes, restoreMs, tablesCompared: comparison.length };

  if (restoreError) {
    return {
      status: 'failed',
      summary: `test restore of ${file.path} failed: ${restoreError}`,
      metrics,
      details,
      findings: [...findings, { severity: 'critical', title: 'Backup does not restore', evidence: restoreError }],
    };
  }
  const missing = restored!.missing;
  if (missing.length > 0) {
    return {
      status: 'failed',
      summary: `test restore of ${file.path} lacks integrity table${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
      metrics,
      details,
      findings: [
        ...findings,
        {
          severity: 'critical',
          title: 'Backup misses integrity tables',
          evidence: missing.join(', '),
          action: 'Check what the backup job dumps (schemas, -t / -n filters).',
        },
      ],
    };
  }
  if (live.missing.length > 0) {
    findings.push({ severity: 'critical', title: `Integrity table missing from the live database ${config.database.name}`, evidence: live.missing.join(', ') });
  }
  const differing = comparison.filter((entry) => entry.difference !== undefined && entry.difference !== 0);
  if (differing.length > 0) {
    findings.push({
      severity: 'info',
      title: 'Row counts differ between the backup and the live database',
      evidence: differing.map((entry) => `${entry.table}: backup ${entry.backup}, live ${entry.live}`).join('; '),
      action: 'Expected while the app writes; a live count below the backup means rows were deleted since it was taken.',
    });
  }
  if (ctx.facts.backup?.kind !== 'fresh') await ctx.saveFacts({ backup: backupRecord(file, 'verified') });
  const countText = comparison.map((entry) => `${entry.table} ${entry.backup}/${entry.live ?? 'missing'}`).join(', ');
  return {
    status: findings.some((finding) => finding.severity !== 'info') ? 'warning' : 'succeeded',
    summary: `${file.path} restored into a temporary database in ${(restoreMs / 1000).toFixed(1)} s; rows backup/live: ${countText}`,
    metrics,
    details,
    findings,
  };
}

export const backupVerify: StepFactory = (config) => ({
  id: 'backup.verify',
  title: 'Backup verification with a test restore',
  description: `checks integrity and sha256 of the newest backup in ${config.backups.dir} (or this window's fresh one), restores it into a temporary database and compares row counts`,
  commands: [
    'gzip -t <backup> | pg_restore --list <backup>; sha256sum <backup> vs <backup>.sha256',
    `CREATE DATABASE "${TEMP_PREFIX}<random>" TEMPLATE template0`,
    restoreCommandSummary('auto', `${TEMP_PREFIX}<random>`, false),
    ...config.database.integrityTables.map((table) => `SELECT count(*) FROM ${table}  -- restored copy and live`),
    `DROP DATABASE "${TEMP_PREFIX}<random>" WITH (FORCE)  -- always`,
  ],
  impact: 'none',
  destructive: false,
  idempotent: true,
  timeoutMs: 120 * MINUTES,
  retries: 0,
  providesBackup: 'verified',
  run,
});
