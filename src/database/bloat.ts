/**
 * Bloat estimates without pgstattuple (no extension, no full scan): the well-known ioguix queries
 * (github.com/ioguix/pgsql-bloat-estimation, the same model check_postgres uses), adapted to use the
 * relation's size on disk now instead of the relpages of the last VACUUM.
 *
 * The model: the size the live rows would take if packed at the fillfactor (reltuples × the average row width
 * from pg_stats, plus tuple and page headers and alignment), compared with the real size. Unlike a
 * count of dead tuples, this still sees the empty space a plain VACUUM leaves behind — exactly what
 * VACUUM FULL / REINDEX give back.
 *
 * Limits: only as good as the statistics (ANALYZE; tables never analyzed, or with columns lacking
 * stats, are marked not estimable and never chosen by the threshold); TOAST is approximated (4 chunks a
 * page); columns of type `name` and dropped-column space skew it; only btree indexes are estimated
 * (GIN / GiST / hash report no estimate); btree deduplication (PG 13+) makes indexes with many duplicate
 * keys smaller than the model, so their bloat is under-estimated (never over-estimated). Partial indexes
 * are sized with the table's row count, which also errs towards less bloat.
 */
import { isLockTimeout, type Database } from './database.js';
import { qualify, SYSTEM_SCHEMA_FILTER } from './relations.js';

export interface BloatEstimate {
  oid: number;
  schema: string;
  /** The table (for an index: its table). */
  table: string;
  /** For an index estimate: the index name. */
  index?: string;
  realBytes: number;
  /** Bytes beyond the packed size at the fillfactor. */
  bloatBytes: number;
  bloatPercent: number;
  /** False when statistics are missing: the numbers mean nothing, never act on them. */
  estimable: boolean;
}

const MAXALIGN = `CASE WHEN version() ~ 'mingw32|64-bit|x86_64|ppc64|ia64|amd64|aarch64|arm64|s390x' THEN 8 ELSE 4 END`;

const TABLE_BLOAT_SQL = `
WITH cols AS (
  SELECT tbl.oid, ns.nspname AS schema, tbl.relname AS tbl, tbl.reltuples::float8 AS reltuples,
         pg_relation_size(tbl.oid) + CASE WHEN tbl.reltoastrelid = 0 THEN 0 ELSE pg_relation_size(tbl.reltoastrelid) END AS real_bytes,
         coalesce(toast.reltuples, 0)::float8 AS toast_tuples,
         coalesce(substring(array_to_string(tbl.reloptions, ' ') FROM 'fillfactor=([0-9]+)')::int, 100) AS fillfactor,
         current_setting('block_size')::numeric AS bs, ${MAXALIGN} AS ma,
         23 + CASE WHEN max(coalesce(s.null_frac, 0)) > 0 THEN (7 + count(*)) / 8 ELSE 0 END AS hdr,
         sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 0)) AS data_width,
         count(s.attname) = count(*) AND NOT bool_or(att.atttypid = 'pg_catalog.name'::regtype) AS has_stats
  FROM pg_attribute att
  JOIN pg_class tbl ON tbl.oid = att.attrelid
  JOIN pg_namespace ns ON ns.oid = tbl.relnamespace
  LEFT JOIN pg_class toast ON toast.oid = tbl.reltoastrelid
  LEFT JOIN pg_stats s ON s.schemaname = ns.nspname AND s.tablename = tbl.relname AND s.attname = att.attname AND NOT s.inherited
  WHERE att.attnum > 0 AND NOT att.attisdropped AND tbl.relkind IN ('r', 'm') AND tbl.relpersistence <> 't'
    AND ${SYSTEM_SCHEMA_FILTER.replace(/\bn\./g, 'ns.')}
  GROUP BY tbl.oid, ns.nspname, tbl.relname, tbl.reltuples, tbl.reltoastrelid, toast.reltuples, tbl.reloptions
), sized AS (
  SELECT *, 4 + hdr + ceil(data_width) + 2 * ma
              - CASE WHEN hdr % ma = 0 THEN ma ELSE hdr % ma END
              - CASE WHEN ceil(data_width)::int % ma = 0 THEN ma ELSE ceil(data_width)::int % ma END AS tuple_bytes
  FROM cols
), estimated AS (
  SELECT *, ceil(real_bytes / bs) AS real_pages,
         ceil(reltuples / ((bs - 24) * fillfactor / (tuple_bytes * 100))) + ceil(toast_tuples / 4) AS packed_pages
  FROM sized
)
SELECT oid::int8 AS oid, schema, tbl AS table, real_bytes,
       greatest(real_pages - packed_pages, 0) * bs AS bloat_bytes,
       CASE WHEN real_pages > 0 THEN 100 * greatest(real_pages - packed_pages, 0) / real_pages ELSE 0 END AS bloat_percent,
       has_stats AND reltuples >= 0 AS estimable
FROM estimated`;

