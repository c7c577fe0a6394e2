import { getErrorMessage } from '../../errors.js';
import { parseHostFacts } from '../../report/host-facts-parse.js';
import { HOST_FACTS_END } from '../../report/host-facts-script.js';
import { formatBytes } from '../../report/human-size.js';
import { historyDir, loadHistory } from '../../report/snapshot.js';
import type { DiskUsage, Snapshot } from '../../report/snapshot-types.js';
import { quote } from '../../remote/shell.js';
import { RemoteCommandError } from '../../remote/target.js';
import { ReviewFactKeys, type CapacityFacts } from '../review/review-facts.js';
import { MINUTES, type Finding, type StepContext, type StepFactory, type StepOutcome } from '../step.js';
import { forecastFull, projection, type Forecast, type Sample } from './forecast.js';

/** Under this many days a forecast is critical, whatever capacity.warn-days says. */
const URGENT_DAYS = 7;

/** One chartable series: samples, the fitted line and the level at which it is full. */
export interface CapacitySeries {
  samples: Sample[];
  forecast: Forecast;
  /** Two points of the fitted line (first sample → full, or now + warn-days). */
  projection?: Sample[];
  /** Where the series is full (a mount's used + available bytes now); absent when not known. */
  limitBytes?: number;
}

export interface MountCapacity extends CapacitySeries {
  mount: string;
  filesystem: string;
  sizeBytes: number;
  usedBytes: number;
  availableBytes: number;
  holdsDatabase: boolean;
}

export interface DatabaseCapacity extends CapacitySeries {
  name: string;
  sizeBytes: number;
  /** The mount holding the data directory, when known: the database's growth is measured against its free space. */
  mount?: string;
}

/** capacity.review's details: what the HTML report charts. */
export interface CapacityDetails {
  now: string;
  warnDays: number;
  historySnapshots: number;
  mounts: MountCapacity[];
  database?: DatabaseCapacity;
  errors: string[];
}

// The same df line as the snapshot's host facts, so mounts are named and deduplicated as in the history.
const DF_LINE = String.raw`df -P -T -B1 2>/dev/null | awk 'NR > 1 { mount = $7; for (i = 8; i <= NF; i++) mount = mount " " $i; print "disk\t" $1 "\t" $2 "\t" $3 "\t" $4 "\t" $5 "\t" mount }'`;

function usageScript(dataDirectory: string | undefined): string {
  const database = dataDirectory
    ? String.raw`[ -e ${quote(dataDirectory)} ] && df -P -B1 -- ${quote(dataDirectory)} 2>/dev/null | awk 'NR == 2 { mount = $6; for (i = 7; i <= NF; i++) mount = mount " " $i; print "dbfs\t" $1 "\t" mount }'`
    : ':';
  return `export LC_ALL=C\n${DF_LINE}\n${database}\nprintf '%s\\n' ${HOST_FACTS_END}\n`;
}

interface CurrentUsage {
  disks: DiskUsage[];
  databaseMount?: string;
}

async function currentUsage(ctx: StepContext, dataDirectory: string | undefined): Promise<CurrentUsage> {
  const result = await ctx.target.exec(usageScript(dataDirectory), { timeoutMs: 60_000, signal: ctx.signal });
  if (result.code !== 0) throw new RemoteCommandError(ctx.target.description, 'measuring disk usage (df)', result);
  const disks = parseHostFacts(result.stdout, ctx.config, result.truncated).disks;
  const dbfs = result.stdout
    .split('\n')
    .find((line) => line.startsWith('dbfs\t'))
    ?.split('\t');
  const [filesystem, mount] = [dbfs?.[1], dbfs?.[2]];
  const holding = disks.find((disk) => disk.mount === mount) ?? disks.find((disk) => disk.filesystem === filesystem);
  return { disks, ...(holding ? { databaseMount: holding.mount } : {}) };
}

