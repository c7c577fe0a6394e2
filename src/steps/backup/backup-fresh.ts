import { commandLine, quote } from '../../remote/shell.js';
import { RemoteCommandError } from '../../remote/target.js';
import type { MaintenanceConfig } from '../../settings/config.js';
import { MINUTES, type BackupRecord, type StepContext, type StepFactory, type StepOutcome } from '../step.js';
import { probeBackups } from './backup-probe.js';
import { utcStamp } from './database-admin.js';
import { connectionArgs, TOOL_ENV } from './postgres-tools.js';

/** A new dump is assumed to be this much bigger than the previous one, at most, when checking free space. */
const GROWTH_HEADROOM = 1.25;

function freshBackupName(config: MaintenanceConfig, now: Date): string {
  return `${config.database.name.replace(/[^A-Za-z0-9_.-]/g, '_')}_${utcStamp(now)}_window.dump`;
}

function dumpCommand(config: MaintenanceConfig, file: string): string {
  return commandLine('pg_dump', [
    '-Fc',
    `--lock-wait-timeout=${config.database.lockTimeoutMs}`,
    ...connectionArgs(config),
    '-d',
    config.database.name,
    '-f',
    file,
  ]);
}

/**
 * Dumps to <name>.partial, checks it is readable, writes the sha256sum sidecar, renames both into place and
 * re-hashes. Any failure (or a kill) removes what was written: no half backup ever carries the final name.
 */
function freshBackupScript(config: MaintenanceConfig, name: string): string {
  const dir = config.backups.dir;
  return `
set -u
umask 077
final=${quote(`${dir}/${name}`)}; partial="$final.partial"; sidecar="$final.sha256"
[ -d ${quote(dir)} ] || { printf 'backup directory %s does not exist\\n' ${quote(dir)} >&2; exit 2; }
trap 'rm -f -- "$partial" "$sidecar.partial"' EXIT
trap 'exit 143' HUP INT TERM
${dumpCommand(config, `${dir}/${name}.partial`)}
rc=$?; [ $rc -eq 0 ] || { printf 'pg_dump of %s exited %s\\n' ${quote(config.database.name)} $rc >&2; exit 10; }
pg_restore --list "$partial" >/dev/null || { echo 'pg_restore --list cannot read the new dump' >&2; exit 11; }
sum=$(sha256sum <"$partial" | awk '{ print $1 }')
printf '%s  %s\\n' "$sum" ${quote(name)} >"$sidecar.partial"
sync -- "$partial" "$sidecar.partial" 2>/dev/null || sync
mv -f -- "$partial" "$final" || exit 12
mv -f -- "$sidecar.partial" "$sidecar" || { rm -f -- "$final"; exit 12; }
again=$(sha256sum <"$final" | awk '{ print $1 }')
[ "$again" = "$sum" ] || { rm -f -- "$final" "$sidecar"; echo "re-reading $final gave another sha256 ($again, not $sum)" >&2; exit 13; }
printf '{"sha256":"%s","sizeBytes":%s}\\n' "$sum" "$(stat -c %s -- "$final")"
`;
}

async function checkFreeSpace(ctx: StepContext): Promise<{ estimateBytes: number; availBytes?: number }> {
  const { dir, pattern } = ctx.config.backups;
  const probe = await probeBackups(ctx.target, { dir, pattern, checksum: false, deep: false, inspect: false }, ctx.signal);
  if (!probe.dirExists) throw new Error(`backup directory ${dir} does not exist on ${ctx.target.description}`);
  const disk = probe.disks[0];
  const estimateBytes = Math.round((probe.file?.sizeBytes ?? 0) * GROWTH_HEADROOM);
  if (disk) {
    const afterPercent = ((disk.usedBytes + estimateBytes) * 100) / (disk.usedBytes + disk.availBytes);
    if (estimateBytes > disk.availBytes || afterPercent >= ctx.config.disk.failPercent) {
      throw new Error(
        `not enough space for a new backup in ${dir}: ${disk.availBytes} bytes free, the last backup was ${probe.file?.sizeBytes} bytes; ` +
          `the filesystem would be ${afterPercent.toFixed(0)}% full (disk.fail-percent ${ctx.config.disk.failPercent}). Free space or move old backups first.`,
      );
    }
  }
  return { estimateBytes, availBytes: disk?.availBytes };
}

async function run(ctx: StepContext): Promise<StepOutcome> {
  const config = ctx.config;
  const startedAt = ctx.now();
  const name = freshBackupName(config, startedAt);
  const path = `${config.backups.dir}/${name}`;
  const space = await checkFreeSpace(ctx);
  ctx.log.info(`pg_dump -Fc of ${config.database.name} into ${path}`);
  const result = await ctx.target.exec(freshBackupScript(config, name), {
    secretEnv: ctx.databaseEnv(),
    env: TOOL_ENV,
    signal: ctx.signal,
    tailBytes: 16 * 1024,
    onLine: (stream, line) => (stream === 'stderr' && line ? ctx.log.info(line) : undefined),
  });
  if (result.code !== 0) throw new RemoteCommandError(ctx.target.description, `backing up ${config.database.name} to ${path} (pg_dump -Fc)`, result);
  const written = JSON.parse(result.stdout.trim()) as { sha256: string; sizeBytes: number };
  const backup: BackupRecord = {
    path,
    sha256: written.sha256,
    format: 'custom',
    sizeBytes: written.sizeBytes,
    createdAt: startedAt.toISOString(),
    kind: 'fresh',
  };
  await ctx.saveFacts({ backup });
  return {
    status: 'succeeded',
    summary: `fresh backup ${path} (${written.sizeBytes} bytes, sha256 ${written.sha256.slice(0, 12)}…) is this window's rollback point`,
    metrics: {
      backupBytes: written.sizeBytes,
      durationMs: result.durationMs,
      ...(space.availBytes !== undefined ? { freeBytesBefore: space.availBytes } : {}),
    },
    details: { backup, sidecar: `${path}.sha256`, verifiedBy: ['pg_restore --list', 'sha256 re-read after rename'] },
  };
}

export const backupFresh: StepFactory = (config) => ({
  id: 'backup.fresh',
  title: 'Fresh backup (rollback point)',
  description: `pg_dump -Fc of ${config.database.name} into ${config.backups.dir} with a sha256 sidecar, checked before it is recorded as the rollback point`,
  commands: [
    dumpCommand(config, `${config.backups.dir}/${config.database.name}_<yyyymmdd_HHMMSS>_window.dump.partial`),
    'pg_restore --list <dump>.partial',
    'sha256sum <dump>.partial > <dump>.sha256; mv <dump>.partial <dump>; sha256sum <dump> (re-read)',
  ],
  impact: 'none',
  destructive: false,
  idempotent: true,
  timeoutMs: 120 * MINUTES,
  retries: 1,
  providesBackup: 'fresh',
  run,
});
