import type { StepFactory } from '../step.js';
import { dockerCleanup } from './docker-cleanup.js';
import { dockerUpdateImages } from './update-images.js';

/** The docker family's steps, in catalogue order. */
export const dockerSteps: StepFactory[] = [dockerCleanup, dockerUpdateImages];
