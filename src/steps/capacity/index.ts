import type { StepFactory } from '../step.js';

/** The capacity family's steps, in catalogue order. */
export const capacitySteps: StepFactory[] = [];
