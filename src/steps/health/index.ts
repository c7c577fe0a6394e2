import type { StepFactory } from '../step.js';
import { preflight } from './preflight.js';
import { verify } from './verify.js';

/** The health family's steps, in catalogue order. */
export const healthSteps: StepFactory[] = [preflight, verify];
