import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { JOURNAL_SCHEMA_VERSION, SNAPSHOT_SCHEMA_VERSION } from '../../src/constants.js';
import { trimForHistory } from '../../src/report/snapshot.js';
import { deferralResult, dryRunResult, failureResult, fixtureHistory, fixtureSnapshot, schemaValidator, successResult } from '../support/report-fixtures.js';

const validateJournal = schemaValidator('journal');
const validateSnapshot = schemaValidator('snapshot');

test.each([
  ['journal', JOURNAL_SCHEMA_VERSION],
  ['snapshot', SNAPSHOT_SCHEMA_VERSION],
])('the %s schema is draft-07 and pinned to the version the code writes', (name, version) => {
  const schema = JSON.parse(readFileSync(new URL(`../../schemas/${name}.schema.json`, import.meta.url), 'utf8')) as {
    $schema: string;
    $id: string;
    properties: { schemaVersion: { const: number } };
  };
  expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
  expect(schema.$id).toContain(`${name}.v${version}.schema.json`);
  expect(schema.properties.schemaVersion.const).toBe(version);
});

describe('journal schema', () => {
  test.each([
    ['success', successResult],
    ['failure', failureResult],
    ['deferral', deferralResult],
    ['dry run', dryRunResult],
  ])('accepts the %s journal', (_name, make) => {
    // Through JSON, as window.json is read back.
    expect(validateJournal(JSON.parse(JSON.stringify(make().journal)))).toEqual([]);
  });

  test.each<[string, (journal: Record<string, unknown>) => void, string]>([
    ['a newer version', (journal) => (journal.schemaVersion = 2), '/schemaVersion must be equal to constant'],
    ['an unknown window status', (journal) => (journal.status = 'exploded'), '/status must be equal to one of the allowed values'],
    ['a local time without a zone', (journal) => (journal.startedAt = '2026-11-29 02:00:04'), '/startedAt must match pattern'],
    ['a step without its status', (journal) => delete (journal.steps as Record<string, unknown>[])[0]!.status, "/steps/0 must have required property 'status'"],
    [
      'an unknown step state',
      (journal) => ((journal.steps as Record<string, unknown>[])[1]!.status = 'done'),
      '/steps/1/status must be equal to one of the allowed values',
    ],
    [
      'a count that is not an integer',
      (journal) => ((journal.bracket as { countsAfter: Record<string, number> }).countsAfter.vendor_equipment = 1.5),
      '/bracket/countsAfter/vendor_equipment must be integer',
    ],
    ['an unknown top-level key', (journal) => (journal.surprise = true), '/ must NOT have additional properties'],
  ])('rejects %s', (_name, breakIt, message) => {
    const journal = JSON.parse(JSON.stringify(successResult().journal)) as Record<string, unknown>;
    breakIt(journal);
    expect(validateJournal(journal).join('\n')).toContain(message);
  });
});

describe('snapshot schema', () => {
  test('accepts the fixtures, their history copies and the history series', () => {
    for (const snapshot of [fixtureSnapshot('baseline'), fixtureSnapshot('post'), trimForHistory(fixtureSnapshot('post')), ...fixtureHistory(3)]) {
      expect(validateSnapshot(JSON.parse(JSON.stringify(snapshot)))).toEqual([]);
    }
  });

  test.each<[string, (snapshot: Record<string, any>) => void, string]>([
    ['an unknown kind', (snapshot) => (snapshot.kind = 'during'), '/kind must be equal to one of the allowed values'],
    ['a fractional byte count', (snapshot) => (snapshot.database.sizeBytes = 1.5), '/database/sizeBytes must be integer'],
    ['a percentage over 100', (snapshot) => (snapshot.disks[0].usedPercent = 101), '/disks/0/usedPercent must be <= 100'],
    ['zero round trips', (snapshot) => (snapshot.roundTrips = 0), '/roundTrips must be >= 1'],
    [
      'an integrity count that is text',
      (snapshot) => (snapshot.database.integrityCounts.vendor_equipment = '12'),
      '/database/integrityCounts/vendor_equipment must be integer',
    ],
    ['a table without sizes', (snapshot) => delete snapshot.database.tables[0].totalBytes, "/database/tables/0 must have required property 'totalBytes'"],
  ])('rejects %s', (_name, breakIt, message) => {
    const snapshot = JSON.parse(JSON.stringify(fixtureSnapshot('post'))) as Record<string, any>;
    breakIt(snapshot);
    expect(validateSnapshot(snapshot).join('\n')).toContain(message);
  });
});
