import type { StepFactory } from '../step.js';
import { logsRotate } from './logs-rotate.js';

/** The logs family's steps, in catalogue order. */
export const logsSteps: StepFactory[] = [logsRotate];
