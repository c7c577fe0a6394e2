import { existsSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { expect } from 'vitest';
import type { Journal } from '../../src/window/journal.js';
import { processTree, readPid, signal } from '../sandbox/proc.js';
import type { Sandbox } from '../sandbox/sandbox.js';

export const INTEGRITY_TABLES = ['vendor_equipment', 'threat_intelligence'] as const;
const FINAL_STATES = ['succeeded', 'warning', 'failed', 'skipped', 'deferred', 'not-run'];

/**
 * Cuts the SSH connections of a sandbox as a network failure would: SIGKILL to the per-connection sshd processes
 * of this sandbox's listener (never the listener, never another sandbox's sshd). The commands they ran live on.
 */
export function cutSshSessions(sandbox: Sandbox): number {
  const listener = readPid(`${sandbox.root}/ssh/sshd.pid`, `${sandbox.root}/ssh/sshd_config`);
  if (listener === undefined) throw new Error(`the sshd of ${sandbox.root} is not running`);
  const sessions = processTree(listener).filter((pid) => {
    if (pid === listener) return false;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sshd: ');
    } catch {
      return false;
    }
  });
  signal(sessions, 'SIGKILL');
  return sessions.length;
}

export async function waitForFile(file: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${file}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Row counts of the integrity tables, read as the superuser (not through the product). */
export async function integrityCounts(sandbox: Sandbox): Promise<Record<string, number>> {
  const out = await sandbox.psql(`select ${INTEGRITY_TABLES.map((table) => `(select count(*) from ${table})`).join(" || ',' || ")}`, 'ner11_db');
  const values = out.trim().split(',').map(Number);
  return Object.fromEntries(INTEGRITY_TABLES.map((table, index) => [table, values[index]]));
}

/** The journal the runner left on the host; fails the test if it is not valid JSON. */
export function hostJournal(sandbox: Sandbox, windowId: string): Journal {
  const file = `${sandbox.stateDir}/windows/${windowId}.json`;
  const text = readFileSync(file, 'utf8');
  try {
    return JSON.parse(text) as Journal;
  } catch (error) {
    throw new Error(`${file} is not valid JSON (${(error as Error).message}): ${text.slice(0, 200)}`);
  }
}

/**
 * A journal a fault left behind is usable: every step has a known state, none is left 'running' unless the runner
 * itself was killed, and the window is not 'running' either unless it was.
 */
export function expectJournalIntact(journal: Journal, options: { killed?: boolean } = {}): void {
  const running = journal.steps.filter((step) => step.status === 'running').map((step) => step.id);
  if (options.killed) {
    expect(journal.status).toBe('running');
    expect(running.length).toBeLessThanOrEqual(1);
  } else {
    expect(running).toEqual([]);
    expect(['succeeded', 'failed', 'deferred', 'cancelled']).toContain(journal.status);
    for (const step of journal.steps) expect(FINAL_STATES, `step ${step.id}`).toContain(step.status);
    expect(journal.endedAt).toBeDefined();
  }
  for (const step of journal.steps) expect([...FINAL_STATES, 'running', 'pending'], `step ${step.id}`).toContain(step.status);
  if (journal.status === 'failed') expect(journal.message ?? journal.failedStep).toBeTruthy();
}

export function stepStates(journal: Journal): Record<string, string> {
  return Object.fromEntries(journal.steps.map((step) => [step.id, step.status]));
}

/** The lock file on the host, or undefined when there is none. */
export function hostLock(sandbox: Sandbox): { token: string; windowId: string; runId: string; runAttempt: number } | undefined {
  const file = `${sandbox.stateDir}/lock`;
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
}

/** relfilenode of each table: changes iff the table was rewritten (VACUUM FULL, CLUSTER, TRUNCATE). */
export async function relfilenodes(sandbox: Sandbox, tables: readonly string[] = INTEGRITY_TABLES): Promise<Record<string, number>> {
  const out = await sandbox.psql(
    `select string_agg(relname || '=' || relfilenode, ',' order by relname) from pg_class where relkind = 'r' and relname in (${tables.map((t) => `'${t}'`).join(',')})`,
    'ner11_db',
  );
  return Object.fromEntries(
    out
      .trim()
      .split(',')
      .map((pair) => pair.split('='))
      .map(([name, node]) => [name, Number(node)]),
  );
}

/** A superuser session beside the product's: plays the application or a DBA holding locks. */
export async function superuserSession(sandbox: Sandbox, applicationName: string): Promise<pg.Client> {
  const client = new pg.Client({
    host: sandbox.postgres.socketDir,
    port: sandbox.postgres.port,
    user: sandbox.postgres.superuser,
    database: sandbox.postgres.database,
    application_name: applicationName,
  });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}
