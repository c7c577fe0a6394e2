import type { StepFactory } from '../step.js';
import { docsReview } from './docs-review.js';
import { drDrill } from './dr-drill.js';
import { perfBaseline } from './perf-baseline.js';
import { schemaReview } from './schema-review.js';
import { securityAudit } from './security-audit.js';
import { versionsReview } from './versions-review.js';

/** The review family's steps, in catalogue order. */
export const reviewSteps: StepFactory[] = [versionsReview, securityAudit, schemaReview, perfBaseline, drDrill, docsReview];
