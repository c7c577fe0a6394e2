import { describe, expect, test } from 'vitest';
import { asSnapshot, diffSnapshots, type IntegrityVerdict } from '../../src/report/diff.js';
import type { BracketRecord } from '../../src/window/journal.js';
import { fixtureSnapshot } from '../support/report-fixtures.js';

const GiB = 1024 ** 3;

describe('diffSnapshots', () => {
  const baseline = fixtureSnapshot('baseline');
  const post = fixtureSnapshot('post');
  const diff = diffSnapshots(baseline, post);

  test('database size before and after, and what came back', () => {
    expect(diff.databaseSize).toEqual({
      before: Math.round(4.87 * GiB),
      after: Math.round(3.42 * GiB),
      delta: Math.round(3.42 * GiB) - Math.round(4.87 * GiB),
    });
    expect(diff.reclaimedBytes).toBe(Math.round(4.87 * GiB) - Math.round(3.42 * GiB));
  });

  test('tables sorted by the size of their change; dead tuples before and after', () => {
    expect(diff.tables.map((row) => row.table)).toEqual(['threat_intelligence', 'vendor_equipment', 'audit_log', 'assets', 'users']);
    expect(diff.tables[0]!.deadTuples).toEqual({ before: 4_100_000, after: 0, delta: -4_100_000 });
    expect(diff.tables.find((row) => row.table === 'assets')!.size.delta).toBe(0);
  });

  test('free disk per mount, docker space and response times', () => {
    expect(diff.disks.map((disk) => disk.mount)).toEqual(['/', '/backups']);
    expect(diff.disks[0]!.free.delta).toBeGreaterThan(3 * GiB);
    expect(diff.disks[0]!.usedPercent).toEqual({ before: 68.4, after: 64.5, delta: -3.9 });
    expect(diff.dockerBytes.delta).toBeLessThan(-4 * GiB);
    expect(diff.responseP50Ms).toEqual({ before: 41.7, after: 38.2, delta: -3.5 });
    expect(diff.responseP95Ms.delta).toBe(-35.5);
  });

  test('a table only in one snapshot, a mount that appeared, and no post snapshot at all', () => {
    const later = fixtureSnapshot('post');
    later.database!.tables.push({ schema: 'audit', name: 'events', totalBytes: 8192, heapBytes: 8192, indexBytes: 0, rowEstimate: 0 });
    later.disks.push({ mount: '/data', filesystem: '/dev/sdc1', sizeBytes: 10, usedBytes: 1, availableBytes: 9, usedPercent: 10 });
    const changed = diffSnapshots(baseline, later);
    expect(changed.tables.find((row) => row.table === 'audit.events')).toEqual({ table: 'audit.events', size: { after: 8192 }, deadTuples: {} });
    expect(changed.disks.find((disk) => disk.mount === '/data')!.free).toEqual({ after: 9 });

    const partial = diffSnapshots(baseline, undefined);
    expect(partial.databaseSize).toEqual({ before: baseline.database!.sizeBytes });
    expect(partial.reclaimedBytes).toBeUndefined();
  });
});

describe('integrity verdicts: judged only across the downtime bracket', () => {
  const counts = (vendor: number | null, threat: number | null) => {
    const snapshot = fixtureSnapshot('baseline');
    snapshot.database!.integrityCounts = { vendor_equipment: vendor, threat_intelligence: threat };
    return snapshot;
  };
  const bracket = (before: Record<string, number>, after: Record<string, number>): BracketRecord => ({
    countsBefore: before,
    countsAfter: after,
    countsEqual: JSON.stringify(before) === JSON.stringify(after),
  });

  test.each<[string, ReturnType<typeof counts>, ReturnType<typeof counts>, BracketRecord | undefined, IntegrityVerdict, IntegrityVerdict]>([
    ['no bracket, same counts', counts(10, 20), counts(10, 20), undefined, 'equal', 'equal'],
    ['no bracket, the app wrote rows', counts(10, 20), counts(10, 25), undefined, 'equal', 'changed'],
    ['no bracket, a table disappeared', counts(10, 20), counts(null, 20), undefined, 'missing', 'equal'],
    [
      'bracket equal, the app wrote outside it',
      counts(10, 20),
      counts(12, 25),
      bracket({ vendor_equipment: 11, threat_intelligence: 22 }, { vendor_equipment: 11, threat_intelligence: 22 }),
      'equal',
      'equal',
    ],
    [
      'bracket lost a row',
      counts(10, 20),
      counts(10, 20),
      bracket({ vendor_equipment: 11, threat_intelligence: 22 }, { vendor_equipment: 10, threat_intelligence: 22 }),
      'mismatch',
      'equal',
    ],
    [
      'bracket lost a table (-1)',
      counts(10, 20),
      counts(null, 20),
      bracket({ vendor_equipment: 11, threat_intelligence: 22 }, { vendor_equipment: -1, threat_intelligence: 22 }),
      'missing',
      'equal',
    ],
  ])('%s', (_name, before, after, bracketRecord, vendor, threat) => {
    const diff = diffSnapshots(before, after, bracketRecord);
    expect(diff.judgedInBracket).toBe(bracketRecord !== undefined);
    expect(Object.fromEntries(diff.integrity.map((row) => [row.table, row.verdict]))).toEqual({ vendor_equipment: vendor, threat_intelligence: threat });
  });

  test('a bracket that only recorded countsEqual: false marks every table a mismatch', () => {
    const diff = diffSnapshots(counts(10, 20), counts(10, 20), { countsEqual: false });
    expect(diff.judgedInBracket).toBe(true);
    expect(diff.integrity.map((row) => row.verdict)).toEqual(['mismatch', 'mismatch']);
  });
});

test.each([
  [fixtureSnapshot('post'), true],
  [{ schemaVersion: 2, disks: [] }, false],
  [{ schemaVersion: 1 }, false],
  [undefined, false],
  ['text', false],
])('asSnapshot takes only version-1 snapshots (%#)', (value, accepted) => {
  expect(asSnapshot(value) !== undefined).toBe(accepted);
});
