import type { Database } from '../database/database.js';
import type { DatabaseFacts, IndexFacts, TableFacts } from './snapshot-types.js';

const USER_SCHEMAS = `n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' and n.nspname not like 'pg_temp%'`;

/** Size, version and connections by state (the window's own sessions left out). */
export const DATABASE_SQL = `
select pg_database_size(current_database())::text as size_bytes,
       current_database() as name,
       current_setting('server_version') as server_version,
       current_setting('max_connections')::int as max_connections,
       coalesce((select json_agg(json_build_object('state', state, 'count', n) order by state)
                 from (select coalesce(state, 'unknown') as state, count(*)::int as n
                       from pg_stat_activity
                       where datname = current_database() and backend_type = 'client backend'
                         and application_name not like 'maintenance-window%'
                       group by 1) s), '[]') as connections`;

/** Every table with its sizes and vacuum state, and every index, in one statement (json keeps it one row). */
export const RELATIONS_SQL = `
select
  coalesce((select json_agg(t order by t.total_bytes desc, t.schema, t.name) from (
    select n.nspname as schema, c.relname as name,
           pg_total_relation_size(c.oid) as total_bytes, pg_relation_size(c.oid) as heap_bytes,
           pg_indexes_size(c.oid) as index_bytes, c.reltuples::bigint as row_estimate,
           s.n_live_tup as live_tuples, s.n_dead_tup as dead_tuples,
           s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    left join pg_stat_user_tables s on s.relid = c.oid
    where c.relkind in ('r', 'm', 'p') and ${USER_SCHEMAS}) t), '[]') as tables,
  coalesce((select json_agg(i order by i.bytes desc, i.schema, i.name) from (
    select n.nspname as schema, t.relname as "table", c.relname as name, pg_relation_size(c.oid) as bytes,
           x.indisvalid as valid, x.indisunique as "unique", s.idx_scan as scans
    from pg_index x
    join pg_class c on c.oid = x.indexrelid
    join pg_class t on t.oid = x.indrelid
    join pg_namespace n on n.oid = c.relnamespace
    left join pg_stat_user_indexes s on s.indexrelid = x.indexrelid
    where ${USER_SCHEMAS}) i), '[]') as indexes`;

/**
 * Exact counts of the integrity tables in one statement. Names arrive as a bind parameter; to_regclass resolves
 * them and format('%s', regclass) quotes them, so a name is never spliced into SQL. A missing table gives null.
 */
export const INTEGRITY_SQL = `
select name, case when to_regclass(name) is null then null
  else (xpath('/row/c/text()', query_to_xml(format('select count(*) as c from %s', to_regclass(name)), false, true, '')))[1]::text::bigint::text
  end as rows
from unnest($1::text[]) as name`;

interface TableRow {
  schema: string;
  name: string;
  total_bytes: number;
  heap_bytes: number;
  index_bytes: number;
  row_estimate: number;
  live_tuples: number | null;
  dead_tuples: number | null;
  last_vacuum: string | null;
  last_autovacuum: string | null;
  last_analyze: string | null;
  last_autoanalyze: string | null;
}

interface IndexRow {
  schema: string;
  table: string;
  name: string;
  bytes: number;
  valid: boolean;
  unique: boolean;
  scans: number | null;
}

/** Time stamps inside json arrive as text in the server's offset; keep them as UTC instants. */
const instant = (value: string | null): string | undefined => (value ? new Date(value).toISOString() : undefined);

function toTable(row: TableRow): TableFacts {
  const table: TableFacts = {
    schema: row.schema,
    name: row.name,
    totalBytes: Number(row.total_bytes),
    heapBytes: Number(row.heap_bytes),
    indexBytes: Number(row.index_bytes),
    rowEstimate: Number(row.row_estimate),
  };
  if (row.live_tuples !== null) table.liveTuples = Number(row.live_tuples);
  if (row.dead_tuples !== null) table.deadTuples = Number(row.dead_tuples);
  const times = { lastVacuum: row.last_vacuum, lastAutovacuum: row.last_autovacuum, lastAnalyze: row.last_analyze, lastAutoanalyze: row.last_autoanalyze };
  for (const [key, value] of Object.entries(times)) {
    const at = instant(value);
    if (at) table[key as keyof typeof times] = at;
  }
  return table;
}

function toIndex(row: IndexRow): IndexFacts {
  const index: IndexFacts = { schema: row.schema, table: row.table, name: row.name, bytes: Number(row.bytes), valid: row.valid, unique: row.unique };
  if (row.scans !== null) index.scans = Number(row.scans);
  return index;
}

export interface DatabaseQueryResult {
  facts?: DatabaseFacts;
  queries: number;
  errors: string[];
}

/** The database part of a snapshot: three statements, run side by side; each failure is reported on its own. */
export async function queryDatabaseFacts(db: Database, integrityTables: readonly string[]): Promise<DatabaseQueryResult> {
  const [database, relations, integrity] = await Promise.allSettled([
    db.query<{ size_bytes: string; name: string; server_version: string; max_connections: number; connections: { state: string; count: number }[] }>(
      DATABASE_SQL,
    ),
    db.query<{ tables: TableRow[]; indexes: IndexRow[] }>(RELATIONS_SQL),
    integrityTables.length > 0 ? db.query<{ name: string; rows: string | null }>(INTEGRITY_SQL, [integrityTables]) : Promise.resolve([]),
  ]);
  const errors: string[] = [];
  const reason = (result: PromiseRejectedResult) => (result.reason instanceof Error ? result.reason.message : String(result.reason));
  if (database.status === 'rejected') errors.push(`database size query failed: ${reason(database)}`);
  if (relations.status === 'rejected') errors.push(`table statistics query failed: ${reason(relations)}`);
  if (integrity.status === 'rejected') errors.push(`integrity table counts failed: ${reason(integrity)}`);
  const queries = integrityTables.length > 0 ? 3 : 2;
  if (database.status === 'rejected') return { queries, errors };
  const row = database.value[0]!;
  const tables = relations.status === 'fulfilled' ? relations.value[0]!.tables.map(toTable) : [];
  const facts: DatabaseFacts = {
    name: row.name,
    serverVersion: row.server_version,
    sizeBytes: Number(row.size_bytes),
    maxConnections: row.max_connections,
    connections: row.connections,
    tableCount: tables.length,
    tables,
    indexes: relations.status === 'fulfilled' ? relations.value[0]!.indexes.map(toIndex) : [],
    integrityCounts: {},
  };
  if (integrity.status === 'fulfilled') {
    for (const { name, rows } of integrity.value) {
      facts.integrityCounts[name] = rows === null ? null : Number(rows);
      if (rows === null) errors.push(`integrity table ${name} does not exist in ${row.name}`);
    }
  }
  return { facts, queries, errors };
}
