import { SNAPSHOT_SCHEMA_VERSION } from '../constants.js';
import { getErrorMessage } from '../errors.js';
import { percentile, probeUrl } from '../remote/http-probe.js';
import { quote } from '../remote/shell.js';
import type { Target } from '../remote/target.js';
import type { StepContext } from '../steps/step.js';
import { parseHostFacts, type HostFacts } from './host-facts-parse.js';
import { hostFactsScript } from './host-facts-script.js';
import { queryDatabaseFacts } from './snapshot-sql.js';
import type { ResponseFacts, Snapshot } from './snapshot-types.js';

export type SnapshotKind = Snapshot['kind'];

const HOST_FACTS_TIMEOUT_MS = 120_000;
const HOST_FACTS_TAIL_BYTES = 4 * 1024 * 1024;
const HISTORY_TAIL_BYTES = 32 * 1024 * 1024;
/** History copies keep this many of the largest tables (plus the integrity tables): trends, not inventories. */
const HISTORY_TABLES = 25;
const RECORD_SEPARATOR = '\x1e';

async function gatherHostFacts(ctx: StepContext): Promise<HostFacts> {
  const result = await ctx.target.exec(hostFactsScript(ctx.config), { timeoutMs: HOST_FACTS_TIMEOUT_MS, tailBytes: HOST_FACTS_TAIL_BYTES, signal: ctx.signal });
  const facts = parseHostFacts(result.stdout, ctx.config, result.truncated);
  if (result.timedOut) facts.errors.unshift(`the host facts script timed out after ${HOST_FACTS_TIMEOUT_MS / 1000} s on ${ctx.target.description}`);
  return facts;
}

/** Samples the health URL one request at a time (parallel requests would measure themselves). */
async function measureResponse(ctx: StepContext, url: string, samples: number): Promise<ResponseFacts> {
  const times: number[] = [];
  const failures = new Set<string>();
  for (let i = 0; i < samples && !ctx.signal.aborted; i++) {
    const probe = await probeUrl(ctx.target, url, ctx.config.health.timeoutMs);
    if (probe.ok) times.push(probe.ms);
    else failures.add(probe.status ? `HTTP ${probe.status}` : (probe.error ?? 'no answer'));
  }
  const round = (value: number | undefined) => (value === undefined ? undefined : Math.round(value * 10) / 10);
  const facts: ResponseFacts = { url, samples, ok: times.length, failures: [...failures] };
  const p50 = round(percentile(times, 50));
  const p95 = round(percentile(times, 95));
  const max = round(times.length ? Math.max(...times) : undefined);
  if (p50 !== undefined) facts.p50Ms = p50;
  if (p95 !== undefined) facts.p95Ms = p95;
  if (max !== undefined) facts.maxMs = max;
  return facts;
}

/**
 * Host and database facts in few round trips: one remote script (system, disks, backups, docker, services,
 * activity) beside three SQL statements, then the health URL samples. `roundTrips` counts the SSH execs and SQL
 * statements it issued (opening the window's database pool is not counted: the window shares it).
 */
