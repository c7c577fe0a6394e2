import { JOURNAL_SCHEMA_VERSION } from '../constants.js';
import { getErrorMessage } from '../errors.js';
import type { Plan, PlannedStep } from '../plan/plan.js';
import { ConnectionLostError } from '../remote/ssh-target.js';
import type { Target } from '../remote/target.js';
import type { MaintenanceConfig } from '../settings/config.js';
import { secretsOf, type Settings } from '../settings/settings.js';
import type { StepContext, StepDefinition, StepOutcome, WindowFacts } from '../steps/step.js';
import { formatDuration } from '../settings/durations.js';
import { countTables } from '../database/table-counts.js';
import type { Journal, StepRecord } from './journal.js';
import { JournalStore } from './journal-store.js';
import { HostLock } from './lock.js';
import { isPermanentDatabaseError } from '../database/database.js';
import { maskText, secretForms } from '../report/secret-mask.js';
import type { WindowResult } from './result.js';
import { decideResume } from './resume.js';
import type { RunnerIO } from './runner-io.js';
import { WindowResources } from './step-context.js';

export interface RunWindowOptions {
  target: Target;
  config: MaintenanceConfig;
  settings: Settings;
  plan: Plan;
  io: RunnerIO;
  now?: () => Date;
  /** Aborted when the job is cancelled: the running step stops, nothing new starts, the app is started again. */
  cancel?: AbortSignal;
  /** Undoes a failed destructive step when on-failure is rollback. */
  rollback?: (ctx: StepContext, failed: StepDefinition) => Promise<StepOutcome>;
  /** Told when the lock is taken and released (the post step releases it if main dies). */
  onLock?: (token: string | undefined) => void;
  /** Told when the app is stopped and started again (the post step restarts it if main dies in between). */
  onBracket?: (open: boolean) => void;
}

const LOCK_MARGIN_S = 600;
/** Before a retry: a restarting PostgreSQL or a flapping link gets time to come back (times the attempt number). */
const RETRY_DELAY_MS = 5000;

function stepRecord(entry: PlannedStep): StepRecord {
  const { step } = entry;
  return {
    id: step.id,
    title: step.title,
    phase: entry.phase,
    impact: step.impact,
    destructive: step.destructive,
    idempotent: step.idempotent,
    inBracket: entry.inBracket,
    status: 'pending',
    attempts: 0,
  };
}

class StepTimeout extends Error {}

/** Runs one step with its timeout: the signal aborts remote commands; the race bounds a step that ignores it. */
async function runWithTimeout(run: (signal: AbortSignal) => Promise<StepOutcome>, timeoutMs: number, cancel?: AbortSignal): Promise<StepOutcome> {
  const controller = new AbortController();
  const onCancel = () => controller.abort();
  cancel?.addEventListener('abort', onCancel, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new StepTimeout(`timed out after ${formatDuration(timeoutMs)}`));
    }, timeoutMs);
  });
  const cancelled = new Promise<never>((_, reject) => {
    if (cancel?.aborted) reject(new Error('cancelled'));
    cancel?.addEventListener('abort', () => reject(new Error('the run was cancelled')), { once: true });
  });
  try {
    return await Promise.race([run(controller.signal), timeout, cancelled]);
  } finally {
    clearTimeout(timer);
    cancel?.removeEventListener('abort', onCancel);
  }
}

/** Executes a plan on a host: lock, journal, resume, deadline, downtime bracket, failure policy. */
/** Integrity-table counts for the bracket's comparison; a missing table counts -1 (so it shows as a change). */
async function integrityCounts(ctx: StepContext, tables: readonly string[]): Promise<Record<string, number> | undefined> {
  try {
    const { counts, missing } = await countTables(await ctx.db(), tables);
    return Object.fromEntries(tables.map((table) => [table, missing.includes(table) ? -1 : counts[table]!]));
  } catch {
    return undefined;
  }
}

