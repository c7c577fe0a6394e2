import { quote } from '../../remote/shell.js';
import { MINUTES, type StepContext, type StepFactory, type StepOutcome } from '../step.js';
import { backupRecord, checksumProblem, probeBackups, type BackupProbe } from '../backup/backup-probe.js';
import { countTables } from '../backup/database-admin.js';
import { countRecentRequests, type Activity } from './access-activity.js';
import { CheckList } from './check-list.js';
import { sampleResponseTimes } from './response-time.js';

/** How long preflight waits for the app: it should already be up, so this is short. */
const HEALTH_WAIT_MS = 15_000;
/** Lines of the access log read from its end. */
const ACTIVITY_LINES = 50_000;
const MISSING_LOG_EXIT = 44;

const hours = (ms: number) => `${(ms / 3_600_000).toFixed(1)} h`;

function backupChecks(checks: CheckList, probe: BackupProbe, ctx: StepContext): boolean {
  const { dir, pattern, maxAgeMs, checksum } = ctx.config.backups;
  if (!probe.dirExists) {
    checks.add('backup.exists', false, 'critical', `backup directory ${dir} does not exist on ${ctx.target.description}`);
    return false;
  }
  const file = probe.file;
  if (!file) {
    checks.add('backup.exists', false, 'critical', `no backup matching '${pattern}' in ${dir}: take one before maintenance`);
    return false;
  }
  checks.add('backup.exists', true, 'critical', `${file.path} (${file.sizeBytes} bytes, ${file.format}; ${probe.candidates} backups match '${pattern}')`);
  const ageMs = (probe.now - file.mtime) * 1000;
  checks.add('backup.age', ageMs <= maxAgeMs, 'critical', `${file.path} is ${hours(ageMs)} old (limit ${hours(maxAgeMs)})`);
  checks.add('backup.integrity', file.integrity.ok, 'critical', `${file.path}: ${file.integrity.detail}`);
  if (checksum) {
    const problem = checksumProblem(file);
    checks.add('backup.checksum', !problem, 'critical', problem ?? `sha256 matches ${file.path}.sha256`);
  } else {
    checks.add('backup.checksum', true, 'info', 'not checked (backups.checksum: false)');
  }
  return file.integrity.ok && (!checksum || file.checksum.state === 'ok');
}

function diskChecks(checks: CheckList, probe: BackupProbe, ctx: StepContext): void {
  const { warnPercent, failPercent } = ctx.config.disk;
  for (const disk of probe.disks) {
    const detail = `${disk.usedPercent}% used, ${(disk.availBytes / 1024 ** 3).toFixed(1)} GiB free (warn ${warnPercent}%, fail ${failPercent}%)`;
    const severity = disk.usedPercent >= failPercent ? 'critical' : 'warning';
    checks.add(`disk ${disk.path}`, disk.usedPercent < warnPercent, severity, detail);
  }
}

async function readActivity(ctx: StepContext, accessLog: string, nowMs: number): Promise<Activity | 'missing'> {
  const script = `if [ -r ${quote(accessLog)} ]; then tail -n ${ACTIVITY_LINES} -- ${quote(accessLog)}; else exit ${MISSING_LOG_EXIT}; fi`;
  const result = await ctx.target.exec(script, { signal: ctx.signal, tailBytes: 16 * 1024 * 1024, timeoutMs: 60_000 });
  if (result.code === MISSING_LOG_EXIT) return 'missing';
  if (result.code !== 0) throw new Error(`tail of ${accessLog} failed (exit ${result.code ?? result.signal}): ${result.stderr.trim()}`);
  return countRecentRequests(result.stdout, nowMs, ctx.config.activity.windowMs, ACTIVITY_LINES);
}

async function activityCheck(checks: CheckList, ctx: StepContext, nowMs: number): Promise<Activity | undefined> {
  const { accessLog, windowMs, warnAbove } = ctx.config.activity;
  if (!accessLog) {
    checks.add('activity', true, 'info', 'not checked (activity.access-log is not set)');
    return undefined;
  }
  const activity = await checks.attempt('activity', 'warning', () => readActivity(ctx, accessLog, nowMs));
  if (activity === 'missing') {
    checks.add('activity', false, 'warning', `access log ${accessLog} does not exist or is not readable: recent activity unknown`);
    return undefined;
  }
  if (!activity) return undefined;
  const minutes = Math.round(windowMs / 60_000);
  const count = `${activity.complete ? '' : 'at least '}${activity.requests}`;
  checks.add('activity', activity.requests <= warnAbove, 'warning', `${count} requests in the last ${minutes} min in ${accessLog} (warn above ${warnAbove})`);
  return activity;
}