export async function takeSnapshot(ctx: StepContext, kind: SnapshotKind): Promise<Snapshot> {
  const started = performance.now();
  const takenAt = ctx.now().toISOString();
  const databasePart = (async () => {
    try {
      return await queryDatabaseFacts(await ctx.db(), ctx.config.database.integrityTables);
    } catch (error) {
      return { queries: 0, errors: [`database ${ctx.config.database.name} unreachable: ${getErrorMessage(error)}`] };
    }
  })();
  const [host, database] = await Promise.all([gatherHostFacts(ctx), databasePart]);
  const url = ctx.config.health.url;
  const samples = url ? Math.max(1, ctx.config.health.samples) : 0;
  const response = url ? await measureResponse(ctx, url, samples) : undefined;

  const snapshot: Snapshot = {
    schemaVersion: SNAPSHOT_SCHEMA_VERSION as 1,
    kind,
    windowId: ctx.settings.windowId,
    target: ctx.target.description,
    takenAt,
    durationMs: Math.round(performance.now() - started),
    roundTrips: 1 + database.queries,
    httpProbes: samples,
    disks: host.disks,
    errors: [...host.errors, ...database.errors],
  };
  if (host.system) snapshot.system = host.system;
  if (host.backup) snapshot.backup = host.backup;
  if (host.docker) snapshot.docker = host.docker;
  if (host.services) snapshot.services = host.services;
  if (host.activity) snapshot.activity = host.activity;
  if (database.facts) snapshot.database = database.facts;
  if (response) {
    snapshot.response = response;
    if (response.ok < response.samples)
      snapshot.errors.push(`${url}: ${response.samples - response.ok} of ${response.samples} requests failed (${response.failures.join(', ')})`);
  }
  return snapshot;
}

/** The copy kept on the host for trends: the largest tables and the integrity tables, no indexes. */
export function trimForHistory(snapshot: Snapshot): Snapshot {
  if (!snapshot.database) return { ...snapshot, trimmed: true };
  const integrity = new Set(Object.keys(snapshot.database.integrityCounts));
  const tables = snapshot.database.tables.filter(
    (table, index) => index < HISTORY_TABLES || integrity.has(table.name) || integrity.has(`${table.schema}.${table.name}`),
  );
  return { ...snapshot, trimmed: true, database: { ...snapshot.database, tables, indexes: [] } };
}

/** A window id as a file name: nothing but letters, digits, dot, dash and underscore. */
export function historyFileName(windowId: string, kind: SnapshotKind): string {
  return `${windowId.replace(/[^A-Za-z0-9._-]/g, '_')}-${kind}.json`;
}

export function historyDir(stateDir: string): string {
  return `${stateDir.replace(/\/+$/, '')}/history`;
}

/** Keeps the newest `keep` history files of a kind (by modification time), deletes the rest. */
export function pruneHistoryScript(stateDir: string, kind: SnapshotKind, keep: number): string {
  return `cd ${quote(historyDir(stateDir))} 2>/dev/null || exit 0; ls -1t -- *-${kind}.json 2>/dev/null | tail -n +${Math.max(1, keep) + 1} | while IFS= read -r f; do rm -f -- "$f"; done`;
}

function isSnapshot(value: unknown): value is Snapshot {
  const candidate = value as Partial<Snapshot> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    candidate.schemaVersion === SNAPSHOT_SCHEMA_VERSION &&
    typeof candidate.takenAt === 'string' &&
    Array.isArray(candidate.disks)
  );
}

/** Earlier snapshots kept on the host, oldest first (one SSH round trip). Unreadable files are skipped. */
export async function loadHistory(target: Target, stateDir: string): Promise<Snapshot[]> {
  const dir = quote(historyDir(stateDir));
  const script = `[ -d ${dir} ] || exit 0; for f in ${dir}/*-baseline.json ${dir}/*-post.json; do [ -f "$f" ] || continue; printf '\\036\\n'; cat -- "$f"; done`;
  const result = await target.exec(script, { timeoutMs: 60_000, tailBytes: HISTORY_TAIL_BYTES });
  if (result.code !== 0)
    throw new Error(
      `reading the snapshot history in ${historyDir(stateDir)} on ${target.description} failed (exit ${result.code ?? result.signal}): ${result.stderr.trim()}`,
    );
  const snapshots: Snapshot[] = [];
  for (const chunk of result.stdout.split(RECORD_SEPARATOR)) {
    if (!chunk.trim()) continue;
    try {
      const parsed: unknown = JSON.parse(chunk);
      if (isSnapshot(parsed)) snapshots.push(parsed);
    } catch {
      // a half-written or foreign file: not history
    }
  }
  return snapshots.sort((a, b) => a.takenAt.localeCompare(b.takenAt));
}
