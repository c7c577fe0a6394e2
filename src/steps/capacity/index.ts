import type { StepFactory } from '../step.js';
import { capacityReview } from './capacity-review.js';

/** The capacity family's steps, in catalogue order. */
export const capacitySteps: StepFactory[] = [capacityReview];