async function run(ctx: StepContext): Promise<StepOutcome> {
  const config = ctx.config;
  const checks = new CheckList();
  const { dir, pattern, checksum } = config.backups;

  const probe = await checks.attempt('backup.exists', 'critical', () =>
    probeBackups(ctx.target, { dir, pattern, checksum, deep: true, diskPaths: ['/'] }, ctx.signal),
  );
  const backupVerified = probe ? backupChecks(checks, probe, ctx) : false;
  if (probe) diskChecks(checks, probe, ctx);

  // Before any HTTP request of ours, which would count as activity.
  const activity = await activityCheck(checks, ctx, probe ? probe.now * 1000 : ctx.now().getTime());

  const status = await checks.attempt('services', 'critical', () => ctx.services.status());
  if (status) checks.add('services', status.running, 'critical', status.running ? status.detail || 'running' : `not running: ${status.detail}`);
  const health = await checks.attempt('app health', 'critical', () => ctx.services.waitHealthy(Math.min(config.health.timeoutMs, HEALTH_WAIT_MS)));
  if (health) {
    checks.add(
      'app health',
      health.healthy,
      'critical',
      health.healthy ? health.detail : `${health.detail}: the app is already down; never start maintenance on it, find out why first`,
    );
  }
  const response = health?.healthy && config.health.url ? await sampleResponseTimes(ctx.target, config.health.url, config.health.samples) : undefined;

  const counts = await checks.attempt('integrity tables', 'critical', async () => countTables(await ctx.db(), config.database.integrityTables));
  if (counts) {
    const text = Object.entries(counts.counts)
      .map(([table, rows]) => `${table} ${rows}`)
      .join(', ');
    checks.add(
      'integrity tables',
      counts.missing.length === 0,
      'critical',
      counts.missing.length ? `missing from ${config.database.name}: ${counts.missing.join(', ')}` : text,
    );
  }

  // A backup older than max-age is no rollback point: restoring it would lose more writes than the operator accepts.
  const newestAgeMs = probe?.file ? (probe.now - probe.file.mtime) * 1000 : undefined;
  const usableBackup = backupVerified && newestAgeMs !== undefined && newestAgeMs <= config.backups.maxAgeMs;
  const rollbackPossible = usableBackup || ctx.facts.backup?.kind === 'fresh';
  checks.add(
    'rollback possible',
    rollbackPossible,
    'critical',
    rollbackPossible
      ? `rollback point: ${ctx.facts.backup?.path ?? probe?.file?.path}`
      : 'no intact backup within backups.max-age: a rollback would have nothing good to restore',
  );

  const facts: Parameters<StepContext['saveFacts']>[0] = {};
  if (usableBackup && probe?.file && !ctx.facts.backup) facts.backup = backupRecord(probe.file, 'verified');
  if (counts && counts.missing.length === 0) facts.baselineCounts = counts.counts;
  if (response?.p50 !== undefined && ctx.facts.baselineResponseMs === undefined) facts.baselineResponseMs = response.p50;
  if (Object.keys(facts).length > 0) await ctx.saveFacts(facts);

  const result = checks.status();
  const summary =
    result === 'failed'
      ? `not safe to start maintenance: ${checks.describeFailed('critical')}`
      : result === 'warning'
        ? `ready, with warnings: ${checks.describeFailed('warning')}`
        : `ready: ${checks.checks.filter((check) => check.severity !== 'info').length} checks passed, backup ${probe?.file?.path}`;
  return {
    status: result,
    summary,
    metrics: {
      ...(newestAgeMs !== undefined ? { backupAgeMs: newestAgeMs, backupBytes: probe!.file!.sizeBytes } : {}),
      ...Object.fromEntries((probe?.disks ?? []).map((disk) => [`diskUsedPercent ${disk.path}`, disk.usedPercent])),
      ...(activity ? { recentRequests: activity.requests } : {}),
      ...(response?.p50 !== undefined ? { responseP50Ms: response.p50, responseP95Ms: response.p95! } : {}),
    },
    details: {
      checks: checks.checks,
      backup: probe?.file,
      disks: probe?.disks,
      activity,
      baselineCounts: counts?.counts,
      responseTimes: response,
      rollbackPossible,
    },
    findings: checks.findings({
      activity: 'Consider rescheduling: users are active.',
      'app health': 'Bring the app back and find out why it was down before any maintenance.',
      'backup.exists': 'Take a backup (or run backup.fresh) before maintenance.',
      'backup.age': 'The newest backup is too old to roll back to: check the backup job, or run backup.fresh.',
    }),
  };
}

export const preflight: StepFactory = (config) => ({
  id: 'preflight',
  title: 'Pre-maintenance checklist',
  description: `newest backup in ${config.backups.dir} (age, integrity, sha256), free disk, services, app health, recent activity, baseline row counts`,
  commands: [
    `newest '${config.backups.pattern}' in ${config.backups.dir} by mtime; gzip -t | pg_restore --list + full read; sha256sum vs .sha256; df -Pk ${config.backups.dir} /  (one script, prints JSON)`,
    ...(config.activity.accessLog
      ? [`tail -n ${ACTIVITY_LINES} ${config.activity.accessLog}  (requests in the last ${Math.round(config.activity.windowMs / 60_000)} min)`]
      : []),
    'services status; GET health URLs',
    ...config.database.integrityTables.map((table) => `SELECT count(*) FROM ${table}`),
  ],
  impact: 'none',
  destructive: false,
  idempotent: true,
  timeoutMs: 30 * MINUTES,
  retries: 0,
  run,
});
