import type { StepFactory } from '../step.js';
import { tlsExpiry } from './tls-expiry.js';

/** The tls family's steps, in catalogue order. */
export const tlsSteps: StepFactory[] = [tlsExpiry];