/** The database's size now and the host path of its data directory (configured, or as the server reports it). */
async function databaseNow(ctx: StepContext): Promise<{ sizeBytes: number; dataDirectory?: string }> {
  const db = await ctx.db();
  const [size] = await db.query<{ bytes: number }>('select pg_database_size(current_database())::float8 as bytes');
  if (ctx.config.database.dataDirectory) return { sizeBytes: size!.bytes, dataDirectory: ctx.config.database.dataDirectory };
  // Visible to superusers and pg_read_all_settings only; in a container it is a path inside it (then not found on the host).
  const [setting] = await db.query<{ setting: string }>("select setting from pg_settings where name = 'data_directory'");
  return { sizeBytes: size!.bytes, ...(setting?.setting ? { dataDirectory: setting.setting } : {}) };
}

function series(history: Snapshot[], pick: (snapshot: Snapshot) => number | undefined, now: Sample): Sample[] {
  const samples: Sample[] = [];
  for (const snapshot of history) {
    const bytes = pick(snapshot);
    if (bytes !== undefined) samples.push({ at: snapshot.takenAt, bytes });
  }
  return [...samples, now];
}

function chartable(samples: Sample[], free: number | undefined, limitBytes: number | undefined, now: Date, warnDays: number): CapacitySeries {
  const forecast = forecastFull(samples, free, now);
  const line = projection(samples, forecast, now, warnDays);
  return { samples, forecast, ...(line ? { projection: line } : {}), ...(limitBytes !== undefined ? { limitBytes } : {}) };
}

const perDay = (bytes: number) => `${bytes < 0 ? '−' : '+'}${formatBytes(Math.abs(bytes))}/day`;

type Filling = Extract<Forecast, { status: 'full-in' }>;
const isFilling = (forecast: Forecast): forecast is Filling => forecast.status === 'full-in';

function fillFinding(title: (days: number) => string, forecast: Forecast, free: number, warnDays: number): Finding | undefined {
  if (!isFilling(forecast) || forecast.daysUntilFull >= warnDays) return undefined;
  return {
    severity: forecast.daysUntilFull < URGENT_DAYS ? 'critical' : 'warning',
    title: title(Math.floor(forecast.daysUntilFull)),
    evidence: `${perDay(forecast.growthBytesPerDay)} (least squares over ${forecast.samples} samples in ${forecast.spanDays.toFixed(0)} days), ${formatBytes(free)} free now; full around ${forecast.fullAt.slice(0, 10)}`,
    action: 'Add space, move backups or archives elsewhere, or find what grows (tables, logs, images) before it fills.',
  };
}

