import type { StepFactory } from '../step.js';
import { dbTune } from './db-tune.js';
import { reindex } from './reindex.js';
import { vacuumAnalyze } from './vacuum-analyze.js';
import { vacuumFull } from './vacuum-full.js';

/** The database family's steps, in catalogue order. */
export const databaseSteps: StepFactory[] = [vacuumAnalyze, vacuumFull, reindex, dbTune];
