import type { StepFactory } from '../step.js';
import { capacityReview } from './capacity-review.js';
import { diskCheck } from './disk-check.js';
import { metricsReview } from './metrics-review.js';

/** The capacity family's steps, in catalogue order. */
export const capacitySteps: StepFactory[] = [capacityReview, metricsReview, diskCheck];
