import { isConnectionError, type Database } from '../../database/database.js';
import { quoteIdent } from '../../database/sql.js';
import { getErrorMessage } from '../../errors.js';
import { MINUTES, type BackupRecord, type StepContext, type StepFactory, type StepOutcome } from '../step.js';
import { probeBackups } from './backup-probe.js';
import { countTables, countTablesIn, createDatabase, dropDatabase, nameWithSuffix, utcStamp, type TableCounts } from './database-admin.js';
import { restoreCommandSummary, runRestore } from './postgres-tools.js';

/** Databases to hold the admin session: renaming a database needs a session outside it. */
const MAINTENANCE_DATABASES = ['postgres', 'template1'];
/** Sessions on the database get as long to end as a lock would be waited for, and at least this. */
const MIN_SESSIONS_WAIT_MS = 5_000;

async function openMaintenanceSession(ctx: StepContext, live: Database): Promise<Database> {
  const errors: string[] = [];
  for (const name of MAINTENANCE_DATABASES) {
    try {
      return await live.openOther(name, ctx.target);
    } catch (error) {
      errors.push(getErrorMessage(error));
    }
  }
  throw new Error(`cannot open a session outside ${ctx.config.database.name} to rename it: ${errors.join('; ')}`);
}

/** Why the recorded backup file cannot be restored as it was taken, if anything. */
async function checkBackupFile(ctx: StepContext, backup: BackupRecord): Promise<string | undefined> {
  const { dir, pattern } = ctx.config.backups;
  const probe = await probeBackups(ctx.target, { dir, pattern, path: backup.path, checksum: true, deep: false }, ctx.signal);
  const file = probe.file;
  if (!file) return `the window's backup ${backup.path} no longer exists on ${ctx.target.description}`;
  if (!file.integrity.ok) return `${backup.path}: ${file.integrity.detail}`;
  if (backup.sha256 && file.checksum.actual !== backup.sha256) {
    return `${backup.path}: sha256 ${file.checksum.actual} differs from the one recorded for this window (${backup.sha256}): the file changed since`;
  }
  if (!backup.sha256 && file.checksum.state === 'mismatch') return `${backup.path}: sha256 does not match ${backup.path}.sha256`;
  return undefined;
}

