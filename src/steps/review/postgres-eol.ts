/** One supported line of a product (a PostgreSQL major, a Python minor, a Node.js major) and its last day. */
export interface ReleaseLine {
  version: string;
  /** YYYY-MM-DD: the last release / end of security fixes. */
  eol: string;
}

/** An end-of-life table shipped in the code: dated, with its source, so a stale table is visible in reports. */
export interface EolTable {
  product: string;
  /** When the table was written: dates announced after it are not in it. */
  writtenOn: string;
  source: string;
  /** Oldest first. */
  lines: ReleaseLine[];
}

/**
 * PostgreSQL's versioning policy: a major version is supported for 5 years after its first release; the final
 * release is the November minor release of its fifth year.
 */
export const POSTGRES_EOL: EolTable = {
  product: 'PostgreSQL',
  writtenOn: '2026-12-06',
  source: 'PostgreSQL versioning policy, https://www.postgresql.org/support/versioning/',
  lines: [
    { version: '9.6', eol: '2021-11-11' },
    { version: '10', eol: '2022-11-10' },
    { version: '11', eol: '2023-11-09' },
    { version: '12', eol: '2024-11-21' },
    { version: '13', eol: '2025-11-13' },
    { version: '14', eol: '2026-11-12' },
    { version: '15', eol: '2027-11-11' },
    { version: '16', eol: '2028-11-09' },
    { version: '17', eol: '2029-11-08' },
    { version: '18', eol: '2030-11-14' },
  ],
};

/** Warn this long before the end of life: a major upgrade needs a quarter or two of planning and testing. */
export const EOL_WARNING_MS = 365 * 86_400_000;

export type LifecycleState = 'supported' | 'ending' | 'ended' | 'unknown';

export interface Lifecycle {
  product: string;
  version: string;
  state: LifecycleState;
  eol?: string;
  daysLeft?: number;
  /** The newest line in the table that is supported beyond the warning period: the upgrade target. */
  upgradeTo?: ReleaseLine;
}

const DAY_MS = 86_400_000;

/** Ordering of "9.6", "10", "3.12" style versions. */
export function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  for (let index = 0; index < Math.max(left.length, right.length); index++) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** Where a release line stands at `now`; older than the whole table counts as ended. */
export function lifecycle(table: EolTable, version: string, now: Date): Lifecycle {
  const endOf = (line: ReleaseLine) => Date.parse(`${line.eol}T23:59:59Z`);
  const target = [...table.lines].reverse().find((line) => endOf(line) - now.getTime() > EOL_WARNING_MS);
  const upgradeTo = target && compareVersions(target.version, version) > 0 ? target : undefined;
  const line = table.lines.find((entry) => entry.version === version);
  if (!line) {
    const older = table.lines.length > 0 && compareVersions(version, table.lines[0]!.version) < 0;
    return { product: table.product, version, state: older ? 'ended' : 'unknown', upgradeTo };
  }
  const left = endOf(line) - now.getTime();
  const state: LifecycleState = left < 0 ? 'ended' : left <= EOL_WARNING_MS ? 'ending' : 'supported';
  return { product: table.product, version, state, eol: line.eol, daysLeft: Math.floor(left / DAY_MS), upgradeTo };
}

/** server_version_num → the major as PostgreSQL names it: 150018 → "15", 90624 → "9.6". */
export function postgresMajor(serverVersionNum: number): string {
  if (serverVersionNum >= 100000) return String(Math.floor(serverVersionNum / 10000));
  return `${Math.floor(serverVersionNum / 10000)}.${Math.floor(serverVersionNum / 100) % 100}`;
}
