/** Test helper for the log rotation tests: did every numbered line survive exactly once? */

/** Counts each `seq=N` line of a log; every other line is malformed. */
export function sequenceReport(lines: string[]): { max: number; missing: number; duplicates: number; malformed: number } {
  const seen = new Map<number, number>();
  let malformed = 0;
  for (const line of lines) {
    const match = /^seq=(\d+)$/.exec(line);
    if (!match) malformed++;
    else seen.set(Number(match[1]), (seen.get(Number(match[1])) ?? 0) + 1);
  }
  let max = 0;
  for (const n of seen.keys()) max = Math.max(max, n);
  let missing = 0;
  let duplicates = 0;
  for (let n = 1; n <= max; n++) {
    const count = seen.get(n) ?? 0;
    if (count === 0) missing++;
    if (count > 1) duplicates += count - 1;
  }
  return { max, missing, duplicates, malformed };
}
