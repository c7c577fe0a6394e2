import { Outputs } from '../constants.js';
import { reportAnnotations, type Annotation } from '../report/publish.js';
import type { Settings } from '../settings/settings.js';
import { failedStepOf, type FleetResult } from './fleet-result.js';
import { hostWindowId } from './host-settings.js';
import { describeLimit } from './limits.js';

export const FLEET_JSON = 'fleet.json';
export const FLEET_SUMMARY = 'fleet.md';
const FLEET_SCHEMA_VERSION = 1;

/** Unique per window, shard and run attempt, so that the matrix jobs of one run do not collide. */
export function fleetArtifactName(settings: Settings): string {
  const shard = settings.fleet?.shard ? `-shard${settings.fleet.shard.index}of${settings.fleet.shard.count}` : '';
  return `maintenance-fleet-${settings.windowId}${shard}-attempt${settings.run.runAttempt}`
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .slice(0, 200);
}

/** fleet.json: the aggregate for machines (per host: result, timing, downtime, reclaimed bytes, failed step). */
export function fleetJson(fleet: FleetResult): unknown {
  return {
    schemaVersion: FLEET_SCHEMA_VERSION,
    windowId: fleet.windowId,
    tier: fleet.tier,
    result: fleet.result,
    dryRun: fleet.dryRun,
    source: fleet.source,
    inventorySize: fleet.inventorySize,
    shard: fleet.shard,
    maxConcurrency: { input: describeLimit(fleet.maxConcurrency), hosts: fleet.concurrency },
    maxErrors: { input: describeLimit(fleet.maxErrors), hosts: fleet.errorBudget },
    errors: fleet.errors,
    budgetSpent: fleet.budgetSpent,
    peakInFlight: fleet.peakInFlight,
    startedAt: fleet.startedAt,
    endedAt: fleet.endedAt,
    skippedReason: fleet.skippedReason,
    failureMessage: fleet.failureMessage,
    hosts: fleet.hosts.map((run) => ({
      label: run.host.label,
      address: `${run.host.endpoint.username}@${run.host.endpoint.host}:${run.host.endpoint.port}`,
      line: run.host.line,
      windowId: hostWindowId(fleet.windowId, run.host.label),
      status: run.status,
      notStarted: run.notStarted,
      startedAt: run.startedAt,
      durationMs: run.durationMs,
      downtimeSeconds: run.result?.journal.bracket?.downtimeSeconds,
      reclaimedBytes: run.report?.diff.reclaimedBytes,
      failedStep: failedStepOf(run),
      failureMessage: run.status === 'failed' ? (run.result?.failureMessage ?? run.error) : undefined,
      reportDir: run.report ? run.host.label : undefined,
    })),
  };
}

/** The action's outputs for a fleet: sums where they add up, `label:step` pairs for the failed hosts. */
export function fleetOutputs(fleet: FleetResult): Record<string, string> {
  const reclaimed = fleet.hosts.map((run) => run.report?.diff.reclaimedBytes).filter((value): value is number => value !== undefined);
  return {
    [Outputs.result]: fleet.result,
    [Outputs.windowId]: fleet.windowId,
    [Outputs.failedStep]: fleet.hosts
      .filter((run) => run.status === 'failed')
      .map((run) => `${run.host.label}:${failedStepOf(run)}`)
      .join(','),
    [Outputs.reportDir]: fleet.reportDir,
    [Outputs.downtimeSeconds]: String(fleet.hosts.reduce((sum, run) => sum + (run.result?.journal.bracket?.downtimeSeconds ?? 0), 0)),
    [Outputs.dbSizeBefore]: '',
    [Outputs.dbSizeAfter]: '',
    [Outputs.reclaimedBytes]: reclaimed.length ? String(reclaimed.reduce((sum, value) => sum + value, 0)) : '',
  };
}

/** Every host's annotations (their titles name the host), and one for a spent error budget. */
export function fleetAnnotations(fleet: FleetResult): Annotation[] {
  const list: Annotation[] = [];
  const notStarted = fleet.hosts.filter((run) => run.status === 'not-started');
  if (notStarted.length) {
    list.push({
      level: 'error',
      title: fleet.budgetSpent ? 'Error budget spent' : 'Run cancelled',
      message: `${notStarted.length} host(s) not started: ${notStarted
        .slice(0, 20)
        .map((run) => run.host.label)
        .join(', ')}${notStarted.length > 20 ? ', …' : ''}`,
    });
  }
  for (const run of fleet.hosts) {
    if (run.result && run.status !== 'already-succeeded') list.push(...reportAnnotations(run.result));
  }
  return list;
}
