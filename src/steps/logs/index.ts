import type { StepFactory } from '../step.js';

/** The logs family's steps, in catalogue order. */
export const logsSteps: StepFactory[] = [];