export async function runWindow(options: RunWindowOptions): Promise<WindowResult> {
  const { target, config, settings, plan } = options;
  const now = options.now ?? (() => new Date());
  const secrets = secretsOf(settings);
  const forms = secretForms(secrets);
  const mask = (text: string) => maskText(text, forms);
  // Steps stream their commands' output through here, and a command may print a secret: every line is masked.
  const io: RunnerIO = {
    info: (message) => options.io.info(mask(message)),
    warn: (message) => options.io.warn(mask(message)),
    error: (message) => options.io.error(mask(message)),
    debug: (message) => options.io.debug(mask(message)),
    group: (name, work) => options.io.group(mask(name), work),
  };
  const store = new JournalStore(target, config.stateDir, settings.windowId, settings.reportDir, secrets);
  const warnings: string[] = [...plan.warnings];
  const longestStep = Math.max(...plan.steps.map((entry) => entry.step.timeoutMs), 60_000);
  const ttlFor = (timeoutMs: number) => Math.ceil(timeoutMs / 1000) + LOCK_MARGIN_S;

  const lock = new HostLock(
    target,
    config.stateDir,
    {
      windowId: settings.windowId,
      repository: settings.run.repository,
      runId: settings.run.runId,
      runAttempt: settings.run.runAttempt,
      startedAt: now().toISOString(),
    },
    (message) => {
      io.warn(message);
      warnings.push(message);
    },
  );
  await lock.acquire(ttlFor(longestStep));
  options.onLock?.(lock.token);

  const previous = await store.load();
  const decision = decideResume(plan, previous, settings.resume);
  decision.notes.forEach((note) => io.info(note));
  const startedAt = now().toISOString();
  const facts: WindowFacts = settings.resume.kind === 'restart' ? {} : { ...(previous?.facts ?? {}) };
  const journal: Journal = {
    schemaVersion: JOURNAL_SCHEMA_VERSION,
    windowId: settings.windowId,
    tier: plan.tier,
    host: target.description,
    repository: settings.run.repository,
    runId: settings.run.runId,
    runAttempt: settings.run.runAttempt,
    status: 'running',
    startedAt: previous && settings.resume.kind !== 'restart' ? previous.startedAt : startedAt,
    updatedAt: startedAt,
    attempts: [...(previous?.attempts ?? []), { runAttempt: settings.run.runAttempt, startedAt }],
    deadline: plan.deadline?.toISOString(),
    steps: plan.steps.map(stepRecord),
    facts,
  };
  const save = () => store.save(journal);
  const resources = new WindowResources({
    target,
    config,
    settings,
    tier: plan.tier,
    log: io,
    facts,
    now,
    saveFacts: async (update) => {
      Object.assign(facts, update);
      await save();
    },
  });
  const durations = await store.loadDurations();
  let bracketOpen = false;
  let failed: StepRecord | undefined;
  /** The step the loop is at: blamed when something around it (its journal write, the lock) fails. */
  let current: StepRecord | undefined;

  const openBracket = async (ctx: StepContext) => {
    const counts = await integrityCounts(ctx, config.database.integrityTables);
    journal.bracket = { countsBefore: counts, stoppedAt: now().toISOString() };
    await save();
    io.info(`downtime bracket: stopping ${config.services.app.join(', ') || 'the app'} (${config.services.manager})`);
    bracketOpen = true;
    options.onBracket?.(true);
    await ctx.services.stop();
  };

  /** Starts the app again and checks it; recorded as the always-step services.restart. Never throws. */
  const closeBracket = async (): Promise<StepRecord | undefined> => {
    if (!bracketOpen) return undefined;
    const ctx = resources.context(new AbortController().signal);
    const record: StepRecord = {
      id: 'services.restart',
      title: 'Start the app again after the downtime bracket',
      phase: 'always',
      impact: 'none',
      destructive: false,
      idempotent: true,
      inBracket: false,
      status: 'running',
      attempts: 1,
      startedAt: now().toISOString(),
    };
    journal.steps.push(record);
    io.info(`downtime bracket: starting ${config.services.app.join(', ') || 'the app'} again`);
    let startError: string | undefined;
    try {
      await ctx.services.start();
    } catch (error) {
      startError = getErrorMessage(error);
    }
    const health = await ctx.services.waitHealthy();
    bracketOpen = false;
    const bracket = journal.bracket!;
    bracket.startedAt = now().toISOString();
    bracket.healthy = health.healthy && !startError;
    if (bracket.healthy) options.onBracket?.(false);
    bracket.downtimeSeconds = Math.round((Date.parse(bracket.startedAt) - Date.parse(bracket.stoppedAt!)) / 100) / 10;
    const countsAfter = await integrityCounts(ctx, config.database.integrityTables);
    bracket.countsAfter = countsAfter;
    bracket.countsEqual = bracket.countsBefore && countsAfter ? JSON.stringify(bracket.countsBefore) === JSON.stringify(countsAfter) : undefined;
    record.endedAt = bracket.startedAt;
    record.durationMs = Date.parse(record.endedAt) - Date.parse(record.startedAt!);
    record.metrics = { downtimeSeconds: bracket.downtimeSeconds };
    if (!bracket.healthy) {
      record.status = 'failed';
      const app = config.services.app.length ? config.services.app.join(', ') : 'the app';
      record.error =
        record.summary = `${app} did not come back healthy after the downtime bracket within ${formatDuration(config.health.timeoutMs)}: ${mask([startError, health.detail].filter(Boolean).join('; '))}`;
    } else if (bracket.countsEqual === false) {
      record.status = 'failed';
      record.error =
        record.summary = `integrity tables changed across the downtime bracket while writes were stopped: before ${JSON.stringify(bracket.countsBefore)}, after ${JSON.stringify(countsAfter)}`;
    } else {
      record.status = 'succeeded';
      record.summary = `app healthy again after ${bracket.downtimeSeconds} s of downtime${bracket.countsEqual ? '; integrity tables unchanged' : ''}`;
    }
    (record.status === 'failed' ? io.error : io.info)(`services.restart: ${record.summary}`);
    await save();
    return record;
  };

  const runStep = async (entry: PlannedStep, record: StepRecord): Promise<void> => {
    const { step } = entry;
    const attempts = step.idempotent ? step.retries + 1 : 1;
    record.status = 'running';
    record.startedAt = now().toISOString();
    await save();
    const started = Date.now();
    let outcome: StepOutcome | undefined;
    let lastError: string | undefined;
    let connectionLost = false;
    for (let attempt = 1; attempt <= attempts && !options.cancel?.aborted; attempt++) {
      record.attempts = attempt;
      try {
        outcome = await runWithTimeout((signal) => step.run(resources.context(signal)), step.timeoutMs, options.cancel);
        if (outcome.status !== 'failed' || attempt === attempts) break;
        lastError = outcome.summary;
      } catch (error) {
        lastError = getErrorMessage(error);
        connectionLost = error instanceof ConnectionLostError;
        outcome = undefined;
        await resources.resetDatabase();
        // A refused login or a missing database will not change in a few seconds: do not wait to fail again.
        if (isPermanentDatabaseError(error)) break;
      }
      if (attempt < attempts) {
        const delayMs = RETRY_DELAY_MS * attempt;
        io.warn(`${step.id} attempt ${attempt} failed (${mask(lastError ?? '')}); retrying in ${formatDuration(delayMs)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          options.cancel?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
        });
      }
    }
    record.endedAt = now().toISOString();
    record.durationMs = Date.now() - started;
    if (outcome) {
      record.status = outcome.status;
      record.summary = mask(outcome.summary);
      record.metrics = outcome.metrics;
      record.details = outcome.details;
      record.findings = outcome.findings;
      if (outcome.status === 'failed') record.error = record.summary;
    } else {
      record.status = 'failed';
      record.error = mask(lastError ?? 'failed');
      record.summary = record.error;
      // The command may have run on to its end, or not: a re-run must not repeat a step that is unsafe to repeat.
      if (connectionLost) record.interrupted = `the SSH connection was lost in attempt ${settings.run.runAttempt}`;
    }
    if (record.status !== 'failed') durations[step.id] = record.durationMs;
    await save();
  };

  // An earlier attempt stopped the app and never saw it healthy again (it died inside the bracket, or the app did not
  // come back): this attempt owns that bracket, so the app is started again here whatever else happens.
  if (previous?.bracket?.stoppedAt && previous.bracket.healthy !== true) {
    journal.bracket = { stoppedAt: previous.bracket.stoppedAt, countsBefore: previous.bracket.countsBefore };
    bracketOpen = true;
    options.onBracket?.(true);
    io.warn(
      `attempt ${previous.runAttempt} left ${config.services.app.join(', ') || 'the app'} stopped or unhealthy (since ${previous.bracket.stoppedAt}): this attempt starts it again`,
    );
  }

  try {
    if (decision.blocked) {
      journal.message = decision.blocked;
      // Keep what earlier attempts recorded, or the next re-run would forget the interrupted step and the done ones.
      for (const record of journal.steps) {
        const before = previous?.steps.find((step) => step.id === record.id);
        if (before) Object.assign(record, { ...before, phase: record.phase, inBracket: record.inBracket });
        if (record.status === 'running') {
          record.status = 'failed';
          record.interrupted ??= `attempt ${previous!.runAttempt} ended before it finished`;
        }
      }
      failed = journal.steps.find((record) => record.interrupted && !record.idempotent) ?? journal.steps.find((record) => record.status === 'pending');
      if (failed) failed.error = decision.blocked;
      throw new Error(decision.blocked);
    }
    for (let index = 0; index < plan.steps.length; index++) {
      const entry = plan.steps[index];
      const record = journal.steps[index];
      const { step } = entry;
      const done = decision.done.get(step.id);
      if (done) {
        Object.assign(record, { ...done, phase: record.phase, inBracket: record.inBracket, resumedFrom: done.startedAt ?? 'resume' });
        io.info(`${step.id}: already ${done.status} in an earlier attempt — skipped`);
        continue;
      }
      if (options.cancel?.aborted) {
        record.status = 'not-run';
        continue;
      }
      if (failed && entry.phase !== 'verify') {
        record.status = 'not-run';
        record.summary = `not run: ${failed.id} failed`;
        continue;
      }
      if (entry.phase === 'main' && plan.deadline) {
        const expected = durations[step.id] ?? step.timeoutMs;
        if (now().getTime() + expected > plan.deadline.getTime()) {
          record.status = 'deferred';
          record.summary = `deferred: expected ${formatDuration(expected)} would pass the deadline ${plan.deadline.toISOString()} (${plan.deadlineReason})`;
          io.warn(`${step.id} ${record.summary}`);
          await save();
          continue;
        }
      }
      if (step.destructive && !facts.backup) {
        record.status = 'failed';
        record.error =
          record.summary = `refused: ${step.id} is destructive and this window has no verified or fresh backup (run backup.fresh or backup.verify first)`;
        failed = record;
        await save();
        continue;
      }
      if (bracketOpen && !entry.inBracket) {
        const restart = await closeBracket();
        if (restart?.status === 'failed') failed ??= restart;
      }
      current = record;
      await io.group(`${step.id} — ${step.title}`, async () => {
        if (entry.inBracket && !bracketOpen) await openBracket(resources.context(new AbortController().signal));
        if (lock.isHeld && index > 0) await lock.refresh(ttlFor(step.timeoutMs));
        await runStep(entry, record);
        const line = `${step.id}: ${record.status} in ${formatDuration(record.durationMs ?? 0)} — ${record.summary ?? ''}`;
        if (record.status === 'failed') io.error(line);
        else if (record.status === 'warning') io.warn(line);
        else io.info(line);
      });
      if (record.status === 'failed' && entry.phase !== 'verify') {
        failed = record;
        if (bracketOpen) await closeBracket();
        if (step.destructive && (settings.onFailure === 'rollback' || config.onFailure === 'rollback') && options.rollback) {
          await io.group('rollback', async () => {
            const ctx = resources.context(new AbortController().signal);
            try {
              const outcome = await options.rollback!(ctx, step);
              journal.rollback = { status: outcome.status === 'failed' ? 'failed' : 'succeeded', summary: mask(outcome.summary) };
            } catch (error) {
              journal.rollback = { status: 'failed', summary: mask(getErrorMessage(error)) };
            }
            io.warn(`rollback ${journal.rollback.status}: ${journal.rollback.summary}`);
            await save();
          });
        }
      } else if (record.status === 'failed' && !failed) {
        failed = record;
      }
    }
    if (bracketOpen) {
      const restart = await closeBracket();
      if (restart?.status === 'failed') failed ??= restart;
    }
  } catch (error) {
    const message = mask(getErrorMessage(error));
    journal.message ??= message;
    if (!failed) {
      failed =
        journal.steps.find((record) => record.status === 'running') ??
        (current?.status === 'failed' ? current : undefined) ??
        journal.steps.find((record) => record.status === 'pending');
      if (failed && (failed.status === 'running' || failed.status === 'pending')) failed.status = 'failed';
    }
    if (failed && !failed.error) failed.error = message;
  } finally {
    if (bracketOpen) {
      const restart = await closeBracket();
      if (restart?.status === 'failed') failed ??= restart;
    }
    for (const record of journal.steps) {
      if (record.status !== 'pending') continue;
      record.status = 'not-run';
      record.summary ??= `not run: ${failed ? `${failed.id} failed` : 'the window stopped'}`;
    }
    const deferred = journal.steps.filter((record) => record.status === 'deferred');
    journal.status = options.cancel?.aborted ? 'cancelled' : failed ? 'failed' : deferred.length ? 'deferred' : 'succeeded';
    journal.failedStep = failed?.id;
    journal.endedAt = now().toISOString();
    journal.attempts[journal.attempts.length - 1].endedAt = journal.endedAt;
    journal.attempts[journal.attempts.length - 1].status = journal.status;
    if (failed && !journal.message) journal.message = `${failed.id} failed on ${target.description}: ${failed.error ?? failed.summary ?? ''}`;
    await save().catch((error: unknown) => warnings.push(`the journal could not be written to the host: ${getErrorMessage(error)}`));
    await store.saveDurations(durations).catch(() => undefined);
    await resources.close();
    await lock.release().catch((error: unknown) => warnings.push(`the lock could not be released: ${getErrorMessage(error)}`));
    options.onLock?.(undefined);
  }
  const detailsOf = (id: string) => journal.steps.find((record) => record.id === id)?.details;
  return {
    result: journal.status === 'cancelled' ? 'failed' : (journal.status as WindowResult['result']),
    journal,
    plan,
    baseline: detailsOf('snapshot.baseline'),
    post: detailsOf('snapshot.post'),
    failureMessage: failed ? `${failed.id} failed on ${target.description}: ${failed.error ?? journal.message ?? 'see the journal'}` : undefined,
    warnings,
  };
}
