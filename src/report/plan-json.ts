import type { Plan } from '../plan/plan.js';

export interface PlannedStepJson {
  id: string;
  title: string;
  description: string;
  phase: string;
  impact: string;
  destructive: boolean;
  idempotent: boolean;
  inBracket: boolean;
  custom: boolean;
  timeoutMs: number;
  retries: number;
  providesBackup?: 'fresh' | 'verified';
  commands: string[];
}

export interface PlanJson {
  tier: string;
  windowId: string;
  host: string;
  configSource: string;
  deadline?: string;
  deadlineReason?: string;
  bracketServices: string[];
  warnings: string[];
  steps: PlannedStepJson[];
}

/** The plan as data (step definitions carry functions; this keeps what a reader or a machine needs). */
export function planToJson(plan: Plan): PlanJson {
  const json: PlanJson = {
    tier: plan.tier,
    windowId: plan.windowId,
    host: plan.host,
    configSource: plan.configSource,
    bracketServices: plan.bracketServices,
    warnings: plan.warnings,
    steps: plan.steps.map(({ step, phase, inBracket, custom }) => {
      const entry: PlannedStepJson = {
        id: step.id,
        title: step.title,
        description: step.description,
        phase,
        impact: step.impact,
        destructive: step.destructive,
        idempotent: step.idempotent,
        inBracket,
        custom,
        timeoutMs: step.timeoutMs,
        retries: step.retries,
        commands: step.commands,
      };
      if (step.providesBackup) entry.providesBackup = step.providesBackup;
      return entry;
    }),
  };
  if (plan.deadline) json.deadline = plan.deadline.toISOString();
  if (plan.deadlineReason) json.deadlineReason = plan.deadlineReason;
  return json;
}