async function run(ctx: StepContext): Promise<StepOutcome> {
  const { config } = ctx;
  const now = ctx.now();
  const warnDays = config.capacity.warnDays;
  const errors: string[] = [];
  const history = await loadHistory(ctx.target, config.stateDir);
  const database = await databaseNow(ctx).catch((error: unknown) => {
    errors.push(`database ${config.database.name}: ${getErrorMessage(error)}`);
    return undefined;
  });
  const usage = await currentUsage(ctx, database?.dataDirectory);

  const mounts: MountCapacity[] = usage.disks.map((disk) => {
    const samples = series(history, (snapshot) => snapshot.disks.find((entry) => entry.mount === disk.mount)?.usedBytes, {
      at: now.toISOString(),
      bytes: disk.usedBytes,
    });
    return {
      mount: disk.mount,
      filesystem: disk.filesystem,
      sizeBytes: disk.sizeBytes,
      usedBytes: disk.usedBytes,
      availableBytes: disk.availableBytes,
      holdsDatabase: disk.mount === usage.databaseMount,
      ...chartable(samples, disk.availableBytes, disk.usedBytes + disk.availableBytes, now, warnDays),
    };
  });
  const findings = mounts
    .map((mount) => fillFinding((days) => `Mount ${mount.mount} is forecast to be full in ${days} days`, mount.forecast, mount.availableBytes, warnDays))
    .filter((finding) => finding !== undefined);

  let databaseCapacity: DatabaseCapacity | undefined;
  if (database) {
    const dbMount = mounts.find((mount) => mount.holdsDatabase);
    const samples = series(history, (snapshot) => (snapshot.database?.name === config.database.name ? snapshot.database.sizeBytes : undefined), {
      at: now.toISOString(),
      bytes: database.sizeBytes,
    });
    // The database's own growth against its mount's free space (the mount's line also holds everything else there).
    const limit = dbMount ? database.sizeBytes + dbMount.availableBytes : undefined;
    databaseCapacity = {
      name: config.database.name,
      sizeBytes: database.sizeBytes,
      ...(dbMount ? { mount: dbMount.mount } : {}),
      ...chartable(samples, dbMount?.availableBytes, limit, now, warnDays),
    };
    const finding =
      dbMount &&
      fillFinding(
        (days) => `Database ${config.database.name} alone would fill ${dbMount.mount} in ${days} days`,
        databaseCapacity.forecast,
        dbMount.availableBytes,
        warnDays,
      );
    if (finding) findings.push(finding);
  }

  const filling = mounts
    .flatMap((mount) => (isFilling(mount.forecast) ? [{ mount: mount.mount, forecast: mount.forecast }] : []))
    .sort((a, b) => a.forecast.daysUntilFull - b.forecast.daysUntilFull);
  const soonest = filling[0];
  const dbForecast = databaseCapacity?.forecast;
  const dbGrowth = dbForecast && dbForecast.status !== 'not-enough-history' ? dbForecast.growthBytesPerDay : undefined;
  const facts: CapacityFacts = {
    ...(soonest ? { soonest: { mount: soonest.mount, daysUntilFull: soonest.forecast.daysUntilFull } } : {}),
    ...(dbGrowth !== undefined ? { databaseGrowthBytesPerDay: dbGrowth } : {}),
  };
  await ctx.saveFacts({ [ReviewFactKeys.capacity]: facts });

  const details: CapacityDetails = {
    now: now.toISOString(),
    warnDays,
    historySnapshots: history.length,
    mounts,
    ...(databaseCapacity ? { database: databaseCapacity } : {}),
    errors,
  };
  const metrics: Record<string, number> = { historySnapshots: history.length, mounts: mounts.length, mountsFilling: filling.length };
  if (facts.soonest) metrics.soonestDaysUntilFull = Math.floor(facts.soonest.daysUntilFull);
  if (dbGrowth !== undefined) metrics.databaseGrowthBytesPerDay = Math.round(dbGrowth);
  if (database) metrics.databaseBytes = database.sizeBytes;
  if (errors.length) findings.push({ severity: 'warning', title: 'Capacity review is incomplete', evidence: errors.join('; ') });

  const trended = [...mounts, ...(databaseCapacity ? [databaseCapacity] : [])].filter((entry) => entry.forecast.status !== 'not-enough-history');
  if (trended.length === 0) {
    const reason = mounts[0]?.forecast.status === 'not-enough-history' ? mounts[0].forecast.reason : 'no mount measured';
    return {
      status: errors.length ? 'warning' : 'skipped',
      summary: `no forecast yet: ${reason}; the snapshots in ${historyDir(config.stateDir)} build the history`,
      metrics,
      details,
      findings,
    };
  }
  const parts = [
    soonest
      ? `soonest full: ${soonest.mount} in ${Math.floor(soonest.forecast.daysUntilFull)} days (${perDay(soonest.forecast.growthBytesPerDay)})`
      : 'no mount is filling',
    ...(dbGrowth !== undefined ? [`${config.database.name} ${perDay(dbGrowth)}`] : []),
  ];
  return {
    status: findings.some((finding) => finding.severity !== 'info') ? 'warning' : 'succeeded',
    summary: `${parts.join('; ')} (from ${history.length} snapshots)`,
    metrics,
    details,
    findings,
  };
}

export const capacityReview: StepFactory = (config) => ({
  id: 'capacity.review',
  title: 'Capacity planning review',
  description: `fits a least-squares line through the snapshot history of each mount's used space and the database size; warns when a mount is forecast to fill within ${config.capacity.warnDays} days`,
  commands: [
    `# snapshot history: ${historyDir(config.stateDir)}/*-baseline.json, *-post.json`,
    'df -P -T -B1',
    'SELECT pg_database_size(current_database())',
    ...(config.database.dataDirectory
      ? [`df -P -B1 -- ${quote(config.database.dataDirectory)}`]
      : ["SELECT setting FROM pg_settings WHERE name = 'data_directory'"]),
  ],
  impact: 'none',
  destructive: false,
  idempotent: true,
  timeoutMs: 10 * MINUTES,
  retries: 1,
  run,
});
