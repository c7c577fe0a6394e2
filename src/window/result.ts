import type { Journal } from './journal.js';
import type { Plan } from '../plan/plan.js';

/** What a window produced: everything the reports need. Snapshots are the report module's type. */
export interface WindowResult {
  result: 'succeeded' | 'failed' | 'deferred' | 'planned' | 'skipped';
  journal: Journal;
  plan: Plan;
  /** Host facts and database facts before and after (see src/report/snapshot-types.ts). */
  baseline?: unknown;
  post?: unknown;
  /** Snapshots of earlier windows on this host, for trend charts. */
  history?: unknown[];
  /** One line that says why the window failed, with host and step. */
  failureMessage?: string;
  warnings: string[];
}