/** Terminates every session on a database and waits until none is left. */
async function emptyDatabase(admin: Database, name: string, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const sessions = await admin.query<{ pid: number; usename: string | null; application_name: string }>(
      'select pid, usename, application_name from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [name],
    );
    if (sessions.length === 0) return;
    const refused: string[] = [];
    for (const session of sessions) {
      try {
        await admin.query('select pg_terminate_backend($1)', [session.pid]);
      } catch (error) {
        refused.push(`pid ${session.pid} (${session.usename ?? '?'}, ${session.application_name || 'no application name'}): ${getErrorMessage(error)}`);
      }
    }
    if (Date.now() > deadline) {
      throw new Error(
        `sessions on ${name} would not end within ${waitMs / 1000} s: ${refused.join('; ') || sessions.map((s) => `pid ${s.pid} (${s.usename ?? '?'})`).join(', ')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** live → keep, restored → live. Connections to live are refused meanwhile; a failure halfway renames back. */
async function swapDatabases(ctx: StepContext, admin: Database, restored: string, keep: string): Promise<void> {
  const live = ctx.config.database.name;
  let closedForConnections = false;
  try {
    await admin.query(`ALTER DATABASE ${quoteIdent(live)} WITH ALLOW_CONNECTIONS false`);
    closedForConnections = true;
  } catch (error) {
    ctx.log.warn(`could not refuse new connections to ${live} during the swap (${getErrorMessage(error)}); the app must stay stopped`);
  }
  let liveRenamed = false;
  try {
    await emptyDatabase(admin, live, Math.max(MIN_SESSIONS_WAIT_MS, ctx.config.database.lockTimeoutMs));
    await admin.query(`ALTER DATABASE ${quoteIdent(live)} RENAME TO ${quoteIdent(keep)}`);
    liveRenamed = true;
    await admin.query(`ALTER DATABASE ${quoteIdent(restored)} RENAME TO ${quoteIdent(live)}`);
  } catch (error) {
    if (liveRenamed) {
      await admin.query(`ALTER DATABASE ${quoteIdent(keep)} RENAME TO ${quoteIdent(live)}`).then(
        () => (liveRenamed = false),
        (renameError: unknown) => ctx.log.error(`could not rename ${keep} back to ${live}: ${getErrorMessage(renameError)}`),
      );
    }
    throw error;
  } finally {
    // The kept database must stay reachable for forensics (and the live one, if the swap failed).
    const reopen = liveRenamed ? keep : live;
    if (closedForConnections) {
      await admin
        .query(`ALTER DATABASE ${quoteIdent(reopen)} WITH ALLOW_CONNECTIONS true`)
        .catch((error: unknown) => ctx.log.error(`could not allow connections to ${reopen} again: ${getErrorMessage(error)}`));
    }
  }
}

/** The window's pool lost its sessions to the terminate: run until a fresh session answers from the restored database. */
async function reconnect(ctx: StepContext): Promise<Database> {
  for (let attempt = 1; ; attempt++) {
    const db = await ctx.db();
    try {
      await db.query('select 1');
      return db;
    } catch (error) {
      if (!isConnectionError(error) || attempt >= 5) throw error;
    }
  }
}

/** After a failed swap: if the live name still holds the old database, nothing changed and the copy goes. */
async function swapFailed(
  ctx: StepContext,
  admin: Database,
  failure: { restored: string; keep: string; backup: BackupRecord; error: unknown },
): Promise<StepOutcome> {
  const live = ctx.config.database.name;
  const { restored, keep, backup } = failure;
  const message = getErrorMessage(failure.error);
  const present = new Set(
    (await admin.query<{ datname: string }>('select datname from pg_database where datname = any($1)', [[live, restored, keep]])).map((row) => row.datname),
  );
  if (present.has(live) && !present.has(keep)) {
    await dropDatabase(admin, restored).catch((error: unknown) => ctx.log.error(`could not drop ${restored}: ${getErrorMessage(error)}`));
    return {
      status: 'failed',
      summary: `rollback of ${live} failed at the swap; ${live} is untouched: ${message}`,
      details: { backup, restoredDatabase: restored },
      findings: [
        {
          severity: 'critical',
          title: 'Rollback could not swap the restored database in',
          evidence: message,
          action: 'Stop what holds sessions on the database (the app must be stopped), then roll back again.',
        },
      ],
    };
  }
  return {
    status: 'failed',
    summary: `rollback of ${live} failed halfway: no database is named ${live} now; the old one is ${keep}, the restored one ${restored}: ${message}`,
    details: { backup, restoredDatabase: restored, keptDatabase: keep, databases: [...present] },
    findings: [
      {
        severity: 'critical',
        title: `No database named ${live}`,
        evidence: message,
        action: `Rename one back by hand: ALTER DATABASE "${keep}" RENAME TO "${live}" (as it was) or ALTER DATABASE "${restored}" RENAME TO "${live}" (the backup).`,
      },
    ],
  };
}

/** Restores the backup into a new database shaped like the live one and checks its integrity tables. */
async function restoreCopy(ctx: StepContext, admin: Database, backup: BackupRecord, restored: string): Promise<{ restoreMs: number; counts: TableCounts }> {
  const tables = ctx.config.database.integrityTables;
  await createDatabase(admin, restored, { like: ctx.config.database.name, sameOwner: true });
  const restoreMs = await runRestore(ctx, backup.path, backup.format, restored, { keepOwners: true, jobs: 2 });
  const counts = await countTablesIn(admin, ctx.target, restored, tables);
  if (counts.missing.length > 0) throw new Error(`the restored copy lacks integrity table(s) ${counts.missing.join(', ')}`);
  return { restoreMs, counts };
}

function refused(dbName: string, problem: string, action: string, details?: unknown): StepOutcome {
  return {
    status: 'failed',
    summary: `refusing to roll back ${dbName}: ${problem}`,
    details,
    findings: [{ severity: 'critical', title: 'No usable rollback point for this window', evidence: problem, action }],
  };
}

/**
 * Restores this window's own backup (never "the newest file in the directory", which may predate writes this
 * window must keep) into <db>_restore_<stamp>, checks it, then swaps it in by renaming. The database as it was
 * stays as <db>_before_rollback_<stamp>. Run with the app stopped.
 */
export async function restoreWindowBackup(ctx: StepContext): Promise<StepOutcome> {
  const backup = ctx.facts.backup;
  const dbName = ctx.config.database.name;
  if (!backup) {
    return refused(
      dbName,
      'this window recorded no backup of its own (backup.fresh or backup.verify did not succeed)',
      'Restoring "the latest backup" from the directory could lose every write made since it was taken; decide by hand which backup to restore.',
    );
  }
  const problem = await checkBackupFile(ctx, backup);
  if (problem) return refused(dbName, problem, 'Find out what changed the backup file; restore by hand from a backup you trust.', { backup });

  const stamp = utcStamp(ctx.now());
  const restored = nameWithSuffix(dbName, `_restore_${stamp}`);
  const keep = nameWithSuffix(dbName, `_before_rollback_${stamp}`);
  const tables = ctx.config.database.integrityTables;
  const live = await ctx.db();
  const admin = await openMaintenanceSession(ctx, live);
  try {
    const clashes = await admin.query<{ datname: string }>('select datname from pg_database where datname = any($1)', [[restored, keep]]);
    if (clashes.length > 0) throw new Error(`database ${clashes.map((row) => row.datname).join(', ')} already exists; not overwriting it`);
    const before = await countTables(live, tables);

    let copy: { restoreMs: number; counts: TableCounts };
    try {
      copy = await restoreCopy(ctx, admin, backup, restored);
    } catch (error) {
      await dropDatabase(admin, restored).catch((dropError: unknown) => ctx.log.error(`could not drop ${restored}: ${getErrorMessage(dropError)}`));
      const message = getErrorMessage(error);
      return {
        status: 'failed',
        summary: `rollback of ${dbName} failed before the swap; ${dbName} is untouched: ${message}`,
        details: { backup, restoredDatabase: restored },
        findings: [
          {
            severity: 'critical',
            title: 'Rollback could not restore the backup',
            evidence: message,
            action: `${dbName} is as the window left it; restore by hand.`,
          },
        ],
      };
    }

    ctx.log.info(`swapping: ${dbName} → ${keep}, ${restored} → ${dbName}`);
    try {
      await swapDatabases(ctx, admin, restored, keep);
    } catch (error) {
      return await swapFailed(ctx, admin, { restored, keep, backup, error });
    }
    const after = await countTables(await reconnect(ctx), tables);
    const counts = tables.map((table) => ({
      table,
      beforeRollback: before.counts[table],
      backup: copy.counts.counts[table],
      afterRollback: after.counts[table],
    }));
    const mismatched = counts.filter((entry) => entry.afterRollback !== entry.backup).map((entry) => entry.table);
    return {
      status: mismatched.length > 0 ? 'warning' : 'succeeded',
      summary: `${dbName} restored from ${backup.path} (${backup.kind} backup of ${backup.createdAt}); the database as it was is kept as ${keep} for forensics: drop it when no longer needed`,
      metrics: {
        restoreMs: copy.restoreMs,
        ...Object.fromEntries(counts.filter((entry) => entry.afterRollback !== undefined).map((entry) => [`rows ${entry.table}`, entry.afterRollback!])),
      },
      details: { backup, keptDatabase: keep, counts },
      findings: [
        {
          severity: 'warning',
          title: `Previous database kept as ${keep}`,
          evidence: `renamed from ${dbName} at ${stamp} UTC`,
          action: `Look for writes to keep, then DROP DATABASE "${keep}" to free its space.`,
        },
        ...(mismatched.length > 0
          ? [
              {
                severity: 'critical' as const,
                title: 'Row counts after the rollback differ from the backup',
                evidence: mismatched.join(', '),
                action: 'Something wrote during the rollback: was the app stopped?',
              },
            ]
          : []),
      ],
    };
  } finally {
    await admin.close();
  }
}

export const rollback: StepFactory = (config) => ({
  id: 'rollback',
  title: "Rollback: restore this window's backup",
  description: `restores the backup this window took or verified into a new database and swaps it in for ${config.database.name}, keeping the old one renamed`,
  commands: [
    `CREATE DATABASE "${config.database.name}_restore_<stamp>" TEMPLATE template0`,
    restoreCommandSummary('auto', `${config.database.name}_restore_<stamp>`, true),
    `ALTER DATABASE "${config.database.name}" WITH ALLOW_CONNECTIONS false; pg_terminate_backend(...)`,
    `ALTER DATABASE "${config.database.name}" RENAME TO "${config.database.name}_before_rollback_<stamp>"`,
    `ALTER DATABASE "${config.database.name}_restore_<stamp>" RENAME TO "${config.database.name}"`,
  ],
  impact: 'downtime',
  destructive: false,
  idempotent: false,
  timeoutMs: 120 * MINUTES,
  retries: 0,
  run: restoreWindowBackup,
});
