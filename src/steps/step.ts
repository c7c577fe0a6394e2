import type { Tier } from '../constants.js';
import type { Database } from '../database/database.js';
import type { Target } from '../remote/target.js';
import type { MaintenanceConfig } from '../settings/config.js';
import type { Settings } from '../settings/settings.js';
import type { ServiceManager } from './services/service-manager.js';

export type Impact = 'none' | 'degraded' | 'downtime';
export type Severity = 'info' | 'warning' | 'critical';

/** Something an operator should know or act on. */
export interface Finding {
  severity: Severity;
  title: string;
  evidence?: string;
  action?: string;
}

/** What a step says it did. The runner records it in the journal and the report. */
export interface StepOutcome {
  /** warning: done, but something needs a look. skipped: nothing to do, or not applicable here. */
  status: 'succeeded' | 'warning' | 'failed' | 'skipped';
  summary: string;
  metrics?: Record<string, number>;
  details?: unknown;
  findings?: Finding[];
}

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug(message: string): void;
}

/** The backup this window took or verified: its rollback point. */
export interface BackupRecord {
  path: string;
  sha256?: string;
  format: 'custom' | 'plain-gz' | 'plain';
  sizeBytes: number;
  createdAt: string;
  /** fresh: taken by this window; verified: an existing one checked by a test restore or checksum. */
  kind: 'fresh' | 'verified';
}

/** Facts a window keeps across steps and re-runs (stored in the journal). */
export interface WindowFacts {
  backup?: BackupRecord;
  /** Image ids before docker.update-images, for rollback. */
  previousImages?: Record<string, string>;
  /** Settings before db.tune applied new ones, for rollback. */
  previousSettings?: Record<string, string>;
  /** Row counts of integrity tables at the baseline. */
  baselineCounts?: Record<string, number>;
  [key: string]: unknown;
}

export interface StepContext {
  target: Target;
  config: MaintenanceConfig;
  settings: Settings;
  tier: Tier;
  /** The database through the SSH tunnel, opened on first use. */
  db(): Promise<Database>;
  services: ServiceManager;
  log: Logger;
  facts: WindowFacts;
  /** Persists facts into the journal at once (e.g. the rollback point). */
  saveFacts(update: Partial<WindowFacts>): Promise<void>;
  /** Aborted on the step's timeout or when the run is cancelled. */
  signal: AbortSignal;
  now(): Date;
  /** Secret environment for commands needing the database password (never on a command line). */
  databaseEnv(): Record<string, string>;
}

export interface StepDefinition {
  id: string;
  title: string;
  /** One line for the plan: what it does. */
  description: string;
  /** What it will run (shell or SQL), shown in dry runs and pull-request plans. */
  commands: string[];
  impact: Impact;
  /** Needs a backup taken or verified by this window before it may run. */
  destructive: boolean;
  /** Safe to run again after an interruption. */
  idempotent: boolean;
  timeoutMs: number;
  /** Extra attempts after a failure (only for idempotent steps). */
  retries: number;
  /** This step makes a rollback point (fresh backup) or verifies one. */
  providesBackup?: 'fresh' | 'verified';
  run(ctx: StepContext): Promise<StepOutcome>;
}

/** A catalogue entry: builds the step for a given config (impact can depend on it). */
export type StepFactory = (config: MaintenanceConfig) => StepDefinition;

export const MINUTES = 60_000;
