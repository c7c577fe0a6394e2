import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { quoteIdent, quoteLiteral } from '../../src/database/sql.js';
import type { Journal } from '../../src/window/journal.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { cutSshSessions, expectJournalIntact, hostJournal, relfilenodes, superuserSession } from '../support/fault-host.js';
import { runSandboxWindow } from '../support/run-window.js';
import { stepHarness } from '../support/step-harness.js';
import { useFaultSandbox } from '../support/fault-sandbox.js';

let sandbox: Sandbox;
const { expectHostWhole } = useFaultSandbox((started) => (sandbox = started));

/**
 * Cost-based delay for the product's role: its VACUUMs crawl (about a page per 20 ms), so a fault lands while one
 * runs whatever the machine's speed. Reset before the fault, so the retry's new sessions run at full speed.
 */
async function throttleVacuum(on: boolean): Promise<void> {
  await sandbox.psql(
    on
      ? "ALTER ROLE ner11 SET vacuum_cost_delay = '20ms'; ALTER ROLE ner11 SET vacuum_cost_limit = 20;"
      : 'ALTER ROLE ner11 RESET vacuum_cost_delay; ALTER ROLE ner11 RESET vacuum_cost_limit;',
  );
}

/** Waits until a VACUUM of the window's own sessions (application_name names the window) is in progress. */
async function waitForProductVacuum(windowId: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  const sql = `select count(*) from pg_stat_progress_vacuum p join pg_stat_activity a using (pid) where a.application_name = 'maintenance-window ${windowId}'`;
  while ((await sandbox.psql(sql)) === '0') {
    if (Date.now() > deadline) throw new Error(`no VACUUM of window ${windowId} started within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const vacuumStep = (journal: Journal) => journal.steps.find((step) => step.id === 'db.vacuum-analyze')!;

describe('database faults', () => {
  it('PostgreSQL restarted mid-VACUUM: db.vacuum-analyze fails its first attempt and succeeds on its retry; no row lost', async () => {
    const windowId = 'pg-restart';
    await throttleVacuum(true);
    const window = runSandboxWindow(sandbox, { settings: { steps: ['db.vacuum-analyze'], windowId } });
    try {
      await waitForProductVacuum(windowId);
    } finally {
      await throttleVacuum(false);
    }
    await sandbox.restartPostgres();
    const result = await window;

    expect(result.result).toBe('succeeded');
    expect(result.lines.join('\n')).toMatch(
      /db\.vacuum-analyze attempt 1 failed \(.*(terminating connection|Connection terminated|ECONNRESET).*\); retrying in 5\.0 s/,
    );
    const journal = hostJournal(sandbox, windowId);
    expectJournalIntact(journal);
    expect(vacuumStep(journal)).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(vacuumStep(journal).summary).toMatch(/^vacuumed 5 of 5 table\(s\)/);
    await expectHostWhole();
  });

  it('the SSH connection (and with it the database tunnel) cut mid-VACUUM: the idempotent step is retried over a new connection', async () => {
    const windowId = 'ssh-cut-vacuum';
    await throttleVacuum(true);
    const window = runSandboxWindow(sandbox, { settings: { steps: ['db.vacuum-analyze'], windowId } });
    try {
      await waitForProductVacuum(windowId);
    } finally {
      await throttleVacuum(false);
    }
    expect(cutSshSessions(sandbox)).toBeGreaterThan(0);
    let result: Awaited<typeof window>;
    try {
      result = await window;
    } finally {
      // The server does not notice a vanished client mid-VACUUM: the first attempt's statements crawl on.
      await sandbox.psql(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'maintenance-window ${windowId}'`);
    }

    expect(result.lines.join('\n')).toMatch(/db\.vacuum-analyze attempt 1 failed \(.*\); retrying in 5\.0 s/);
    expect(result.result).toBe('succeeded');
    const step = vacuumStep(hostJournal(sandbox, windowId));
    expect(step.attempts).toBe(2);
    // Its retry finds the tables the orphaned VACUUMs still hold busy, and says so instead of queueing behind them.
    if (step.status === 'warning') expect(step.summary).toMatch(/skipped \(lock busy\): public\.(threat_intelligence|vendor_equipment)/);
    else expect(step.status).toBe('succeeded');
    expectJournalIntact(hostJournal(sandbox, windowId));
    await expectHostWhole();
  });

  it('VACUUM FULL through the monthly runner beside a long transaction: lock_timeout, the table is skipped and named, the app never waits longer', async () => {
    const lockTimeoutMs = 2000;
    const holder = await superuserSession(sandbox, 'long transaction');
    const app = await superuserSession(sandbox, 'app-like queries');
    let probing = true;
    let slowestMs = 0;
    const probe = (async () => {
      while (probing) {
        const started = Date.now();
        await app.query('select count(*) from vendor_equipment where id < 100');
        slowestMs = Math.max(slowestMs, Date.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    try {
      await holder.query('begin; select count(*) from vendor_equipment');
      const before = await relfilenodes(sandbox);
      const result = await runSandboxWindow(sandbox, {
        config: { database: { 'lock-timeout': `${lockTimeoutMs}ms` } },
        settings: {
          tier: 'monthly',
          steps: ['backup.fresh', 'db.vacuum-full'],
          skipSteps: ['snapshot.baseline', 'snapshot.post'],
          windowId: 'vacuum-full-lock',
        },
      });
      probing = false;
      await probe;
      const after = await relfilenodes(sandbox);

      const step = result.journal.steps.find((s) => s.id === 'db.vacuum-full')!;
      expect(step.status).toBe('warning');
      expect(step.summary).toMatch(/skipped public\.vendor_equipment \(lock busy\)/);
      expect(step.findings?.map((f) => f.title)).toContain('public.vendor_equipment was not rewritten: its lock was busy');
      expect(after.vendor_equipment).toBe(before.vendor_equipment);
      expect(after.threat_intelligence).not.toBe(before.threat_intelligence);
      expect(result.result).toBe('succeeded');
      expectJournalIntact(hostJournal(sandbox, 'vacuum-full-lock'));
      // The app queued behind the waiting VACUUM FULL (so the test saw the contention), but only for lock_timeout.
      expect(slowestMs).toBeGreaterThan(lockTimeoutMs / 2);
      expect(slowestMs).toBeLessThan(lockTimeoutMs + 1500);
    } finally {
      probing = false;
      await probe.catch(() => undefined);
      await holder.end();
      await app.end();
    }
    await expectHostWhole();
  });
});

describe('injection through the database layer (validation bypassed)', () => {
  const hostile = (root: string) => [
    '; rm -rf /',
    `$(touch ${root}/pwned-1)`,
    `\`touch ${root}/pwned-2\``,
    `it's "quoted" \\ back\\slash`,
    'two\nlines\r\n',
    "x'); DROP TABLE vendor_equipment;--",
    '*/ select 1; /*',
    'ünïcødé ☃ 表',
  ];

  it('identifiers through quoteIdent and values as bind parameters come back byte for byte; nothing runs', async () => {
    const harness = stepHarness(sandbox);
    try {
      const db = await harness.context().db();
      for (const name of hostile(sandbox.root)) {
        const table = quoteIdent(name);
        await db.query(`create table ${table} (${table} text)`);
        try {
          await db.query(`insert into ${table} values ($1)`, [name]);
          expect(await db.query(`select ${table} as v from ${table}`)).toEqual([{ v: name }]);
          expect(await db.query('select relname from pg_class where oid = $1::regclass', [table])).toEqual([{ relname: name }]);
          const [row] = await db.query<{ hex: string; literal: string }>(
            `select encode(convert_to($1::text, 'UTF8'), 'hex') as hex, ${quoteLiteral(name)}::text as literal`,
            [name],
          );
          expect(row.hex).toBe(Buffer.from(name, 'utf8').toString('hex'));
          expect(row.literal).toBe(name);
        } finally {
          await db.query(`drop table ${table}`);
        }
      }
      expect(() => quoteIdent('nul\0byte')).toThrow(/NUL/);
    } finally {
      await harness.close();
    }
    expect(existsSync(`${sandbox.root}/pwned-1`)).toBe(false);
    expect(existsSync(`${sandbox.root}/pwned-2`)).toBe(false);
    await expectHostWhole();
  });
});
