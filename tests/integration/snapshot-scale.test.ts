import { afterAll, beforeAll, expect, test } from 'vitest';
import { takeSnapshot, trimForHistory } from '../../src/report/snapshot.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { schemaValidator } from '../support/report-fixtures.js';
import { stepHarness, type StepHarness } from '../support/step-harness.js';

let sandbox: Sandbox;
let harness: StepHarness;

beforeAll(async () => {
  sandbox = await startSandbox({ app: false, extraTables: 300 });
  // No app in this sandbox: its health URL (the runbook default) fails, which is not what this test is about.
  harness = stepHarness(sandbox, { config: { health: { samples: 1, timeout: '2s' } } });
});

afterAll(async () => {
  await harness?.close();
  await sandbox?.stop();
});

test('305 tables cost the same four round trips as five: one SSH exec and three SQL statements', async () => {
  const snapshot = await takeSnapshot(harness.context(), 'baseline');
  expect(schemaValidator('snapshot')(snapshot)).toEqual([]);
  expect(snapshot.errors.filter((error) => !error.startsWith('http://localhost:8000/'))).toEqual([]);
  expect(snapshot.roundTrips).toBe(4);
  expect(snapshot.httpProbes).toBe(1);
  expect(snapshot.database!.tableCount).toBe(305);
  expect(snapshot.database!.tables.filter((table) => table.name.startsWith('t_'))).toHaveLength(300);
  expect(snapshot.database!.indexes.filter((index) => index.name.endsWith('_pkey')).length).toBeGreaterThanOrEqual(305);
  // The largest tables come first: the bloated ones, then the small extras.
  expect(
    snapshot
      .database!.tables.slice(0, 2)
      .map((table) => table.name)
      .sort(),
  ).toEqual(['threat_intelligence', 'vendor_equipment']);

  const kept = trimForHistory(snapshot);
  expect(kept.database!.tables.length).toBeLessThanOrEqual(27);
  expect(kept.database!.tables.map((table) => table.name)).toEqual(expect.arrayContaining(['vendor_equipment', 'threat_intelligence']));
  expect(kept.database!.tableCount).toBe(305);
  expect(JSON.stringify(kept).length).toBeLessThan(JSON.stringify(snapshot).length / 5);
});
