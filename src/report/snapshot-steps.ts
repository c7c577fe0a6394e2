import type { MaintenanceConfig } from '../settings/config.js';
import { MINUTES, type StepContext, type StepDefinition, type StepFactory, type StepOutcome } from '../steps/step.js';
import { formatBytes, formatDuration } from './human-size.js';
import { hostFactsScript } from './host-facts-script.js';
import { DATABASE_SQL, INTEGRITY_SQL, RELATIONS_SQL } from './snapshot-sql.js';
import { historyDir, historyFileName, pruneHistoryScript, takeSnapshot, trimForHistory, type SnapshotKind } from './snapshot.js';
import type { Snapshot } from './snapshot-types.js';

/** One line for the step table: the facts an operator looks at first. */
export function describeSnapshot(snapshot: Snapshot): string {
  const parts: string[] = [];
  const db = snapshot.database;
  if (db) parts.push(`${db.name} ${formatBytes(db.sizeBytes)} in ${db.tableCount} tables`);
  const fullest = [...snapshot.disks].sort((a, b) => b.usedPercent - a.usedPercent)[0];
  if (fullest) parts.push(`${fullest.mount} ${fullest.usedPercent}% used`);
  const newest = snapshot.backup?.newest;
  if (newest) parts.push(`newest backup ${formatDuration(newest.ageSeconds * 1000)} old`);
  else if (snapshot.backup) parts.push('no backup found');
  if (snapshot.response?.p50Ms !== undefined) parts.push(`p50 ${snapshot.response.p50Ms} ms`);
  if (snapshot.activity) parts.push(`${snapshot.activity.requests} requests in ${formatDuration(snapshot.activity.windowSeconds * 1000)}`);
  parts.push(`${snapshot.roundTrips} round trips`);
  return parts.join('; ');
}

function metricsOf(snapshot: Snapshot): Record<string, number> {
  const metrics: Record<string, number> = { roundTrips: snapshot.roundTrips, durationMs: snapshot.durationMs };
  const put = (name: string, value: number | undefined) => {
    if (value !== undefined) metrics[name] = value;
  };
  put('dbSizeBytes', snapshot.database?.sizeBytes);
  put('tables', snapshot.database?.tableCount);
  put(
    'deadTuples',
    snapshot.database?.tables.reduce((sum, table) => sum + (table.deadTuples ?? 0), 0),
  );
  put('responseP50Ms', snapshot.response?.p50Ms);
  put('responseP95Ms', snapshot.response?.p95Ms);
  put('backupAgeSeconds', snapshot.backup?.newest?.ageSeconds);
  put('dockerBytes', snapshot.docker?.totalBytes);
  put('requests', snapshot.activity?.requests);
  put('maxDiskUsedPercent', snapshot.disks.length ? Math.max(...snapshot.disks.map((disk) => disk.usedPercent)) : undefined);
  return metrics;
}

/** Missing tables count -1 in facts, as the bracket's counts do. */
function baselineCounts(snapshot: Snapshot): Record<string, number> | undefined {
  const counts = snapshot.database?.integrityCounts;
  if (!counts) return undefined;
  return Object.fromEntries(Object.entries(counts).map(([table, rows]) => [table, rows ?? -1]));
}

async function keepInHistory(ctx: StepContext, snapshot: Snapshot, kind: SnapshotKind): Promise<void> {
  const { stateDir, historyKeep } = ctx.config;
  const path = `${historyDir(stateDir)}/${historyFileName(ctx.settings.windowId, kind)}`;
  await ctx.target.writeFileAtomic(path, JSON.stringify(trimForHistory(snapshot)) + '\n', 0o600);
  const pruned = await ctx.target.exec(pruneHistoryScript(stateDir, kind, historyKeep), { timeoutMs: 30_000 });
  if (pruned.code !== 0)
    ctx.log.warn(`pruning ${historyDir(stateDir)} on ${ctx.target.description} failed (exit ${pruned.code ?? pruned.signal}): ${pruned.stderr.trim()}`);
}

function snapshotStep(kind: SnapshotKind, config: MaintenanceConfig): StepDefinition {
  const history = `${historyDir(config.stateDir)}/<window-id>-${kind}.json`;
  return {
    id: `snapshot.${kind}`,
    title: kind === 'baseline' ? 'Baseline snapshot' : 'Post-maintenance snapshot',
    description:
      kind === 'baseline'
        ? 'Records host, container and database facts before any change (sizes, dead tuples, counts, disk, backup age, response time).'
        : 'Records the same facts after the window, for the before / after report.',
    commands: [
      `# one remote script (host facts):\n${hostFactsScript(config)}`,
      DATABASE_SQL.trim(),
      RELATIONS_SQL.trim(),
      INTEGRITY_SQL.trim(),
      ...(config.health.url ? [`# ${config.health.samples} timed GET ${config.health.url} through the SSH tunnel`] : []),
      `# kept as ${history} (newest ${config.historyKeep})`,
    ],
    impact: 'none',
    destructive: false,
    idempotent: true,
    timeoutMs: 10 * MINUTES,
    retries: 1,
    async run(ctx: StepContext): Promise<StepOutcome> {
      const snapshot = await takeSnapshot(ctx, kind);
      await keepInHistory(ctx, snapshot, kind);
      if (kind === 'baseline') {
        const counts = baselineCounts(snapshot);
        await ctx.saveFacts({
          ...(snapshot.response?.p50Ms !== undefined ? { baselineResponseMs: snapshot.response.p50Ms } : {}),
          ...(counts ? { baselineCounts: counts } : {}),
        });
      }
      const incomplete = snapshot.errors.length > 0;
      return {
        status: incomplete ? 'warning' : 'succeeded',
        summary: describeSnapshot(snapshot),
        metrics: metricsOf(snapshot),
        details: snapshot,
        findings: incomplete
          ? [
              {
                severity: 'warning',
                title: `The ${kind} snapshot is incomplete`,
                evidence: snapshot.errors.join('; '),
                action: 'Check the named paths, the database connection and the health URL in the maintenance config.',
              },
            ]
          : [],
      };
    },
  };
}

export const snapshotBaseline: StepFactory = (config) => snapshotStep('baseline', config);
export const snapshotPost: StepFactory = (config) => snapshotStep('post', config);

/** snapshot.baseline and snapshot.post; the runner takes their details as WindowResult.baseline / post. */
export const snapshotSteps: StepFactory[] = [snapshotBaseline, snapshotPost];
