import type { BracketRecord } from '../window/journal.js';
import type { Snapshot, TableFacts } from './snapshot-types.js';

export interface Change {
  before?: number;
  after?: number;
  /** after − before, when both are known. */
  delta?: number;
}

export interface TableChange {
  table: string;
  size: Change;
  deadTuples: Change;
}

export interface DiskChange {
  mount: string;
  free: Change;
  usedPercent: Change;
}

/**
 * equal: same count. changed: differs between baseline and post while the app was writing (informational).
 * mismatch: differs across the downtime bracket, when nothing may write (a real problem). missing: the table
 * is not there in one of the snapshots.
 */
export type IntegrityVerdict = 'equal' | 'changed' | 'mismatch' | 'missing';

export interface IntegrityRow {
  table: string;
  baseline?: number;
  post?: number;
  bracketBefore?: number;
  bracketAfter?: number;
  verdict: IntegrityVerdict;
}

export interface SnapshotDiff {
  databaseSize: Change;
  /** before − after: positive when space came back. */
  reclaimedBytes?: number;
  tables: TableChange[];
  disks: DiskChange[];
  dockerBytes: Change;
  responseP50Ms: Change;
  responseP95Ms: Change;
  integrity: IntegrityRow[];
  /** Whether the counts were judged inside a downtime bracket. */
  judgedInBracket: boolean;
}

function change(before: number | undefined, after: number | undefined): Change {
  const result: Change = {};
  if (before !== undefined) result.before = before;
  if (after !== undefined) result.after = after;
  if (before !== undefined && after !== undefined) result.delta = Math.round((after - before) * 1000) / 1000;
  return result;
}

/** A count of -1 (the bracket's "missing") or null (the snapshot's) is no count. */
const count = (value: number | null | undefined): number | undefined => (value === null || value === undefined || value < 0 ? undefined : value);

const tableKey = (table: TableFacts) => (table.schema === 'public' ? table.name : `${table.schema}.${table.name}`);

function tableChanges(baseline?: Snapshot, post?: Snapshot): TableChange[] {
  const before = new Map((baseline?.database?.tables ?? []).map((table) => [tableKey(table), table]));
  const after = new Map((post?.database?.tables ?? []).map((table) => [tableKey(table), table]));
  const names = [...new Set([...before.keys(), ...after.keys()])];
  return names
    .map((table) => ({
      table,
      size: change(before.get(table)?.totalBytes, after.get(table)?.totalBytes),
      deadTuples: change(before.get(table)?.deadTuples, after.get(table)?.deadTuples),
    }))
    .sort((a, b) => Math.abs(b.size.delta ?? 0) - Math.abs(a.size.delta ?? 0) || (b.size.before ?? b.size.after ?? 0) - (a.size.before ?? a.size.after ?? 0));
}

function diskChanges(baseline?: Snapshot, post?: Snapshot): DiskChange[] {
  const before = new Map((baseline?.disks ?? []).map((disk) => [disk.mount, disk]));
  const after = new Map((post?.disks ?? []).map((disk) => [disk.mount, disk]));
  return [...new Set([...before.keys(), ...after.keys()])].sort().map((mount) => ({
    mount,
    free: change(before.get(mount)?.availableBytes, after.get(mount)?.availableBytes),
    usedPercent: change(before.get(mount)?.usedPercent, after.get(mount)?.usedPercent),
  }));
}

function integrityRows(baseline: Snapshot | undefined, post: Snapshot | undefined, bracket: BracketRecord | undefined): IntegrityRow[] {
  const baselineCounts = baseline?.database?.integrityCounts ?? {};
  const postCounts = post?.database?.integrityCounts ?? {};
  const inBracket = Boolean(bracket?.countsBefore && bracket.countsAfter);
  const tables = [...new Set([...Object.keys(baselineCounts), ...Object.keys(postCounts), ...Object.keys(bracket?.countsBefore ?? {})])];
  return tables.map((table) => {
    const row: IntegrityRow = { table, verdict: 'equal' };
    const put = (key: 'baseline' | 'post' | 'bracketBefore' | 'bracketAfter', value: number | undefined) => {
      if (value !== undefined) row[key] = value;
    };
    put('baseline', count(baselineCounts[table]));
    put('post', count(postCounts[table]));
    if (inBracket) {
      put('bracketBefore', count(bracket!.countsBefore![table]));
      put('bracketAfter', count(bracket!.countsAfter![table]));
    }
    const missing = (baseline && row.baseline === undefined) || (post && row.post === undefined);
    const countedInBracket = row.bracketBefore !== undefined || row.bracketAfter !== undefined;
    if (countedInBracket) {
      if (row.bracketBefore === undefined || row.bracketAfter === undefined) row.verdict = 'missing';
      else if (row.bracketBefore !== row.bracketAfter) row.verdict = 'mismatch';
    } else if (!inBracket && bracket?.countsEqual === false) {
      // Without per-table counts the bracket's overall verdict stands for every table.
      row.verdict = 'mismatch';
    } else if (missing) row.verdict = 'missing';
    else if (row.baseline !== row.post) row.verdict = 'changed';
    return row;
  });
}

/** What the window changed, from its two snapshots (and the bracket's counts, the only ones judged). */
export function diffSnapshots(baseline: Snapshot | undefined, post: Snapshot | undefined, bracket?: BracketRecord): SnapshotDiff {
  const databaseSize = change(baseline?.database?.sizeBytes, post?.database?.sizeBytes);
  const diff: SnapshotDiff = {
    databaseSize,
    tables: tableChanges(baseline, post),
    disks: diskChanges(baseline, post),
    dockerBytes: change(baseline?.docker?.totalBytes, post?.docker?.totalBytes),
    responseP50Ms: change(baseline?.response?.p50Ms, post?.response?.p50Ms),
    responseP95Ms: change(baseline?.response?.p95Ms, post?.response?.p95Ms),
    integrity: integrityRows(baseline, post, bracket),
    judgedInBracket: Boolean(bracket?.countsBefore && bracket.countsAfter) || bracket?.countsEqual !== undefined,
  };
  if (databaseSize.delta !== undefined) diff.reclaimedBytes = -databaseSize.delta;
  return diff;
}

/** WindowResult.baseline / post are `unknown` to the runner: take them only when they are snapshots. */
export function asSnapshot(value: unknown): Snapshot | undefined {
  const candidate = value as Partial<Snapshot> | null | undefined;
  return candidate && typeof candidate === 'object' && candidate.schemaVersion === 1 && Array.isArray(candidate.disks) ? (candidate as Snapshot) : undefined;
}
