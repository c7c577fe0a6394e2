import type { StepFactory } from '../step.js';
import { systemPackageUpdates } from './package-updates.js';
import { systemSecurityCheck } from './security-check.js';

/** The system family's steps, in catalogue order. */
export const systemSteps: StepFactory[] = [systemSecurityCheck, systemPackageUpdates];
