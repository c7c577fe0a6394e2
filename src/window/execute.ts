import { JOURNAL_SCHEMA_VERSION } from '../constants.js';
import { getErrorMessage } from '../errors.js';
import { buildPlan } from '../plan/build-plan.js';
import { shouldRunOn } from '../plan/only-on.js';
import type { Plan } from '../plan/plan.js';
import { createSshTarget } from '../remote/create-target.js';
import type { Target } from '../remote/target.js';
import type { MaintenanceConfig } from '../settings/config.js';
import type { Settings } from '../settings/settings.js';
import type { Journal } from './journal.js';
import type { WindowResult } from './result.js';
import { loadHistory } from '../report/snapshot.js';
import { rollbackFailedStep } from './rollback.js';
import { runWindow } from './runner.js';
import type { RunnerIO } from './runner-io.js';

export interface ExecuteOptions {
  settings: Settings;
  config: MaintenanceConfig;
  io: RunnerIO;
  now?: () => Date;
  cancel?: AbortSignal;
  /** Tests and self-hosted runners hand in their own target; otherwise SSH from the settings. */
  target?: Target;
  onLock?: (token: string | undefined) => void;
  onBracket?: (open: boolean) => void;
}

export function planFor(settings: Settings, config: MaintenanceConfig, now: Date): Plan {
  const host = settings.target ? `${settings.target.username}@${settings.target.host}:${settings.target.port}` : '(no host)';
  return buildPlan({
    tier: settings.tier,
    config,
    windowId: settings.windowId,
    host,
    steps: settings.steps,
    skip: settings.skipSteps,
    now,
    maxDurationMs: settings.maxDurationMs,
  });
}

function plannedJournal(plan: Plan, settings: Settings, now: Date, status: Journal['status'], message?: string): Journal {
  const at = now.toISOString();
  return {
    schemaVersion: JOURNAL_SCHEMA_VERSION,
    windowId: settings.windowId,
    tier: plan.tier,
    host: plan.host,
    repository: settings.run.repository,
    runId: settings.run.runId,
    runAttempt: settings.run.runAttempt,
    status,
    startedAt: at,
    updatedAt: at,
    endedAt: at,
    attempts: [{ runAttempt: settings.run.runAttempt, startedAt: at, endedAt: at, status }],
    deadline: plan.deadline?.toISOString(),
    steps: plan.steps.map((entry) => ({
      id: entry.step.id,
      title: entry.step.title,
      phase: entry.phase,
      impact: entry.step.impact,
      destructive: entry.step.destructive,
      idempotent: entry.step.idempotent,
      inBracket: entry.inBracket,
      status: 'pending',
      attempts: 0,
    })),
    facts: {},
    message,
  };
}

/** One window on one host: the date guard, the plan, a dry run or the real run. Never throws for a failed step. */
export async function executeWindow(options: ExecuteOptions): Promise<WindowResult> {
  const { settings, config, io } = options;
  const now = options.now ?? (() => new Date());
  const plan = planFor(settings, config, now());
  const guard = shouldRunOn(settings.onlyOn, now(), config.window.timezone);
  if (!guard.run) {
    io.info(`not running today: ${guard.reason}`);
    return { result: 'skipped', plan, journal: plannedJournal(plan, settings, now(), 'planned', guard.reason), warnings: [] };
  }
  const target = options.target ?? (settings.target ? createSshTarget(settings, io) : undefined);
  try {
    if (settings.dryRun) {
      if (target) {
        // Read-only check that the host is reachable with these credentials and its key is the pinned one.
        const probe = await target.exec('uname -sr; id -un');
        io.info(`dry run: connected to ${target.description} (${probe.stdout.trim().replace(/\n/g, ', ')})`);
      }
      return { result: 'planned', plan, journal: plannedJournal(plan, settings, now(), 'planned', 'dry run: nothing was changed'), warnings: plan.warnings };
    }
    if (!target) throw new Error('no target host');
    const result = await runWindow({
      target,
      config,
      settings,
      plan,
      io,
      now,
      cancel: options.cancel,
      onLock: options.onLock,
      onBracket: options.onBracket,
      rollback: rollbackFailedStep,
    });
    // Earlier windows' snapshots, for the report's trend charts; a report without them is still a report.
    result.history = await loadHistory(target, config.stateDir).catch(() => undefined);
    return result;
  } catch (error) {
    // Could not connect, lock held, journal unreadable: nothing ran; the report still says why.
    const message = `the ${plan.tier} window on ${plan.host} did not start: ${getErrorMessage(error)}`;
    io.error(message);
    return { result: 'failed', plan, journal: plannedJournal(plan, settings, now(), 'failed', message), failureMessage: message, warnings: plan.warnings };
  } finally {
    if (!options.target) await target?.close();
  }
}