const INDEX_BLOAT_SQL = `
WITH idx AS (
  SELECT ci.oid AS idx_oid, ci.relname AS idx, ct.oid AS tbl_oid, ct.relname AS tbl, ct.relnamespace, ct.reltuples::float8 AS reltuples,
         pg_relation_size(ci.oid) AS real_bytes,
         coalesce(substring(array_to_string(ci.reloptions, ' ') FROM 'fillfactor=([0-9]+)')::int, 90) AS fillfactor,
         string_to_array(i.indkey::text, ' ')::int[] AS indkey, i.indnatts
  FROM pg_index i
  JOIN pg_class ci ON ci.oid = i.indexrelid
  JOIN pg_class ct ON ct.oid = i.indrelid
  JOIN pg_am am ON am.oid = ci.relam
  WHERE am.amname = 'btree' AND i.indisvalid AND ct.relkind IN ('r', 'm') AND ct.relpersistence <> 't'
), cols AS (
  -- a plain column takes its stats from the table; an expression column from the index itself
  SELECT idx.*, pos, coalesce(ta.attname, ia.attname) AS attname, coalesce(ta.atttypid, ia.atttypid) AS atttypid,
         CASE WHEN idx.indkey[pos] = 0 THEN idx.idx ELSE idx.tbl END AS stats_relname
  FROM idx
  CROSS JOIN LATERAL generate_series(1, idx.indnatts) AS pos
  LEFT JOIN pg_attribute ta ON idx.indkey[pos] <> 0 AND ta.attrelid = idx.tbl_oid AND ta.attnum = idx.indkey[pos]
  LEFT JOIN pg_attribute ia ON idx.indkey[pos] = 0 AND ia.attrelid = idx.idx_oid AND ia.attnum = pos
), widths AS (
  SELECT c.idx_oid, n.nspname AS schema, c.tbl, c.idx, c.reltuples, c.real_bytes, c.fillfactor,
         current_setting('block_size')::numeric AS bs, ${MAXALIGN} AS ma,
         CASE WHEN max(coalesce(s.null_frac, 0)) = 0 THEN 8 ELSE 8 + ((32 + 8 - 1) / 8) END AS hdr,
         sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 1024)) AS data_width,
         count(s.attname) = count(*) AND NOT bool_or(c.atttypid = 'pg_catalog.name'::regtype) AS has_stats
  FROM cols c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.stats_relname AND s.attname = c.attname AND NOT s.inherited
  WHERE ${SYSTEM_SCHEMA_FILTER}
  GROUP BY c.idx_oid, n.nspname, c.tbl, c.idx, c.reltuples, c.real_bytes, c.fillfactor
), sized AS (
  SELECT *, hdr + ma - CASE WHEN hdr % ma = 0 THEN ma ELSE hdr % ma END
              + ceil(data_width) + ma - CASE WHEN ceil(data_width) = 0 THEN ma WHEN ceil(data_width)::int % ma = 0 THEN ma ELSE ceil(data_width)::int % ma END
            AS entry_bytes
  FROM widths
), estimated AS (
  -- one metapage, then leaf pages of (block - page header 24 - btree opaque 16) at the fillfactor
  SELECT *, ceil(real_bytes / bs) AS real_pages,
         1 + ceil(reltuples / floor((bs - 24 - 16) * fillfactor / (100 * (4 + entry_bytes)))) AS packed_pages
  FROM sized
)
SELECT idx_oid::int8 AS oid, schema, tbl AS table, idx AS index, real_bytes,
       greatest(real_pages - packed_pages, 0) * bs AS bloat_bytes,
       CASE WHEN real_pages > 0 THEN 100 * greatest(real_pages - packed_pages, 0) / real_pages ELSE 0 END AS bloat_percent,
       has_stats AND reltuples >= 0 AS estimable
FROM estimated`;

