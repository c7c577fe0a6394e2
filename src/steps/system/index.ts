import type { StepFactory } from '../step.js';

/** The system family's steps, in catalogue order. */
export const systemSteps: StepFactory[] = [];
