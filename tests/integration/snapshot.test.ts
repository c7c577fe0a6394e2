import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { historyDir, historyFileName, loadHistory, takeSnapshot } from '../../src/report/snapshot.js';
import { snapshotBaseline, snapshotPost } from '../../src/report/snapshot-steps.js';
import type { Snapshot } from '../../src/report/snapshot-types.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { schemaValidator } from '../support/report-fixtures.js';
import { stepHarness, type StepHarness } from '../support/step-harness.js';

const validateSnapshot = schemaValidator('snapshot');

let sandbox: Sandbox;
let harness: StepHarness;

beforeAll(async () => {
  sandbox = await startSandbox();
  harness = stepHarness(sandbox);
});

afterAll(async () => {
  await harness?.close();
  await sandbox?.stop();
});

/** A harness with config overrides, closed after `work`. */
async function withHarness<T>(options: Parameters<typeof stepHarness>[1], work: (harness: StepHarness) => Promise<T>): Promise<T> {
  const other = stepHarness(sandbox, options);
  try {
    return await work(other);
  } finally {
    await other.close();
  }
}

describe('takeSnapshot on the sandbox host', () => {
  let snapshot: Snapshot;

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) await fetch(`${sandbox.app!.url}/api/v1/stats`);
    snapshot = await takeSnapshot(harness.context(), 'baseline');
  });

  test('matches the published schema and took one SSH exec and three SQL statements', () => {
    expect(validateSnapshot(snapshot)).toEqual([]);
    expect(snapshot.errors).toEqual([]);
    expect(snapshot.roundTrips).toBe(4);
    expect(snapshot.httpProbes).toBe(3);
  });

  test('database facts: size, every table, dead tuples, indexes and exact integrity counts', async () => {
    const db = snapshot.database!;
    const [size, vendors, threats] = (
      await sandbox.psql("select pg_database_size('ner11_db'), (select count(*) from vendor_equipment), (select count(*) from threat_intelligence)", 'ner11_db')
    )
      .trim()
      .split('|')
      .map(Number);
    expect(db.name).toBe('ner11_db');
    expect(Math.abs(db.sizeBytes - size!)).toBeLessThan(1024 * 1024);
    expect(db.tables.map((table) => table.name).sort()).toEqual(['assets', 'audit_log', 'threat_intelligence', 'users', 'vendor_equipment']);
    expect(db.tableCount).toBe(5);
    expect(db.integrityCounts).toEqual({ vendor_equipment: vendors, threat_intelligence: threats });
    const bloated = db.tables.find((table) => table.name === 'vendor_equipment')!;
    expect(bloated.deadTuples).toBeGreaterThan(10_000);
    expect(bloated.totalBytes).toBeGreaterThan(bloated.heapBytes);
    expect(db.indexes.find((index) => index.name === 'threat_intelligence_source_uniq')).toMatchObject({ valid: false, unique: true });
  });

  test('host facts: system, the disk holding the backups, the newest backup, services and recent requests', () => {
    expect(snapshot.system?.hostname).toBeTruthy();
    expect(snapshot.system?.memory?.totalBytes).toBeGreaterThan(0);
    expect(snapshot.disks.some((disk) => disk.mount === '/' || sandbox.backupsDir.startsWith(disk.mount))).toBe(true);
    const backups = readdirSync(sandbox.backupsDir).filter((name) => !name.endsWith('.sha256'));
    expect(snapshot.backup).toMatchObject({
      dir: sandbox.backupsDir,
      count: backups.length,
      newest: { path: join(sandbox.backupsDir, backups.sort().pop()!) },
    });
    expect(snapshot.backup!.newest!.ageSeconds).toBeLessThan(600);
    expect(snapshot.services).toMatchObject({ manager: 'command', running: true });
    expect(snapshot.activity!.requests).toBeGreaterThanOrEqual(3);
    expect(snapshot.response).toMatchObject({ samples: 3, ok: 3, failures: [] });
    expect(snapshot.response!.p95Ms!).toBeGreaterThanOrEqual(snapshot.response!.p50Ms!);
  });
});

