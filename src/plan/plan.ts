import type { Tier } from '../constants.js';
import type { StepDefinition } from '../steps/step.js';

export type Phase = 'preflight' | 'main' | 'verify';

export interface PlannedStep {
  step: StepDefinition;
  phase: Phase;
  /** Runs with the app stopped, inside the one downtime bracket. */
  inBracket: boolean;
  /** Came from the config's tiers.<tier>.add. */
  custom: boolean;
}

export interface Plan {
  tier: Tier;
  windowId: string;
  host: string;
  configSource: string;
  steps: PlannedStep[];
  /** When no step may start any more (window end minus cutoff, or max-duration). */
  deadline?: Date;
  deadlineReason?: string;
  /** Services stopped during the bracket. */
  bracketServices: string[];
  warnings: string[];
}
