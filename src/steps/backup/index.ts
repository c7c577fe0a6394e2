import type { StepFactory } from '../step.js';
import { backupFresh } from './backup-fresh.js';
import { backupVerify } from './backup-verify.js';

/** The backup family's steps, in catalogue order. (rollback, in restore-backup.ts, is run by the runner, not planned.) */
export const backupSteps: StepFactory[] = [backupFresh, backupVerify];
