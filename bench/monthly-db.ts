/**
 * The monthly database work, two ways, on two identical fresh sandboxes (200 small tables, 10 of them
 * made big and bloated, plus the seeded bloat of the two big tables):
 *   ours:      db.vacuum-full (online, only bloated tables, lock_timeout) + db.reindex (CONCURRENTLY, only
 *              invalid / bloated indexes), the app left running;
 *   reference: the runbook's procedure: stop the app, VACUUM FULL, REINDEX DATABASE, start the app.
 * The app's /api/v1/db/health is probed every 100 ms throughout: downtime is measured, not assumed.
 *
 * Deviations from the runbook, all in the reference's favour: its fixed `sleep 10` and `sleep 30` are
 * left out (the app is restarted and polled until healthy), and the seeded invalid unique index is
 * dropped in both copies first, because with it REINDEX DATABASE aborts half-way
 * ("could not create unique index ... is duplicated").
 */
import { reindex } from '../src/steps/database/reindex.js';
import { vacuumFull } from '../src/steps/database/vacuum-full.js';
import { startSandbox, type Sandbox } from '../tests/sandbox/sandbox.js';
import { stepHarness } from '../tests/support/step-harness.js';
import type { BenchRow } from './run.js';

const BLOATED_TABLES = 10;

const MAKE_BLOAT = `
DO $$
BEGIN
  FOR i IN 1..${BLOATED_TABLES} LOOP
    EXECUTE format('ALTER TABLE %I SET (autovacuum_enabled = false)', 't_' || lpad(i::text, 4, '0'));
    EXECUTE format('INSERT INTO %I SELECT g, repeat(''v'', 20) || g FROM generate_series(11, 50010) g', 't_' || lpad(i::text, 4, '0'));
    EXECUTE format('UPDATE %I SET v = v || ''x''', 't_' || lpad(i::text, 4, '0'));
    EXECUTE format('UPDATE %I SET v = v || ''y''', 't_' || lpad(i::text, 4, '0'));
  END LOOP;
END $$;
DROP INDEX threat_intelligence_source_uniq;
SELECT pg_stat_force_next_flush();
ANALYZE;
`;

const USER_BYTES = `SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'm')`;

interface Measured {
  downtimeMs: number;
  totalMs: number;
  reclaimedBytes: number;
  /** Slowest successful health answer during the work. */
  worstResponseMs: number;
  tablesRewritten: number;
}

/** Polls a URL every intervalMs; downtime is the time between a failed probe and the next good one. */
function probe(url: string, intervalMs = 100): { stop(): Promise<{ downtimeMs: number; worstResponseMs: number }> } {
  let running = true;
  let downSince: number | undefined;
  let downtimeMs = 0;
  let worstResponseMs = 0;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      const ok = await fetch(url, { signal: AbortSignal.timeout(5000) }).then(
        (response) => response.ok,
        () => false,
      );
      if (ok) {
        worstResponseMs = Math.max(worstResponseMs, Date.now() - started);
        if (downSince !== undefined) downtimeMs += started - downSince;
        downSince = undefined;
      } else {
        downSince ??= started;
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      if (downSince !== undefined) downtimeMs += Date.now() - downSince;
      return { downtimeMs, worstResponseMs };
    },
  };
}

async function prepared(): Promise<Sandbox> {
  const sandbox = await startSandbox({ extraTables: 200 });
  try {
    await sandbox.psql(MAKE_BLOAT, 'ner11_db');
    return sandbox;
  } catch (error) {
    await sandbox.stop();
    throw error;
  }
}

async function userBytes(sandbox: Sandbox): Promise<number> {
  return Number(await sandbox.psql(USER_BYTES, 'ner11_db'));
}

async function measureOurs(): Promise<Measured> {
  const sandbox = await prepared();
  const harness = stepHarness(sandbox, { config: { database: { 'data-directory': sandbox.postgres.dataDir } } });
  try {
    const before = await userBytes(sandbox);
    const watch = probe(`${sandbox.app!.url}/api/v1/db/health`);
    const started = Date.now();
    const full = await harness.run(vacuumFull(harness.config));
    const indexes = await harness.run(reindex(harness.config));
    const totalMs = Date.now() - started;
    const app = await watch.stop();
    for (const outcome of [full, indexes]) if (outcome.status === 'failed') throw new Error(`our run failed: ${outcome.summary}`);
    return { ...app, totalMs, reclaimedBytes: before - (await userBytes(sandbox)), tablesRewritten: full.metrics?.tablesRewritten ?? 0 };
  } finally {
    await harness.close();
    await sandbox.stop();
  }
}

async function measureRunbook(): Promise<Measured> {
  const sandbox = await prepared();
  try {
    const before = await userBytes(sandbox);
    const tables = Number(await sandbox.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", 'ner11_db'));
    const url = `${sandbox.app!.url}/api/v1/db/health`;
    const watch = probe(url);
    const started = Date.now();
    await sandbox.stopApp();
    await sandbox.psql('VACUUM FULL', 'ner11_db');
    await sandbox.psql('REINDEX DATABASE ner11_db', 'ner11_db');
    await sandbox.startApp();
    while (
      !(await fetch(url).then(
        (response) => response.ok,
        () => false,
      ))
    )
      await new Promise((resolve) => setTimeout(resolve, 100));
    const totalMs = Date.now() - started;
    const app = await watch.stop();
    return { ...app, totalMs, reclaimedBytes: before - (await userBytes(sandbox)), tablesRewritten: tables };
  } finally {
    await sandbox.stop();
  }
}

export async function benchMonthlyDb(): Promise<BenchRow[]> {
  const ours = await measureOurs();
  const reference = await measureRunbook();
  const mib = (bytes: number) => bytes / 1024 / 1024;
  const ratio = (a: number, b: number) => (b === 0 ? (a === 0 ? 1 : Infinity) : a / b);
  return [
    {
      row: 'monthly DB (VACUUM FULL + REINDEX): app downtime',
      ours: ours.downtimeMs / 1000,
      reference: reference.downtimeMs / 1000,
      unit: 's',
      ratio: ratio(ours.downtimeMs, reference.downtimeMs),
      target: '0 s',
    },
    {
      row: 'monthly DB: total time',
      ours: ours.totalMs / 1000,
      reference: reference.totalMs / 1000,
      unit: 's',
      ratio: ratio(ours.totalMs, reference.totalMs),
      target: 'info',
    },
    {
      row: 'monthly DB: space reclaimed (tables + indexes)',
      ours: mib(ours.reclaimedBytes),
      reference: mib(reference.reclaimedBytes),
      unit: 'MiB',
      ratio: ratio(ours.reclaimedBytes, reference.reclaimedBytes),
      target: '≥ 0.9×',
    },
    {
      row: 'monthly DB: tables rewritten',
      ours: ours.tablesRewritten,
      reference: reference.tablesRewritten,
      unit: 'tables',
      ratio: ratio(ours.tablesRewritten, reference.tablesRewritten),
      target: 'info',
    },
    // The reference has no counterpart: its app is down for the work, not slow.
    {
      row: 'monthly DB: slowest app answer while ours ran online',
      ours: ours.worstResponseMs,
      reference: NaN,
      unit: 'ms',
      ratio: NaN,
      target: '< lock timeout + one table rewrite',
    },
  ];
}
