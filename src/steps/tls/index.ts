import type { StepFactory } from '../step.js';

/** The tls family's steps, in catalogue order. */
export const tlsSteps: StepFactory[] = [];
