import { randomBytes } from 'node:crypto';
import type { Database } from '../../database/database.js';
import { getErrorMessage } from '../../errors.js';
import { formatDuration } from '../../report/human-size.js';
import { backupProblems, probeBackups, type BackupFileProbe } from '../backup/backup-probe.js';
import type { CountComparison } from '../backup/backup-verify.js';
import { countTables, countTablesIn, createDatabase, dropDatabase, type TableCounts } from '../backup/database-admin.js';
import { restoreCommandSummary, runRestore } from '../backup/postgres-tools.js';
import { MINUTES, type Finding, type StepContext, type StepFactory, type StepOutcome } from '../step.js';
import { ReviewFactKeys, type DrDrillFacts } from './review-facts.js';

const SCRATCH_PREFIX = 'mw_dr_';
const SCRATCH_NAME = /^mw_dr_[0-9a-f]{12}$/;

/** Scratch databases of a drill killed before its `finally`: ours by name, and nobody connected. */
async function dropLeftovers(db: Database): Promise<string[]> {
  const rows = await db.query<{ datname: string }>(
    'select datname from pg_database d where datname like $1 and not exists (select 1 from pg_stat_activity a where a.datname = d.datname)',
    [`${SCRATCH_PREFIX}%`],
  );
  const leftovers = rows.map((row) => row.datname).filter((name) => SCRATCH_NAME.test(name));
  for (const name of leftovers) await dropDatabase(db, name);
  return leftovers;
}

/** Per integrity table: rows in the backup, rows live, and live - backup (rows a recovery now would lose). */
function compareCounts(tables: string[], restored: TableCounts, live: TableCounts): CountComparison[] {
  return tables.map((table) => {
    const backup = restored.counts[table];
    const current = live.counts[table];
    return { table, backup, live: current, ...(backup !== undefined && current !== undefined ? { difference: current - backup } : {}) };
  });
}

function unusable(summary: string, title: string, evidence: string, details: unknown): StepOutcome {
  return {
    status: 'failed',
    summary,
    details,
    findings: [
      { severity: 'critical', title, evidence, action: 'Without a restorable backup there is no recovery: fix the backup job, then run the drill again.' },
    ],
  };
}

interface Recovery {
  /** CREATE DATABASE, the restore and the integrity counts: the database part of a recovery. */
  recoveryMs: number;
  restoreMs: number;
  restored?: TableCounts;
  error?: string;
  scratchDropped: boolean;
}

/** Restores into a scratch database, timed; the scratch database is dropped whatever happens. */
async function recover(ctx: StepContext, db: Database, file: BackupFileProbe, scratch: string, findings: Finding[]): Promise<Recovery> {
  const recovery: Recovery = { recoveryMs: 0, restoreMs: 0, scratchDropped: false };
  const started = performance.now();
  try {
    await createDatabase(db, scratch, { like: ctx.config.database.name });
    recovery.restoreMs = await runRestore(ctx, file.path, file.format, scratch, { keepOwners: false, jobs: 2 });
    recovery.restored = await countTablesIn(db, ctx.target, scratch, ctx.config.database.integrityTables);
    recovery.recoveryMs = Math.round(performance.now() - started);
  } catch (error) {
    recovery.error = getErrorMessage(error);
  } finally {
    try {
      await dropDatabase(db, scratch);
      recovery.scratchDropped = true;
    } catch (error) {
      findings.push({
        severity: 'critical',
        title: `Scratch database ${scratch} could not be dropped`,
        evidence: getErrorMessage(error),
        action: `DROP DATABASE "${scratch}" WITH (FORCE);`,
      });
    }
  }
  return recovery;
}

function targetFindings(recoveryMs: number, ageMs: number, rtoTargetMs: number, rpoTargetMs: number, file: BackupFileProbe): Finding[] {
  const findings: Finding[] = [];
  if (recoveryMs > rtoTargetMs) {
    findings.push({
      severity: 'warning',
      title: 'Recovery time objective missed',
      evidence: `restoring ${file.path} took ${formatDuration(recoveryMs)}; dr.rto-target is ${formatDuration(rtoTargetMs)} (and a real recovery adds provisioning and starting the app)`,
      action: 'Speed up restores (custom-format dumps restored with pg_restore -j, a standby to promote) or agree on a longer target.',
    });
  }
  if (ageMs > rpoTargetMs) {
    findings.push({
      severity: 'warning',
      title: 'Recovery point objective missed',
      evidence: `the newest backup ${file.path} is ${formatDuration(ageMs)} old; dr.rpo-target is ${formatDuration(rpoTargetMs)}: a disaster now loses that much`,
      action: 'Back up more often, or archive WAL for point-in-time recovery.',
    });
  }
  return findings;
}

