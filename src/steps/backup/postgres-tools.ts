import { commandLine, quote } from '../../remote/shell.js';
import { RemoteCommandError } from '../../remote/target.js';
import type { MaintenanceConfig } from '../../settings/config.js';
import type { StepContext } from '../step.js';
import type { BackupFormat } from './backup-probe.js';

/** -h/-p/-U for the PostgreSQL client tools on the host; -w: fail instead of prompting for a password. */
export function connectionArgs(config: MaintenanceConfig): string[] {
  const { host, port, user } = config.database;
  return ['-w', '-h', host, '-p', String(port), '-U', user];
}

/** Not secret, so on the command line: a dead server fails the tool fast instead of hanging. */
export const TOOL_ENV = { PGCONNECT_TIMEOUT: '15' };

export interface RestoreOptions {
  /** Keep object owners from the dump (a rollback); a test restore uses --no-owner. */
  keepOwners: boolean;
  jobs: number;
}

/**
 * Restores a backup file into an existing, empty database. Exits non-zero when any statement failed or the
 * file could not be read to its end (gzip's status is kept: sh has no pipefail).
 */
function restoreScript(config: MaintenanceConfig, path: string, format: BackupFormat, database: string, options: RestoreOptions): string {
  const connection = connectionArgs(config);
  if (format === 'custom') {
    const owners = options.keepOwners ? [] : ['--no-owner'];
    return commandLine('pg_restore', ['--exit-on-error', '-j', options.jobs, ...owners, ...connection, '-d', database, path]);
  }
  const psql = commandLine('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...connection, '-d', database]);
  if (format === 'plain') return `${psql} -f ${quote(path)} >/dev/null`;
  return [
    'rc_file=$(mktemp) || exit 70',
    `trap 'rm -f -- "$rc_file"' EXIT`,
    `(gzip -dc -- ${quote(path)}; echo $? >"$rc_file") | ${psql} >/dev/null`,
    'status=$?',
    'gzip_status=$(cat "$rc_file")',
    `[ "$gzip_status" = 0 ] || { printf 'gzip -dc %s exited %s: the backup is damaged\\n' ${quote(path)} "$gzip_status" >&2; exit 3; }`,
    'exit $status',
  ].join('\n');
}

/** Restores on the host (password over stdin); throws naming the file, the database and the tool's error. */
export async function runRestore(ctx: StepContext, path: string, format: BackupFormat, database: string, options: RestoreOptions): Promise<number> {
  ctx.log.info(`restoring ${path} (${format}) into database ${database}`);
  const result = await ctx.target.exec(restoreScript(ctx.config, path, format, database, options), {
    secretEnv: ctx.databaseEnv(),
    env: TOOL_ENV,
    signal: ctx.signal,
    tailBytes: 16 * 1024,
  });
  if (result.code !== 0) throw new RemoteCommandError(ctx.target.description, `restoring ${path} into database ${database}`, result);
  return result.durationMs;
}

/** A shorter readable form for dry-run plans. */
export function restoreCommandSummary(format: BackupFormat | 'auto', database: string, keepOwners: boolean): string {
  const custom = `pg_restore --exit-on-error -j 2${keepOwners ? '' : ' --no-owner'} -d ${database} <backup.dump>`;
  const plain = `gunzip -c <backup.sql.gz> | psql -v ON_ERROR_STOP=1 -q -d ${database}`;
  return format === 'custom' ? custom : format === 'auto' ? `${custom}  |  ${plain}` : plain;
}
