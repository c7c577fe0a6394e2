import type { Tier } from '../constants.js';
import type { Impact } from '../steps/step.js';

export interface CustomStepConfig {
  id: string;
  title: string;
  run?: string;
  sql?: string;
  impact: Impact;
  destructive: boolean;
  idempotent: boolean;
  timeoutMs: number;
  after?: string;
}

export interface TierConfig {
  /** Replaces the tier's default step list. */
  steps?: string[];
  skip: string[];
  add: CustomStepConfig[];
}

/** The maintenance config after validation, with every default filled in. Defaults mirror the runbook. */
export interface MaintenanceConfig {
  /** Where it came from: a file path, or 'defaults'. */
  source: string;
  database: {
    host: string;
    port: number;
    name: string;
    user: string;
    integrityTables: string[];
    lockTimeoutMs: number;
    statementTimeoutMs: number;
    vacuumJobs: number;
    /** Estimated bloat (percent of a relation) from which VACUUM FULL / REINDEX target it. */
    bloatThresholdPercent: number;
    /** Relations smaller than this are never rewritten (bytes). */
    minRelationBytes: number;
    vacuumFull: 'bloated' | 'all';
    /** online: per table with lock_timeout; downtime: inside the downtime bracket. */
    vacuumFullMode: 'online' | 'downtime';
    reindex: 'concurrently' | 'database';
    /**
     * Host path of the data directory, for the free-disk check before VACUUM FULL. Needed when PostgreSQL runs in a
     * container (its own path means nothing on the host) or the role may not read `data_directory`.
     */
    dataDirectory?: string;
    /** db.tune: report recommended settings; apply them (ALTER SYSTEM + reload) only when `apply`. */
    tune: {
      apply: boolean;
      /** Memory PostgreSQL may use, when set: overrides the detected cgroup limit / MemTotal (bytes). */
      memoryLimitBytes?: number;
      /** Sets random_page_cost and effective_io_concurrency. */
      storage: 'ssd' | 'hdd';
    };
  };
  services: {
    manager: 'compose' | 'systemd' | 'command' | 'none';
    projectDir?: string;
    composeFile?: string;
    app: string[];
    startCommand?: string;
    stopCommand?: string;
    statusCommand?: string;
    /** Shell prelude for docker / compose commands (e.g. DOCKER_HOST). */
    environment: Record<string, string>;
  };
  health: {
    url?: string;
    databaseUrl?: string;
    timeoutMs: number;
    samples: number;
  };
  backups: {
    dir: string;
    pattern: string;
    maxAgeMs: number;
    checksum: boolean;
  };
  logs: {
    dirs: string[];
    archiveDir: string;
    compressAfterDays: number;
    deleteAfterDays: number;
    containerLogMaxBytes: number;
  };
  activity: {
    accessLog?: string;
    windowMs: number;
    warnAbove: number;
  };
  tls: {
    endpoints: string[];
    files: string[];
    warnDays: number;
    failDays: number;
  };
  window: {
    timezone: string;
    start: string;
    end: string;
    cutoffMs: number;
  };
  disk: {
    warnPercent: number;
    failPercent: number;
  };
  updates: {
    securityOnly: boolean;
    applyOn: Tier[];
  };
  dr: {
    rtoTargetMs: number;
    rpoTargetMs: number;
  };
  security: {
    /** security.audit flags login roles without a password expiry (VALID UNTIL). */
    passwordExpiryRequired: boolean;
  };
  capacity: {
    /** capacity.review warns when a mount is forecast to fill within this many days. */
    warnDays: number;
  };
  perf: {
    /** perf.baseline flags a metric that got worse by more than this percent since last quarter. */
    regressionPercent: number;
    /** Timed requests to the health URL for the latency baseline. */
    requests: number;
  };
  stateDir: string;
  historyKeep: number;
  onFailure?: 'stop' | 'rollback';
  tiers: Record<Tier, TierConfig>;
}