function toEstimate(row: Record<string, unknown>): BloatEstimate {
  const estimable = Boolean(row.estimable);
  return {
    oid: Number(row.oid),
    schema: String(row.schema),
    table: String(row.table),
    ...(row.index === undefined ? {} : { index: String(row.index) }),
    realBytes: Number(row.real_bytes),
    bloatBytes: estimable ? Math.round(Number(row.bloat_bytes)) : 0,
    bloatPercent: estimable ? Math.round(Number(row.bloat_percent) * 10) / 10 : 0,
    estimable,
  };
}

/** Per user table, keyed by table oid. */
export async function estimateTableBloat(db: Pick<Database, 'query'>): Promise<Map<number, BloatEstimate>> {
  const rows = (await db.query(TABLE_BLOAT_SQL)).map(toEstimate);
  return new Map(rows.map((row) => [row.oid, row]));
}

/** Per valid btree index of a user table, keyed by index oid. */
export async function estimateIndexBloat(db: Pick<Database, 'query'>): Promise<Map<number, BloatEstimate>> {
  const rows = (await db.query(INDEX_BLOAT_SQL)).map(toEstimate);
  return new Map(rows.map((row) => [row.oid, row]));
}

/** Does an estimate pass the configured threshold and minimum size? */
export function isBloated(estimate: BloatEstimate | undefined, thresholdPercent: number, minBytes: number): boolean {
  return estimate !== undefined && estimate.estimable && estimate.realBytes >= minBytes && estimate.bloatPercent >= thresholdPercent;
}

/** The estimates read pg_stats and reltuples: a table changed a lot since its last ANALYZE is estimated wrong. */
export function hasStaleStatistics(table: { analyzed: boolean; reltuples: number; modifiedSinceAnalyze: number }): boolean {
  return !table.analyzed || table.reltuples < 0 || table.modifiedSinceAnalyze > 0.1 * Math.max(table.reltuples, 1000);
}

/**
 * ANALYZEs the given tables whose statistics are stale, so the estimates above are not built on
 * them (ANALYZE takes a lock the application never waits for; a table whose lock is busy keeps its
 * old statistics). Returns the tables analyzed.
 */
export async function analyzeStale<T extends { schema: string; name: string; analyzed: boolean; reltuples: number; modifiedSinceAnalyze: number }>(
  db: Database,
  tables: T[],
  lockTimeoutMs: number,
): Promise<T[]> {
  const stale = tables.filter(hasStaleStatistics);
  if (stale.length === 0) return [];
  return db.withSession(async (session) => {
    await session.setLockTimeout(lockTimeoutMs);
    const analyzed: T[] = [];
    for (const table of stale) {
      try {
        await session.query(`ANALYZE ${qualify(table.schema, table.name)}`);
        analyzed.push(table);
      } catch (error) {
        if (!isLockTimeout(error)) throw error;
      }
    }
    return analyzed;
  });
}
