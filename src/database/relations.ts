import type { Database } from './database.js';
import { quoteIdent } from './sql.js';

/** Schemas that are never maintenance targets (the catalog, and other sessions' temp / toast schemas). */
export const SYSTEM_SCHEMA_FILTER = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'`;

export interface TableInfo {
  oid: number;
  schema: string;
  name: string;
  relfilenode: number;
  /** Live rows as of the last VACUUM / ANALYZE; -1 when never analyzed. */
  reltuples: number;
  heapBytes: number;
  /** Heap + TOAST + indexes. */
  totalBytes: number;
  deadTuples: number;
  liveTuples: number;
  modifiedSinceAnalyze: number;
  analyzed: boolean;
  /** The current role owns it (or is a superuser): it may VACUUM / REINDEX it. */
  owned: boolean;
  tablespace: string;
  /** Directory of a non-default tablespace; '' for pg_default (inside the data directory). */
  tablespaceLocation: string;
}

export interface IndexInfo {
  oid: number;
  schema: string;
  table: string;
  name: string;
  relfilenode: number;
  method: string;
  valid: boolean;
  unique: boolean;
  bytes: number;
  owned: boolean;
}

/** "schema"."name", quoted for SQL. */
export function qualify(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** schema.name, for logs and reports. */
export function displayName(relation: { schema: string; name: string }): string {
  return `${relation.schema}.${relation.name}`;
}

/** Left by an interrupted or failed REINDEX CONCURRENTLY: invalid and named <index>_ccnew[N] / _ccold[N]. */
export function isReindexLeftover(index: Pick<IndexInfo, 'name' | 'valid'>): boolean {
  return !index.valid && /_cc(new|old)\d*$/.test(index.name);
}

const TABLES_SQL = `
SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name, c.relfilenode::int8 AS relfilenode, c.reltuples::float8 AS reltuples,
       pg_relation_size(c.oid) AS heap_bytes, pg_total_relation_size(c.oid) AS total_bytes,
       coalesce(s.n_dead_tup, 0) AS dead_tuples, coalesce(s.n_live_tup, 0) AS live_tuples,
       coalesce(s.n_mod_since_analyze, 0) AS modified_since_analyze,
       (s.last_analyze IS NOT NULL OR s.last_autoanalyze IS NOT NULL) AS analyzed,
       pg_has_role(c.relowner, 'USAGE') AS owned,
       ts.spcname AS tablespace, pg_tablespace_location(ts.oid) AS tablespace_location
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_database d ON d.datname = current_database()
JOIN pg_tablespace ts ON ts.oid = coalesce(nullif(c.reltablespace, 0), d.dattablespace)
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't' AND ${SYSTEM_SCHEMA_FILTER}
ORDER BY pg_total_relation_size(c.oid) DESC, n.nspname, c.relname`;

const INDEXES_SQL = `
SELECT ci.oid::int8 AS oid, n.nspname AS schema, ct.relname AS table, ci.relname AS name, ci.relfilenode::int8 AS relfilenode,
       am.amname AS method, i.indisvalid AS valid, i.indisunique AS unique, pg_relation_size(ci.oid) AS bytes,
       pg_has_role(ct.relowner, 'USAGE') AS owned
FROM pg_index i
JOIN pg_class ci ON ci.oid = i.indexrelid
JOIN pg_class ct ON ct.oid = i.indrelid
JOIN pg_namespace n ON n.oid = ct.relnamespace
JOIN pg_am am ON am.oid = ci.relam
WHERE ct.relkind IN ('r', 'm') AND ct.relpersistence <> 't' AND ${SYSTEM_SCHEMA_FILTER}
ORDER BY n.nspname, ct.relname, ci.relname`;

type Raw = Record<string, unknown>;

function toTable(row: Raw): TableInfo {
  return {
    oid: Number(row.oid),
    schema: String(row.schema),
    name: String(row.name),
    relfilenode: Number(row.relfilenode),
    reltuples: Number(row.reltuples),
    heapBytes: Number(row.heap_bytes ?? 0),
    totalBytes: Number(row.total_bytes ?? 0),
    deadTuples: Number(row.dead_tuples),
    liveTuples: Number(row.live_tuples),
    modifiedSinceAnalyze: Number(row.modified_since_analyze),
    analyzed: Boolean(row.analyzed),
    owned: Boolean(row.owned),
    tablespace: String(row.tablespace),
    tablespaceLocation: String(row.tablespace_location ?? ''),
  };
}

function toIndex(row: Raw): IndexInfo {
  return {
    oid: Number(row.oid),
    schema: String(row.schema),
    table: String(row.table),
    name: String(row.name),
    relfilenode: Number(row.relfilenode),
    method: String(row.method),
    valid: Boolean(row.valid),
    unique: Boolean(row.unique),
    bytes: Number(row.bytes ?? 0),
    owned: Boolean(row.owned),
  };
}

/** User tables and materialized views, largest first. */
export async function listTables(db: Pick<Database, 'query'>): Promise<TableInfo[]> {
  return (await db.query(TABLES_SQL)).map(toTable);
}

export async function listIndexes(db: Pick<Database, 'query'>): Promise<IndexInfo[]> {
  return (await db.query(INDEXES_SQL)).map(toIndex);
}

/** One table's sizes now (undefined when it was dropped meanwhile). */
export async function tableSize(db: Pick<Database, 'query'>, oid: number): Promise<{ totalBytes: number; relfilenode: number } | undefined> {
  const [row] = await db.query('SELECT pg_total_relation_size(c.oid) AS total, c.relfilenode::int8 AS relfilenode FROM pg_class c WHERE c.oid = $1', [oid]);
  return row ? { totalBytes: Number(row.total ?? 0), relfilenode: Number(row.relfilenode) } : undefined;
}

/** Server version as a number (150004 for 15.4). */
export async function serverVersion(db: Pick<Database, 'query'>): Promise<number> {
  const [row] = await db.query("SELECT current_setting('server_version_num')::int AS version");
  return Number(row?.version);
}
