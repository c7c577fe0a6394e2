import type { Tier } from '../constants.js';
import type { WindowResult } from '../window/result.js';
import type { FleetSettings, Limit } from './fleet-settings.js';
import { describeLimit } from './limits.js';
import type { HostRun } from './run-host.js';

/** What a fleet run did, host by host; the input of the summary, fleet.json and the outputs. */
export interface FleetResult {
  result: WindowResult['result'];
  tier: Tier;
  /** The run's window id; each host's is `<windowId>-<label>`. */
  windowId: string;
  dryRun: boolean;
  source: string;
  inventorySize: number;
  shard?: FleetSettings['shard'];
  maxConcurrency: Limit;
  /** max-concurrency as a count of this job's hosts. */
  concurrency: number;
  maxErrors: Limit;
  /** max-errors as a count: one failure more and no new host starts. */
  errorBudget: number;
  errors: number;
  budgetSpent: boolean;
  peakInFlight: number;
  startedAt: string;
  endedAt: string;
  /** Set when the date guard (only-on) kept every host from running. */
  skippedReason?: string;
  hosts: HostRun[];
  artifactName: string;
  reportDir: string;
  failureMessage?: string;
}

const isFailure = (run: HostRun) => run.status === 'failed' || run.status === 'not-started';

/** One result for the job: any failed or unstarted host fails it; deferred steps anywhere make it deferred. */
export function fleetOutcome(hosts: readonly HostRun[], dryRun: boolean): WindowResult['result'] {
  if (hosts.length === 0 || hosts.every((run) => run.status === 'skipped')) return 'skipped';
  if (hosts.some(isFailure)) return 'failed';
  if (dryRun) return 'planned';
  return hosts.some((run) => run.status === 'deferred') ? 'deferred' : 'succeeded';
}

/** The failed step of a host, or why it has none. */
export function failedStepOf(run: HostRun): string | undefined {
  if (run.status !== 'failed') return undefined;
  return run.result?.journal.failedStep ?? 'did not start';
}

/** One line for setFailed: which hosts failed where, and how many were never started. */
export function fleetFailureMessage(fleet: Pick<FleetResult, 'hosts' | 'errorBudget' | 'maxErrors' | 'budgetSpent' | 'tier'>): string | undefined {
  const failed = fleet.hosts.filter((run) => run.status === 'failed');
  const notStarted = fleet.hosts.filter((run) => run.status === 'not-started');
  if (failed.length === 0 && notStarted.length === 0) return undefined;
  const parts: string[] = [];
  if (failed.length) {
    const listed = failed.slice(0, 10).map((run) => `${run.host.label} (${failedStepOf(run)})`);
    parts.push(`the ${fleet.tier} window failed on ${failed.length} of ${fleet.hosts.length} hosts: ${listed.join(', ')}${failed.length > 10 ? ', …' : ''}`);
  }
  if (notStarted.length) {
    const why = fleet.budgetSpent
      ? `the error budget was spent (max-errors ${describeLimit(fleet.maxErrors)}: ${fleet.errorBudget} failure${fleet.errorBudget === 1 ? '' : 's'} tolerated)`
      : 'the run was cancelled';
    parts.push(`${notStarted.length} host${notStarted.length === 1 ? ' was' : 's were'} not started: ${why}`);
  }
  return parts.join('; ');
}
