/**
 * pgtune-style recommendations ("web application" profile, as the runbook's numbers are), from the memory
 * PostgreSQL may really use. Pure, so each rule is unit-tested. wal_buffers is left alone: at its default (-1)
 * PostgreSQL sizes it as pgtune would, 1/32 of shared_buffers up to one 16 MB segment.
 */
import { formatBytes } from '../../report/human-size.js';

const KB = 1024;
const MB = 1024 * KB;
const GB = 1024 * MB;

export type Storage = 'ssd' | 'hdd';

export interface TuneInput {
  /** Bytes PostgreSQL may use (cgroup limit, configured limit or MemTotal). */
  memoryBytes: number;
  maxConnections: number;
  /** Each parallel worker of a query gets its own work_mem. */
  parallelWorkersPerGather: number;
  storage: Storage;
}

export interface Recommendation {
  name: string;
  /** As ALTER SYSTEM takes it: '512MB', '1.1'. */
  value: string;
  /** Comparable with the current setting: bytes for sizes, the number otherwise. */
  target: number;
  /** memory: sized from the memory PostgreSQL may use; size: a fixed size. */
  kind: 'memory' | 'size' | 'number';
  /** The rule, with its numbers, for the report. */
  rule: string;
}

/** A size as PostgreSQL writes it: whole MB from 1 MB (GB when whole), else whole kB (rounded down). */
export function sizeValue(bytes: number): { value: string; bytes: number } {
  const mb = Math.floor(bytes / MB);
  if (mb >= 1024 && mb % 1024 === 0) return { value: `${mb / 1024}GB`, bytes: mb * MB };
  if (mb >= 1) return { value: `${mb}MB`, bytes: mb * MB };
  const kb = Math.max(64, Math.floor(bytes / KB));
  return { value: `${kb}kB`, bytes: kb * KB };
}

function size(name: string, bytes: number, rule: string, kind: 'memory' | 'size' = 'memory'): Recommendation {
  const { value, bytes: target } = sizeValue(bytes);
  return { name, value, target, kind, rule };
}

function number(name: string, target: number, rule: string): Recommendation {
  return { name, value: String(target), target, kind: 'number', rule };
}

export function recommend(input: TuneInput): Recommendation[] {
  const memory = input.memoryBytes;
  const of = formatBytes(memory);
  const shared = sizeValue(memory / 4);
  const workers = Math.max(1, input.parallelWorkersPerGather);
  const workMem = (memory - shared.bytes) / (3 * input.maxConnections) / workers;
  const ssd = input.storage === 'ssd';
  return [
    size('shared_buffers', shared.bytes, `25% of ${of}`),
    size('effective_cache_size', (memory * 3) / 4, `75% of ${of} (what the OS cache and buffers can hold)`),
    size('maintenance_work_mem', Math.min(memory / 16, 2 * GB), `${of} / 16, at most 2 GB`),
    size(
      'work_mem',
      Math.max(64 * KB, workMem),
      `(${of} − shared_buffers) / (3 × max_connections ${input.maxConnections}) / max_parallel_workers_per_gather ${workers}, at least 64 kB`,
    ),
    number('random_page_cost', ssd ? 1.1 : 4, ssd ? 'SSD: random reads cost about what sequential ones do' : 'spinning disk: the default 4'),
    number('effective_io_concurrency', ssd ? 200 : 2, ssd ? 'SSD: many concurrent reads' : 'spinning disk'),
    number('checkpoint_completion_target', 0.9, 'spread checkpoint writes over 90% of the interval'),
    number('default_statistics_target', 100, 'the default; raise per column where plans need it'),
    size('min_wal_size', 1 * GB, 'web profile', 'size'),
    size('max_wal_size', 4 * GB, 'web profile: fewer forced checkpoints under write bursts', 'size'),
  ];
}

/** Base-unit multipliers of pg_settings.unit for sizes ('8kB' for shared_buffers and wal_buffers). */
const UNIT_BYTES: Record<string, number> = { B: 1, kB: KB, MB: MB, GB: GB, TB: 1024 * GB };

/** pg_settings.setting × unit as bytes; undefined when the unit is not a size. */
export function settingBytes(setting: string, unit: string | null): number | undefined {
  const match = /^(\d*)(B|kB|MB|GB|TB)$/.exec(unit ?? '');
  if (!match) return undefined;
  return Number(setting) * Number(match[1] || 1) * UNIT_BYTES[match[2]!]!;
}

/** Far off: a memory setting under half or over twice its recommendation (closer is a matter of taste). */
export function isFarOff(recommendation: Recommendation, current: number): boolean {
  return recommendation.kind === 'memory' && (current < recommendation.target / 2 || current > recommendation.target * 2);
}

export function differs(recommendation: Recommendation, current: number): boolean {
  return Math.abs(current - recommendation.target) > 1e-9 * Math.max(1, Math.abs(recommendation.target));
}