async function run(ctx: StepContext): Promise<StepOutcome> {
  const { config } = ctx;
  const { rtoTargetMs, rpoTargetMs } = config.dr;
  const tables = config.database.integrityTables;
  const { dir, pattern, checksum } = config.backups;
  const probe = await probeBackups(ctx.target, { dir, pattern, checksum, deep: false }, ctx.signal);
  const file = probe.file;
  if (!file) {
    const problem = probe.dirExists ? `no backup matching ${pattern} in ${dir}` : `backup directory ${dir} does not exist`;
    return unusable(`DR drill impossible: ${problem}`, 'No backup to recover from', problem, { dir, pattern });
  }
  const problems = backupProblems(file);
  if (problems.length) return unusable(`DR drill stopped: ${problems.join('; ')}`, 'The newest backup is damaged', problems.join('; '), { file });

  const ageMs = Math.max(0, (probe.now - file.mtime) * 1000);
  const db = await ctx.db();
  const findings: Finding[] = [];
  const leftovers = await dropLeftovers(db);
  if (leftovers.length) ctx.log.warn(`dropped scratch databases left by an interrupted drill: ${leftovers.join(', ')}`);
  const scratch = `${SCRATCH_PREFIX}${randomBytes(6).toString('hex')}`;
  const recovery = await recover(ctx, db, file, scratch, findings);
  const details: Record<string, unknown> = {
    file,
    scratchDatabase: scratch,
    ...recovery,
    backupAgeMs: ageMs,
    rtoTargetMs,
    rpoTargetMs,
    leftoversDropped: leftovers,
  };
  const metrics: Record<string, number> = { backupBytes: file.sizeBytes, backupAgeMs: ageMs, rpoTargetMs, rtoTargetMs, restoreMs: recovery.restoreMs };

  if (recovery.error || !recovery.restored) {
    return {
      status: 'failed',
      summary: `DR drill: restoring ${file.path} failed: ${recovery.error}`,
      metrics,
      details,
      findings: [
        ...findings,
        {
          severity: 'critical',
          title: 'The newest backup does not restore',
          evidence: recovery.error,
          action: 'Take a new backup now and find out why this one fails.',
        },
      ],
    };
  }
  metrics.recoveryMs = recovery.recoveryMs;
  const live = await countTables(db, tables);
  const counts = compareCounts(tables, recovery.restored, live);
  details.counts = counts;
  if (recovery.restored.missing.length) {
    return {
      status: 'failed',
      summary: `DR drill: the restore of ${file.path} lacks integrity table(s) ${recovery.restored.missing.join(', ')}`,
      metrics,
      details,
      findings: [
        ...findings,
        {
          severity: 'critical',
          title: 'The backup misses integrity tables',
          evidence: recovery.restored.missing.join(', '),
          action: 'Check what the backup job dumps (schemas, -t / -n filters).',
        },
      ],
    };
  }
  if (live.missing.length)
    findings.push({ severity: 'critical', title: `Integrity table missing from the live database ${config.database.name}`, evidence: live.missing.join(', ') });
  const behind = counts.filter((entry) => entry.difference !== undefined && entry.difference !== 0);
  if (behind.length) {
    findings.push({
      severity: 'info',
      title: 'A recovery from this backup would lose or bring back rows',
      evidence: behind.map((entry) => `${entry.table}: backup ${entry.backup}, live ${entry.live}`).join('; '),
    });
  }
  findings.push(...targetFindings(recovery.recoveryMs, ageMs, rtoTargetMs, rpoTargetMs, file));

  const facts: DrDrillFacts = { backupPath: file.path, recoveryMs: recovery.recoveryMs, rtoTargetMs, backupAgeMs: ageMs, rpoTargetMs };
  await ctx.saveFacts({ [ReviewFactKeys.drDrill]: facts });
  const rto = `RTO ${formatDuration(recovery.recoveryMs)} (target ${formatDuration(rtoTargetMs)})`;
  const rpo = `RPO ${formatDuration(ageMs)} (target ${formatDuration(rpoTargetMs)})`;
  return {
    status: findings.some((finding) => finding.severity !== 'info') ? 'warning' : 'succeeded',
    summary: `restored ${file.path} into a scratch database: ${rto}, ${rpo}; rows backup/live: ${counts.map((entry) => `${entry.table} ${entry.backup}/${entry.live ?? 'missing'}`).join(', ')}`,
    metrics,
    details,
    findings,
  };
}

export const drDrill: StepFactory = (config) => ({
  id: 'dr.drill',
  title: 'Disaster-recovery drill',
  description: `restores the newest backup in ${config.backups.dir} into a scratch database, times it against dr.rto-target (${formatDuration(config.dr.rtoTargetMs)}), its age against dr.rpo-target (${formatDuration(config.dr.rpoTargetMs)}), compares the integrity tables, and always drops the scratch database`,
  commands: [
    'gzip -t <backup> | pg_restore --list <backup>; sha256sum <backup> vs <backup>.sha256',
    `CREATE DATABASE "${SCRATCH_PREFIX}<random>" TEMPLATE template0`,
    restoreCommandSummary('auto', `${SCRATCH_PREFIX}<random>`, false),
    ...config.database.integrityTables.map((table) => `SELECT count(*) FROM ${table}  -- restored copy and live`),
    `DROP DATABASE "${SCRATCH_PREFIX}<random>" WITH (FORCE)  -- always`,
  ],
  impact: 'none',
  destructive: false,
  idempotent: true,
  timeoutMs: 180 * MINUTES,
  retries: 0,
  run,
});
