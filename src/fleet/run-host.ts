import { getErrorMessage } from '../errors.js';
import { createSshTarget } from '../remote/create-target.js';
import type { Target } from '../remote/target.js';
import { maskValue, secretForms } from '../report/secret-mask.js';
import { writeReport, type WrittenReport } from '../report/write-report.js';
import type { MaintenanceConfig } from '../settings/config.js';
import { secretsOf, type Settings } from '../settings/settings.js';
import { executeWindow, planFor } from '../window/execute.js';
import type { Journal } from '../window/journal.js';
import { JournalStore } from '../window/journal-store.js';
import type { WindowResult } from '../window/result.js';
import type { RunnerIO } from '../window/runner-io.js';
import type { FleetHost } from './fleet-settings.js';
import { hostConfig, hostSettings } from './host-settings.js';
import { hostIO } from './host-io.js';

/** A window's result, or what the fleet did instead: skipped a host already done, or never started it. */
export type HostStatus = WindowResult['result'] | 'already-succeeded' | 'not-started';

export interface HostRun {
  host: FleetHost;
  status: HostStatus;
  /** Why a host was not started. */
  notStarted?: 'error budget' | 'cancelled';
  startedAt?: string;
  /** Wall time of this host in this run, from its start to its report written. */
  durationMs?: number;
  /** The host's window, secrets masked. */
  result?: WindowResult;
  /** Its report files under `<report-dir>/<label>/`. */
  report?: WrittenReport;
  /** An error of the fleet machinery itself (the window's own failures are in result). */
  error?: string;
}

export interface HostRunContext {
  settings: Settings;
  config: MaintenanceConfig;
  io: RunnerIO;
  /** Absolute: the fleet's report dir; each host writes into `<label>/` below it. */
  reportDir: string;
  artifactName: string;
  runUrl?: string;
  cancel?: AbortSignal;
  now: () => Date;
  /** SSH unless a test hands in its own. */
  connect?: (settings: Settings, io: RunnerIO) => Target;
}

/** A target that failed before anything ran: the window reports "did not start" with this error. */
function unreachable(description: string, error: unknown): Target {
  const fail = async (): Promise<never> => {
    throw error instanceof Error ? error : new Error(getErrorMessage(error));
  };
  return { description, exec: fail, tunnel: fail, readFile: fail, writeFileAtomic: fail, close: async () => undefined };
}

function earlierSuccess(journal: Journal, settings: Settings, config: MaintenanceConfig, now: Date): WindowResult {
  const detailsOf = (id: string) => journal.steps.find((step) => step.id === id)?.details;
  return {
    result: 'succeeded',
    journal,
    plan: planFor(settings, config, now),
    baseline: detailsOf('snapshot.baseline'),
    post: detailsOf('snapshot.post'),
    warnings: [],
  };
}

/**
 * One host of a fleet: its own connection, lock, journal and report. With `resume: auto` a host whose
 * journal for this window says succeeded is not run again; its earlier report is written again instead.
 * Never throws for the host's failure: it is in the result.
 */
export async function runHost(context: HostRunContext, host: FleetHost): Promise<HostRun> {
  const settings = hostSettings(context.settings, host, context.reportDir);
  const config = hostConfig(context.config, host.label);
  const io = hostIO(context.io, host.label);
  const secrets = secretsOf(settings);
  const startedAt = context.now();
  const target = (context.connect ?? createSshTarget)(settings, io);
  let result: WindowResult;
  let status: HostStatus;
  try {
    let runOn: Target = target;
    let previous: Journal | undefined;
    if (settings.resume.kind === 'auto') {
      try {
        previous = await new JournalStore(target, config.stateDir, settings.windowId, settings.reportDir, secrets).load();
      } catch (error) {
        // Unreachable, or an unreadable journal: the window says so as "did not start", without a second try.
        runOn = unreachable(target.description, error);
      }
    }
    if (previous?.status === 'succeeded') {
      io.info(`window ${settings.windowId} already succeeded here (run attempt ${previous.runAttempt}): not run again`);
      result = earlierSuccess(previous, settings, config, context.now());
      status = 'already-succeeded';
    } else {
      result = await executeWindow({ settings, config, io, target: runOn, cancel: context.cancel, now: context.now });
      status = result.result;
    }
  } finally {
    await target.close();
  }
  const finished = (run: Pick<HostRun, 'result' | 'report'>): HostRun => ({
    host,
    status,
    startedAt: startedAt.toISOString(),
    durationMs: context.now().getTime() - startedAt.getTime(),
    ...run,
  });
  try {
    const report = await writeReport(result, settings.reportDir, secrets, { artifactName: context.artifactName, runUrl: context.runUrl });
    return finished({ result: report.result, report });
  } catch (error) {
    io.warn(`writing the report to ${settings.reportDir} failed: ${getErrorMessage(error)}`);
    return finished({ result: maskValue(result, secretForms(secrets)) });
  }
}
