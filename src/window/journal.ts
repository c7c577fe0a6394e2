import type { Tier } from '../constants.js';
import type { Finding, Impact, StepOutcome, WindowFacts } from '../steps/step.js';

export type StepState = 'pending' | 'running' | 'succeeded' | 'warning' | 'failed' | 'skipped' | 'deferred' | 'not-run';
export type WindowStatus = 'running' | 'succeeded' | 'failed' | 'deferred' | 'planned' | 'cancelled';

export interface StepRecord {
  id: string;
  title: string;
  phase: 'preflight' | 'main' | 'verify' | 'always';
  impact: Impact;
  destructive: boolean;
  idempotent: boolean;
  inBracket: boolean;
  status: StepState;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  attempts: number;
  summary?: string;
  metrics?: StepOutcome['metrics'];
  details?: unknown;
  findings?: Finding[];
  error?: string;
  /** Set when a previous run already finished this step. */
  resumedFrom?: string;
  /** Why its effect on the host is unknown (the runner died or the connection was lost while it ran): a re-run runs it again only if it is idempotent. */
  interrupted?: string;
}

export interface BracketRecord {
  stoppedAt?: string;
  startedAt?: string;
  downtimeSeconds?: number;
  healthy?: boolean;
  countsBefore?: Record<string, number>;
  countsAfter?: Record<string, number>;
  countsEqual?: boolean;
}

/** The checkpoint file: kept on the host, rewritten atomically at every transition, copied into the report. */
export interface Journal {
  schemaVersion: number;
  windowId: string;
  tier: Tier;
  host: string;
  repository: string;
  runId: string;
  runAttempt: number;
  status: WindowStatus;
  startedAt: string;
  updatedAt: string;
  endedAt?: string;
  /** Every attempt (run) of this window, oldest first. */
  attempts: { runAttempt: number; startedAt: string; endedAt?: string; status?: WindowStatus }[];
  deadline?: string;
  steps: StepRecord[];
  bracket?: BracketRecord;
  facts: WindowFacts;
  failedStep?: string;
  message?: string;
  rollback?: { status: 'succeeded' | 'failed'; summary: string };
}
