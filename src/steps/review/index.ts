import type { StepFactory } from '../step.js';

/** The review family's steps, in catalogue order. */
export const reviewSteps: StepFactory[] = [];