test('the access log counts only requests inside the window, in any time zone, and the 5xx among them', async () => {
  const log = join(sandbox.root, 'activity-access.log');
  const clf = (date: Date, offsetMinutes: number) => {
    const local = new Date(date.getTime() + offsetMinutes * 60_000);
    const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    const p = (n: number) => String(n).padStart(2, '0');
    const sign = offsetMinutes < 0 ? '-' : '+';
    const zone = `${sign}${p(Math.floor(Math.abs(offsetMinutes) / 60))}${p(Math.abs(offsetMinutes) % 60)}`;
    return `${p(local.getUTCDate())}/${months[local.getUTCMonth()]}/${local.getUTCFullYear()}:${p(local.getUTCHours())}:${p(local.getUTCMinutes())}:${p(local.getUTCSeconds())} ${zone}`;
  };
  const now = Date.now();
  writeFileSync(
    log,
    [
      `10.0.0.1 - - [${clf(new Date(now - 2 * 3_600_000), 0)}] "GET /old HTTP/1.1" 200 12`,
      `10.0.0.1 - - [${clf(new Date(now - 11 * 60_000), 120)}] "GET /just-outside HTTP/1.1" 200 12`,
      `10.0.0.2 - - [${clf(new Date(now - 60_000), 120)}] "GET /api/v1/items HTTP/1.1" 200 12`,
      `10.0.0.3 - - [${clf(new Date(now - 30_000), -330)}] "POST /api/v1/items HTTP/1.1" 502 0`,
      `{"time":"${new Date(now - 5_000).toISOString()}","status":200,"path":"/json"}`,
      'garbage line without a time stamp',
      '',
    ].join('\n'),
  );
  const snapshot = await withHarness({ config: { activity: { 'access-log': log, window: '10m' } } }, (other) => takeSnapshot(other.context(), 'post'));
  expect(snapshot.activity).toMatchObject({ accessLog: log, windowSeconds: 600, requests: 3, serverErrors: 1, linesScanned: 6 });
  expect(Date.parse(snapshot.activity!.lastRequestAt!)).toBeGreaterThan(now - 10_000);
});

test('missing backups dir, missing access log and a dead health URL make a valid snapshot that names each gap', async () => {
  const config = {
    backups: { dir: join(sandbox.root, 'no-backups-here') },
    activity: { 'access-log': join(sandbox.root, 'no-such.log') },
    health: { url: 'http://127.0.0.1:9/health', samples: 2, timeout: '2s' },
  };
  const outcome = await withHarness({ config }, (other) => other.run(snapshotBaseline(other.config)));
  const snapshot = outcome.details as Snapshot;
  expect(validateSnapshot(snapshot)).toEqual([]);
  expect(outcome.status).toBe('warning');
  expect(snapshot.backup).toMatchObject({ count: 0 });
  expect(snapshot.activity).toBeUndefined();
  expect(snapshot.response).toMatchObject({ samples: 2, ok: 0 });
  expect(snapshot.errors.join('\n')).toContain(`backup directory ${join(sandbox.root, 'no-backups-here')} does not exist`);
  expect(snapshot.errors.join('\n')).toContain(`access log ${join(sandbox.root, 'no-such.log')} is missing`);
  expect(snapshot.errors.join('\n')).toContain('http://127.0.0.1:9/health: 2 of 2 requests failed');
  expect(outcome.findings?.[0]).toMatchObject({ severity: 'warning', title: 'The baseline snapshot is incomplete' });
});

