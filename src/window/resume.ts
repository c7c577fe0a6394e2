import type { ResumeMode } from '../settings/settings.js';
import type { Plan } from '../plan/plan.js';
import type { Journal, StepRecord } from './journal.js';

const DONE = new Set(['succeeded', 'warning', 'skipped']);

export interface ResumeDecision {
  /** Step ids already done in an earlier attempt, with the attempt's start. */
  done: Map<string, StepRecord>;
  /** When set, the window must stop before running anything: what to check and how to go on. */
  blocked?: string;
  notes: string[];
}

/** Decides what a re-run of a window does with the journal an earlier attempt left. */
export function decideResume(plan: Plan, previous: Journal | undefined, mode: ResumeMode): ResumeDecision {
  const notes: string[] = [];
  const done = new Map<string, StepRecord>();
  if (mode.kind === 'from') {
    const index = plan.steps.findIndex((entry) => entry.step.id === mode.stepId);
    if (index < 0) return { done, blocked: `resume: ${mode.stepId} is not a step of this plan`, notes };
    // The frame (preflight, baseline) always runs again: the host may have changed since.
    for (const entry of plan.steps.slice(0, index)) {
      if (entry.phase !== 'main') continue;
      const record = previous?.steps.find((step) => step.id === entry.step.id);
      done.set(entry.step.id, record ?? ({ id: entry.step.id, status: 'skipped', summary: 'skipped by resume' } as StepRecord));
    }
    notes.push(`resuming from ${mode.stepId} as asked: ${done.size} earlier main step(s) are not run again`);
    return { done, notes };
  }
  if (!previous || mode.kind === 'restart') {
    if (previous) notes.push(`resume: restart — the journal of the earlier attempt (${previous.status}) is replaced`);
    return { done, notes };
  }
  for (const entry of plan.steps) {
    const record = previous.steps.find((step) => step.id === entry.step.id);
    if (!record) continue;
    if (record.status === 'running' || record.interrupted) {
      if (!entry.step.idempotent) {
        const next = plan.steps[plan.steps.indexOf(entry) + 1]?.step.id;
        return {
          done,
          blocked:
            `step ${entry.step.id} was interrupted while it ran (${record.interrupted ?? `attempt ${previous.runAttempt}`}) and is not safe to run twice. ` +
            `Check on the host what it did, then re-run with resume: ${entry.step.id} to run it again` +
            (next ? ` or resume: ${next} to go on after it` : '') +
            ', or resume: restart to start over.',
          notes,
        };
      }
      notes.push(`step ${entry.step.id} was interrupted while it ran; it is idempotent and runs again`);
      continue;
    }
    if (entry.phase === 'main' && DONE.has(record.status)) done.set(entry.step.id, record);
  }
  if (done.size > 0) notes.push(`resuming window ${previous.windowId}: ${done.size} step(s) already done are skipped`);
  return { done, notes };
}
