import type { Tier } from '../constants.js';
import type { FleetSettings } from '../fleet/fleet-settings.js';

export type OnlyOn = 'any' | 'sunday' | 'first-sunday' | 'first-sunday-of-quarter' | 'first-sunday-except-quarter' | 'not-first-sunday';
export const ONLY_ON_VALUES: readonly OnlyOn[] = [
  'any',
  'sunday',
  'first-sunday',
  'first-sunday-of-quarter',
  'first-sunday-except-quarter',
  'not-first-sunday',
];

/** How to resume a window found in the journal. */
export type ResumeMode = { kind: 'auto' } | { kind: 'restart' } | { kind: 'from'; stepId: string };

export interface HostEndpoint {
  host: string;
  port: number;
  username: string;
}

/** Everything a run needs, typed and validated; the only product of reading inputs or flags. */
export interface Settings {
  /** The target host; undefined for a fleet run and for a plan-only run. */
  target?: HostEndpoint;
  /** Many hosts in one run (inputs hosts / inventory); exclusive with target. */
  fleet?: FleetSettings;
  /** SSH private key (secret). */
  privateKey?: string;
  /** Passphrase of the private key (secret). */
  passphrase?: string;
  /** SSH password (secret). */
  password?: string;
  /** known_hosts lines pinning host keys. */
  knownHosts?: string;
  /** SHA256:... fingerprint pinning the target's key. */
  hostFingerprint?: string;
  /** false only by explicit choice; a warning is logged. */
  strictHostKeyChecking: boolean;
  /** Bastion; uses the target's credentials unless jumpPrivateKey is set. */
  jumpHost?: HostEndpoint;
  /** Private key for the jump host (secret). */
  jumpPrivateKey?: string;
  /** Connect (and reconnect) budget in milliseconds. */
  connectTimeoutMs: number;
  tier: Tier;
  /** Path of the maintenance config; may not exist (defaults apply) unless set explicitly. */
  configPath: string;
  configPathExplicit: boolean;
  /** Step ids replacing the tier's list. */
  steps?: string[];
  /** Step ids removed from the plan. */
  skipSteps: string[];
  dryRun: boolean;
  resume: ResumeMode;
  windowId: string;
  /** Extra bound on the window's length in milliseconds. */
  maxDurationMs?: number;
  onlyOn: OnlyOn;
  onFailure: 'stop' | 'rollback';
  /** Database password (secret); from the input or PGPASSWORD. */
  databasePassword?: string;
  reportDir: string;
  openIssueOnFailure: boolean;
  /** Token for issues and artifacts (secret). */
  githubToken?: string;
  /** Workflow context for lock owner, links and artifact names. */
  run: RunContext;
}

export interface RunContext {
  repository: string;
  runId: string;
  runAttempt: number;
  workflow: string;
  serverUrl: string;
  actor: string;
}

/** Secrets of a settings object, to scrub from anything written. */
export function secretsOf(settings: Settings): string[] {
  return [settings.privateKey, settings.passphrase, settings.password, settings.jumpPrivateKey, settings.databasePassword, settings.githubToken].filter(
    (value): value is string => typeof value === 'string' && value.length > 0,
  );
}