test('an unreachable database leaves the host facts and says why; a missing integrity table is null, and -1 in facts', async () => {
  const unreachable = await withHarness({ config: { database: { port: 9 } } }, (other) => takeSnapshot(other.context(), 'baseline'));
  expect(validateSnapshot(unreachable)).toEqual([]);
  expect(unreachable.database).toBeUndefined();
  expect(unreachable.roundTrips).toBe(1);
  expect(unreachable.errors.join('\n')).toMatch(/database ner11_db unreachable: cannot connect/);
  expect(unreachable.disks.length).toBeGreaterThan(0);

  const facts = {};
  const outcome = await withHarness({ config: { database: { 'integrity-tables': ['vendor_equipment', 'no_such_table'] } }, facts }, (other) =>
    other.run(snapshotBaseline(other.config)),
  );
  const snapshot = outcome.details as Snapshot;
  expect(snapshot.database!.integrityCounts.no_such_table).toBeNull();
  expect(snapshot.errors).toContain('integrity table no_such_table does not exist in ner11_db');
  expect(facts).toMatchObject({ baselineCounts: { vendor_equipment: snapshot.database!.integrityCounts.vendor_equipment, no_such_table: -1 } });
});

describe('snapshot steps and the history on the host', () => {
  const stateDir = () => join(sandbox.root, 'history-state');

  test('snapshot.baseline keeps a trimmed copy on the host, saves the baseline facts and returns the snapshot', async () => {
    const facts: Record<string, unknown> = {};
    const outcome = await withHarness({ facts, config: { 'state-dir': stateDir() }, settings: { windowId: 'weekly/1 odd:id' } }, (other) =>
      other.run(snapshotBaseline(other.config)),
    );
    expect(outcome.status).toBe('succeeded');
    expect(outcome.summary).toMatch(/^ner11_db .* in 5 tables; .*% used; newest backup .* old; p50 [\d.]+ ms; \d+ requests in 10m; 4 round trips$/);
    expect(outcome.metrics).toMatchObject({ roundTrips: 4, tables: 5 });
    const snapshot = outcome.details as Snapshot;
    expect(snapshot.windowId).toBe('weekly/1 odd:id');
    const file = join(historyDir(stateDir()), historyFileName('weekly/1 odd:id', 'baseline'));
    expect(file.endsWith('/history/weekly_1_odd_id-baseline.json')).toBe(true);
    const kept = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
    expect(validateSnapshot(kept)).toEqual([]);
    expect(kept).toMatchObject({ trimmed: true, kind: 'baseline', database: { indexes: [], sizeBytes: snapshot.database!.sizeBytes } });
    expect(facts).toEqual({ baselineResponseMs: snapshot.response!.p50Ms, baselineCounts: snapshot.database!.integrityCounts });
  });

  test('history stays bounded to history-keep per kind, oldest deleted; loadHistory returns it oldest first and skips junk', async () => {
    const dir = historyDir(stateDir());
    mkdirSync(dir, { recursive: true });
    const ids = ['keep-a', 'keep-b', 'keep-c'];
    for (const [index, windowId] of ids.entries()) {
      await withHarness({ config: { 'history-keep': 2, 'state-dir': stateDir(), health: { samples: 1 } }, settings: { windowId } }, (other) =>
        other.run(snapshotPost(other.config)),
      );
      const file = join(dir, historyFileName(windowId, 'post'));
      const age = new Date(Date.now() - (ids.length - index) * 60_000);
      utimesSync(file, age, age); // distinct mtimes even within one second
    }
    const posts = readdirSync(dir).filter((name) => name.endsWith('-post.json'));
    expect(posts.sort()).toEqual(['keep-b-post.json', 'keep-c-post.json']);
    expect(existsSync(join(dir, 'weekly_1_odd_id-baseline.json'))).toBe(true);

    writeFileSync(join(dir, 'broken-post.json'), '{"schemaVersion": 1, "takenAt": ');
    appendFileSync(join(dir, 'foreign-baseline.json'), JSON.stringify({ hello: 'world' }));
    const history = await loadHistory(harness.target, stateDir());
    expect(history.map((snapshot) => `${snapshot.windowId}/${snapshot.kind}`).sort()).toEqual(['keep-b/post', 'keep-c/post', 'weekly/1 odd:id/baseline']);
    expect(history.map((snapshot) => snapshot.takenAt)).toEqual([...history.map((snapshot) => snapshot.takenAt)].sort());
  });

  test('loadHistory of a host without history is empty', async () => {
    expect(await loadHistory(harness.target, join(sandbox.root, 'fresh-state'))).toEqual([]);
  });
});
