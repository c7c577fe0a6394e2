import type { Database } from '../../database/database.js';
import { SYSTEM_SCHEMA_FILTER } from '../../database/relations.js';

/** Objects created by an extension are the extension's business, not the schema's owner's. */
const NOT_EXTENSION_MEMBER = (oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass AND e.objid = ${oid} AND e.deptype = 'e')`;

export interface IndexRow {
  oid: number;
  schema: string;
  table: string;
  tableOid: number;
  name: string;
  method: string;
  /** Column numbers (0 = an expression), in index order. */
  keys: number[];
  columns: string[];
  /** Everything else that makes two indexes the same: opclasses, collations, options, expressions, predicate. */
  shape: string;
  partial: boolean;
  hasExpressions: boolean;
  /** On a partitioned table: no scan statistics of its own (its partitions' indexes have them). */
  onPartitioned: boolean;
  unique: boolean;
  primary: boolean;
  valid: boolean;
  /** The primary key, unique or exclusion constraint it backs. */
  constraint?: string;
  /** Every key column is NOT NULL. */
  keysNotNull: boolean;
  scans: number;
  bytes: number;
  definition: string;
}

const INDEXES_SQL = `
SELECT i.indexrelid::int8 AS oid, n.nspname AS schema, ct.relname AS table, ct.oid::int8 AS table_oid, ci.relname AS name,
       am.amname AS method, i.indkey::text AS keys,
       ARRAY(SELECT coalesce(a.attname::text, '(expression)') FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
             LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
       concat_ws(' | ', am.amname, i.indkey::text, i.indclass::text, i.indcollation::text, i.indoption::text,
                 pg_get_expr(i.indexprs, i.indrelid), 'WHERE ' || pg_get_expr(i.indpred, i.indrelid)) AS shape,
       i.indpred IS NOT NULL AS partial, i.indexprs IS NOT NULL AS has_expressions, ct.relkind = 'p' AS on_partitioned,
       i.indisunique AS unique, i.indisprimary AS primary, i.indisvalid AS valid,
       (SELECT c.conname FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x') LIMIT 1) AS constraint,
       coalesce((SELECT bool_and(a.attnotnull) FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[])), false) AS keys_not_null,
       coalesce(s.idx_scan, 0)::int8 AS scans, pg_relation_size(ci.oid)::int8 AS bytes, pg_get_indexdef(ci.oid) AS definition
FROM pg_index i
JOIN pg_class ci ON ci.oid = i.indexrelid
JOIN pg_class ct ON ct.oid = i.indrelid
JOIN pg_namespace n ON n.oid = ct.relnamespace
JOIN pg_am am ON am.oid = ci.relam
LEFT JOIN pg_stat_all_indexes s ON s.indexrelid = i.indexrelid
WHERE ct.relkind IN ('r', 'm', 'p') AND ${SYSTEM_SCHEMA_FILTER} AND ${NOT_EXTENSION_MEMBER('ct.oid')}
ORDER BY n.nspname, ct.relname, ci.relname`;

export interface ForeignKeyRow {
  schema: string;
  table: string;
  tableOid: number;
  name: string;
  keys: number[];
  columns: string[];
  references: string;
  partitioned: boolean;
}

const FOREIGN_KEYS_SQL = `
SELECT n.nspname AS schema, cl.relname AS table, cl.oid::int8 AS table_oid, c.conname AS name, array_to_string(c.conkey, ' ') AS keys,
       ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
       c.confrelid::regclass::text AS references, cl.relkind = 'p' AS partitioned
FROM pg_constraint c
JOIN pg_class cl ON cl.oid = c.conrelid
JOIN pg_namespace n ON n.oid = cl.relnamespace
WHERE c.contype = 'f' AND c.conparentid = 0 AND ${SYSTEM_SCHEMA_FILTER} AND ${NOT_EXTENSION_MEMBER('cl.oid')}
ORDER BY n.nspname, cl.relname, c.conname`;

export interface TableRow {
  oid: number;
  schema: string;
  table: string;
  partitioned: boolean;
  partitionKey?: string;
  columns: string[];
  bytes: number;
}

const TABLES_WITHOUT_PRIMARY_KEY_SQL = `
SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS table, c.relkind = 'p' AS partitioned,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
       ARRAY(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS columns,
       pg_total_relation_size(c.oid)::int8 AS bytes
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relpersistence <> 't' AND ${SYSTEM_SCHEMA_FILTER} AND ${NOT_EXTENSION_MEMBER('c.oid')}
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')
ORDER BY n.nspname, c.relname`;

export interface SequenceRow {
  schema: string;
  name: string;
  type: string;
  increment: number;
  /** As text: bigint values do not fit a JavaScript number. */
  lastValue: string;
  /** The value it can still reach: its own bound, or the owning column's type bound when that is tighter. */
  limit: string;
  usedPercent: number;
  owner?: { schema: string; table: string; column: string; type: string };
}

// Percent used from the start bound toward the effective limit; the owning column's type can be tighter than
// the sequence's own (a bigint sequence feeding an integer column fails at 2^31 - 1).
const SEQUENCES_SQL = `
WITH seqs AS (
  SELECT n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS type, s.seqincrement AS increment,
         s.seqmin::numeric AS min, s.seqmax::numeric AS max, ps.last_value::numeric AS last_value,
         o.schema AS owner_schema, o.table AS owner_table, o.column AS owner_column, o.type AS owner_type,
         CASE o.type WHEN 'smallint' THEN 32767 WHEN 'integer' THEN 2147483647 WHEN 'bigint' THEN 9223372036854775807 END::numeric AS column_max
  FROM pg_sequence s
  JOIN pg_class c ON c.oid = s.seqrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_sequences ps ON ps.schemaname = n.nspname AND ps.sequencename = c.relname
  LEFT JOIN LATERAL (
    SELECT tn.nspname AS schema, t.relname AS table, a.attname AS column, format_type(a.atttypid, NULL) AS type
    FROM pg_depend d
    JOIN pg_class t ON t.oid = d.refobjid
    JOIN pg_namespace tn ON tn.oid = t.relnamespace
    JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
    LIMIT 1) o ON true
  WHERE NOT s.seqcycle AND ps.last_value IS NOT NULL AND ${SYSTEM_SCHEMA_FILTER}
), bounded AS (
  SELECT *, CASE WHEN increment > 0 THEN least(max, coalesce(column_max, max)) ELSE greatest(min, coalesce(-column_max - 1, min)) END AS bound,
         CASE WHEN increment > 0 THEN min ELSE max END AS start
  FROM seqs
)
SELECT schema, name, type, increment, last_value::text AS last_value, bound::text AS limit,
       round(100 * (last_value - start) / nullif(bound - start, 0), 2)::float8 AS used_percent,
       owner_schema, owner_table, owner_column, owner_type
FROM bounded ORDER BY used_percent DESC NULLS LAST, schema, name`;

export interface DatabaseAgeRow {
  database: string;
  xidAge: number;
  mxidAge: number;
}

export interface FreezeSettings {
  freezeMaxAge: number;
  multixactFreezeMaxAge: number;
}

const AGES_SQL = `
SELECT datname AS database, age(datfrozenxid)::int8 AS xid_age, mxid_age(datminmxid)::int8 AS mxid_age,
       current_setting('autovacuum_freeze_max_age')::int8 AS freeze_max_age,
       current_setting('autovacuum_multixact_freeze_max_age')::int8 AS multixact_freeze_max_age
FROM pg_database ORDER BY age(datfrozenxid) DESC`;

export interface OldestTableRow {
  schema: string;
  table: string;
  xidAge: number;
}

const OLDEST_TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS table, age(c.relfrozenxid)::int8 AS xid_age
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't'
ORDER BY age(c.relfrozenxid) DESC LIMIT 5`;

const STATS_SQL = `SELECT stats_reset, now() AS now FROM pg_stat_database WHERE datname = current_database()`;

export interface SchemaCatalog {
  indexes: IndexRow[];
  foreignKeys: ForeignKeyRow[];
  tablesWithoutPrimaryKey: TableRow[];
  sequences: SequenceRow[];
  ages: DatabaseAgeRow[];
  freeze: FreezeSettings;
  oldestTables: OldestTableRow[];
  /** When this database's statistics were last reset (undefined: never). */
  statsReset?: Date;
  now: Date;
}

/** The shape of the database's catalog in a handful of read-only queries. */
export const SCHEMA_QUERIES = [INDEXES_SQL, FOREIGN_KEYS_SQL, TABLES_WITHOUT_PRIMARY_KEY_SQL, SEQUENCES_SQL, AGES_SQL, OLDEST_TABLES_SQL, STATS_SQL];

type Raw = Record<string, unknown>;
const numbers = (text: unknown) =>
  String(text ?? '')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);

export async function readSchemaCatalog(db: Pick<Database, 'query'>): Promise<SchemaCatalog> {
  const [indexes, foreignKeys, tables, sequences, ages, oldest, stats] = await Promise.all(SCHEMA_QUERIES.map((sql) => db.query<Raw>(sql)));
  const first = ages![0];
  return {
    indexes: indexes!.map((row) => ({
      oid: Number(row.oid),
      schema: String(row.schema),
      table: String(row.table),
      tableOid: Number(row.table_oid),
      name: String(row.name),
      method: String(row.method),
      keys: numbers(row.keys),
      columns: row.columns as string[],
      shape: String(row.shape),
      partial: Boolean(row.partial),
      hasExpressions: Boolean(row.has_expressions),
      onPartitioned: Boolean(row.on_partitioned),
      unique: Boolean(row.unique),
      primary: Boolean(row.primary),
      valid: Boolean(row.valid),
      constraint: (row.constraint as string | null) ?? undefined,
      keysNotNull: Boolean(row.keys_not_null),
      scans: Number(row.scans),
      bytes: Number(row.bytes),
      definition: String(row.definition),
    })),
    foreignKeys: foreignKeys!.map((row) => ({
      schema: String(row.schema),
      table: String(row.table),
      tableOid: Number(row.table_oid),
      name: String(row.name),
      keys: numbers(row.keys),
      columns: row.columns as string[],
      references: String(row.references),
      partitioned: Boolean(row.partitioned),
    })),
    tablesWithoutPrimaryKey: tables!.map((row) => ({
      oid: Number(row.oid),
      schema: String(row.schema),
      table: String(row.table),
      partitioned: Boolean(row.partitioned),
      partitionKey: (row.partition_key as string | null) ?? undefined,
      columns: row.columns as string[],
      bytes: Number(row.bytes),
    })),
    sequences: sequences!.map((row) => ({
      schema: String(row.schema),
      name: String(row.name),
      type: String(row.type),
      increment: Number(row.increment),
      lastValue: String(row.last_value),
      limit: String(row.limit),
      usedPercent: Number(row.used_percent ?? 0),
      owner: row.owner_table
        ? { schema: String(row.owner_schema), table: String(row.owner_table), column: String(row.owner_column), type: String(row.owner_type) }
        : undefined,
    })),
    ages: ages!.map((row) => ({ database: String(row.database), xidAge: Number(row.xid_age), mxidAge: Number(row.mxid_age) })),
    freeze: { freezeMaxAge: Number(first?.freeze_max_age ?? 200_000_000), multixactFreezeMaxAge: Number(first?.multixact_freeze_max_age ?? 400_000_000) },
    oldestTables: oldest!.map((row) => ({ schema: String(row.schema), table: String(row.table), xidAge: Number(row.xid_age) })),
    statsReset: stats![0]?.stats_reset ? new Date(stats![0].stats_reset as Date) : undefined,
    now: new Date(stats![0]?.now as Date),
  };
}
