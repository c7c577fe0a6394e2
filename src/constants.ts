/** Names of action inputs, outputs and post-step state, in one place. */
export const Inputs = {
  host: 'host',
  hosts: 'hosts',
  inventory: 'inventory',
  maxConcurrency: 'max-concurrency',
  maxErrors: 'max-errors',
  shard: 'shard',
  port: 'port',
  username: 'username',
  privateKey: 'private-key',
  passphrase: 'passphrase',
  password: 'password',
  knownHosts: 'known-hosts',
  hostFingerprint: 'host-fingerprint',
  strictHostKeyChecking: 'strict-host-key-checking',
  jumpHost: 'jump-host',
  jumpPrivateKey: 'jump-private-key',
  connectTimeout: 'connect-timeout',
  tier: 'tier',
  config: 'config',
  steps: 'steps',
  skipSteps: 'skip-steps',
  dryRun: 'dry-run',
  resume: 'resume',
  windowId: 'window-id',
  maxDuration: 'max-duration',
  onlyOn: 'only-on',
  onFailure: 'on-failure',
  databasePassword: 'database-password',
  reportDir: 'report-dir',
  openIssueOnFailure: 'open-issue-on-failure',
  githubToken: 'github-token',
} as const;

export type InputName = (typeof Inputs)[keyof typeof Inputs];

export const Outputs = {
  result: 'result',
  windowId: 'window-id',
  failedStep: 'failed-step',
  reportDir: 'report-dir',
  downtimeSeconds: 'downtime-seconds',
  dbSizeBefore: 'db-size-before',
  dbSizeAfter: 'db-size-after',
  reclaimedBytes: 'reclaimed-bytes',
} as const;

/** Post-step state: paths and flags only, never secrets. */
export const State = {
  /** The lock token while main holds the host lock. */
  lockHeld: 'lockHeld',
  /** 'true' while the app is stopped for the downtime bracket. */
  bracketOpen: 'bracketOpen',
  windowFinished: 'windowFinished',
} as const;

export const Tiers = ['weekly', 'monthly', 'quarterly'] as const;
export type Tier = (typeof Tiers)[number];

export const DEFAULT_STATE_DIR = '/var/lib/maintenance-window';
export const JOURNAL_SCHEMA_VERSION = 1;
export const SNAPSHOT_SCHEMA_VERSION = 1;
