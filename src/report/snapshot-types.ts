/** Host and database facts at one moment (baseline before the window, post after it). Schema: schemas/snapshot.schema.json. */
export interface Snapshot {
  schemaVersion: 1;
  kind: 'baseline' | 'post';
  windowId: string;
  /** The target as the runner reached it (user@host:port). */
  target: string;
  takenAt: string;
  durationMs: number;
  /** SSH execs plus SQL queries it took (HTTP probes are counted apart). */
  roundTrips: number;
  httpProbes: number;
  /** History copies keep only the largest tables and no indexes. */
  trimmed?: boolean;
  system?: SystemFacts;
  disks: DiskUsage[];
  backup?: BackupFacts;
  docker?: DockerFacts;
  services?: ServiceFacts;
  activity?: ActivityFacts;
  database?: DatabaseFacts;
  response?: ResponseFacts;
  /** Parts that could not be gathered, each naming what failed. */
  errors: string[];
}

export interface SystemFacts {
  hostname: string;
  kernel?: string;
  cpus?: number;
  uptimeSeconds?: number;
  load?: [number, number, number];
  memory?: { totalBytes: number; availableBytes: number; swapTotalBytes?: number; swapFreeBytes?: number };
}

export interface DiskUsage {
  mount: string;
  filesystem: string;
  type?: string;
  sizeBytes: number;
  usedBytes: number;
  availableBytes: number;
  usedPercent: number;
}

export interface BackupFacts {
  dir: string;
  pattern: string;
  count: number;
  newest?: { path: string; sizeBytes: number; modifiedAt: string; ageSeconds: number };
}

export interface DockerSpace {
  type: string;
  count: number;
  active?: number;
  sizeBytes: number;
  reclaimableBytes?: number;
}

export interface ContainerFacts {
  name: string;
  image?: string;
  state?: string;
  status: string;
  cpuPercent?: number;
  memoryBytes?: number;
  memoryLimitBytes?: number;
}

export interface DockerFacts {
  space: DockerSpace[];
  /** Sum of the space rows. */
  totalBytes: number;
  containers: ContainerFacts[];
}

export interface ServiceFacts {
  manager: string;
  running: boolean;
  detail: string;
}

export interface ActivityFacts {
  accessLog: string;
  windowSeconds: number;
  requests: number;
  serverErrors: number;
  lastRequestAt?: string;
  /** Lines read from the end of the log (bounded). */
  linesScanned: number;
}

export interface TableFacts {
  schema: string;
  name: string;
  totalBytes: number;
  heapBytes: number;
  indexBytes: number;
  /** pg_class.reltuples: the planner's estimate (-1 or 0 before the first ANALYZE). */
  rowEstimate: number;
  liveTuples?: number;
  deadTuples?: number;
  lastVacuum?: string;
  lastAutovacuum?: string;
  lastAnalyze?: string;
  lastAutoanalyze?: string;
}

export interface IndexFacts {
  schema: string;
  table: string;
  name: string;
  bytes: number;
  valid: boolean;
  unique: boolean;
  scans?: number;
}

export interface DatabaseFacts {
  name: string;
  serverVersion?: string;
  sizeBytes: number;
  maxConnections?: number;
  connections: { state: string; count: number }[];
  /** Tables in the database (the list below may be trimmed). */
  tableCount: number;
  tables: TableFacts[];
  indexes: IndexFacts[];
  /** Exact row counts of the integrity tables only; null when the table does not exist. */
  integrityCounts: Record<string, number | null>;
}

export interface ResponseFacts {
  url: string;
  samples: number;
  ok: number;
  p50Ms?: number;
  p95Ms?: number;
  maxMs?: number;
  /** Why failing samples failed (status or error), distinct values. */
  failures: string[];
}
