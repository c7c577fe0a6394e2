/** Shared by the db.* step tests: a superuser client beside the product's connections, and snapshots to compare. */
import pg from 'pg';
import type { Sandbox } from '../sandbox/sandbox.js';

/** A superuser session over the unix socket: plays the application or a DBA holding locks. */
export async function superuserClient(sandbox: Sandbox): Promise<pg.Client> {
  const client = new pg.Client({
    host: sandbox.postgres.socketDir,
    port: sandbox.postgres.port,
    user: sandbox.postgres.superuser,
    database: sandbox.postgres.database,
  });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

export async function integrityCounts(sandbox: Sandbox): Promise<string> {
  return sandbox.psql("SELECT (SELECT count(*) FROM vendor_equipment) || ',' || (SELECT count(*) FROM threat_intelligence)", 'ner11_db');
}

/** relname → relfilenode for the user tables and indexes (a rewrite gives a new relfilenode). */
export async function relfilenodes(sandbox: Sandbox): Promise<Record<string, number>> {
  const out = await sandbox.psql(
    "SELECT c.relname || '=' || c.relfilenode FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')",
    'ner11_db',
  );
  return Object.fromEntries(
    out
      .split('\n')
      .filter(Boolean)
      .map((line) => [line.split('=')[0]!, Number(line.split('=')[1])]),
  );
}

/** Resolves once some other session waits for a lock on the relation (our step queued behind the holder). */
export async function waitForLockWaiter(client: pg.Client, relation: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { rows } = await client.query('SELECT 1 FROM pg_locks WHERE relation = to_regclass($1) AND NOT granted', [relation]);
    if (rows.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`nobody waited for a lock on ${relation} within ${timeoutMs} ms`);
}

/** Milliseconds an application-like query takes on a fresh superuser connection. */
export async function timedQuery(sandbox: Sandbox, sql: string): Promise<number> {
  const client = await superuserClient(sandbox);
  try {
    const started = Date.now();
    await client.query(sql);
    return Date.now() - started;
  } finally {
    await client.end();
  }
}

/**
 * Resolves once a session running a statement like `pattern` (ILIKE) waits on any lock (e.g. for old transactions).
 * Use a client outside any transaction: inside one, pg_stat_activity is read once and cached.
 */
export async function waitForWaitingStatement(client: pg.Client, pattern: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { rows } = await client.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE $1", [pattern]);
    if (rows.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no statement like ${pattern} waited within ${timeoutMs} ms`);
}

/** Index name → valid, for the user indexes. */
export async function indexValidity(sandbox: Sandbox): Promise<Record<string, boolean>> {
  const out = await sandbox.psql(
    "SELECT c.relname || '=' || i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'",
    'ner11_db',
  );
  return Object.fromEntries(
    out
      .split('\n')
      .filter(Boolean)
      .map((line) => [line.split('=')[0]!, line.split('=')[1] === 'true']),
  );
}
