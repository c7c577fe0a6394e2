import { qualify } from '../../database/relations.js';
import { quoteIdent } from '../../database/sql.js';
import { formatBytes } from '../../report/human-size.js';
import { quote } from '../../remote/shell.js';
import type { Finding } from '../step.js';
import type { DatabaseAgeRow, ForeignKeyRow, FreezeSettings, IndexRow, OldestTableRow, SchemaCatalog, SequenceRow, TableRow } from './schema-catalog.js';

/** Statistics younger than this cannot call an index unused: a weekly or monthly job may not have run yet. */
export const STATS_MIN_AGE_MS = 7 * 86_400_000;
/** Beyond this, anti-wraparound autovacuum is overdue and PostgreSQL is ~650 million XIDs from refusing writes. */
export const WRAPAROUND_CRITICAL_AGE = 1_500_000_000;
export const SEQUENCE_WARN_PERCENT = 80;
export const SEQUENCE_CRITICAL_PERCENT = 95;
const BIGINT_MAX = '9223372036854775807';
const BIGINT_MIN = '-9223372036854775808';
const IDENTIFIER_BYTES = 63;

const name = (schema: string, object: string) => `${schema}.${object}`;

function statsWindow(catalog: SchemaCatalog): { young: boolean; text: string } {
  if (!catalog.statsReset) return { young: false, text: 'since statistics began (never reset)' };
  const age = catalog.now.getTime() - catalog.statsReset.getTime();
  return { young: age < STATS_MIN_AGE_MS, text: `since the statistics reset at ${catalog.statsReset.toISOString()} (${(age / 86_400_000).toFixed(1)} days)` };
}

/** The index's leading columns are exactly the foreign key's (in any order), so lookups by the key can use it. */
export function supportsForeignKey(index: IndexRow, foreignKey: ForeignKeyRow): boolean {
  if (index.tableOid !== foreignKey.tableOid || !index.valid || index.partial) return false;
  if (index.method !== 'btree' && !(index.method === 'hash' && foreignKey.keys.length === 1)) return false;
  const leading = index.keys.slice(0, foreignKey.keys.length);
  return leading.length === foreignKey.keys.length && foreignKey.keys.every((key) => leading.includes(key));
}

export function unusedIndexFindings(catalog: SchemaCatalog): Finding[] {
  const window = statsWindow(catalog);
  return (
    catalog.indexes
      .filter((index) => index.scans === 0 && index.valid && !index.unique && !index.primary && !index.constraint && !index.onPartitioned)
      // An index that serves a foreign key is used by deletes on the parent, which may just not have happened.
      .filter((index) => !catalog.foreignKeys.some((foreignKey) => supportsForeignKey(index, foreignKey)))
      .sort((a, b) => b.bytes - a.bytes)
      .map((index) => ({
        severity: window.young ? 'info' : 'warning',
        title: `index ${name(index.schema, index.name)} on ${index.table} is unused (${formatBytes(index.bytes)})`,
        evidence: `0 scans ${window.text}${window.young ? ': too recent to judge' : ''}; ${index.definition}`,
        action: `DROP INDEX CONCURRENTLY ${qualify(index.schema, index.name)};  -- once the replicas' pg_stat_user_indexes show it unused there too`,
      }))
  );
}

/** Indexes with the same table, method, columns, expressions, operator classes and predicate: one is enough. */
export function duplicateIndexFindings(catalog: SchemaCatalog): Finding[] {
  const groups = new Map<string, IndexRow[]>();
  for (const index of catalog.indexes) {
    const key = `${index.tableOid} ${index.shape}`;
    groups.set(key, [...(groups.get(key) ?? []), index]);
  }
  // Keep what backs a constraint, then a unique one, then a valid one, then the most used.
  const rank = (index: IndexRow) => [index.constraint ? 0 : 1, index.primary ? 0 : 1, index.unique ? 0 : 1, index.valid ? 0 : 1, -index.scans, index.oid];
  const compare = (a: IndexRow, b: IndexRow) => {
    const [left, right] = [rank(a), rank(b)];
    const at = left.findIndex((value, position) => value !== right[position]);
    return at < 0 ? 0 : left[at]! - right[at]!;
  };
  const findings: Finding[] = [];
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const [keep, ...redundant] = [...group].sort(compare);
    for (const index of redundant) {
      const drop = index.constraint
        ? `ALTER TABLE ${qualify(index.schema, index.table)} DROP CONSTRAINT ${quoteIdent(index.constraint)};`
        : `DROP INDEX CONCURRENTLY ${qualify(index.schema, index.name)};`;
      findings.push({
        severity: 'warning',
        title: `index ${name(index.schema, index.name)} duplicates ${keep!.name} on ${index.table}`,
        evidence: `${index.definition}; kept: ${keep!.definition}${keep!.constraint ? ` (backs constraint ${keep!.constraint})` : ''}`,
        action: drop,
      });
    }
  }
  return findings;
}

/** A name for a new index that no index in the schema has yet, within PostgreSQL's 63 bytes. */
function newIndexName(catalog: SchemaCatalog, schema: string, table: string, columns: string[]): string {
  const taken = new Set(catalog.indexes.filter((index) => index.schema === schema).map((index) => index.name));
  const fit = (text: string) => {
    let result = text;
    while (Buffer.byteLength(result) > IDENTIFIER_BYTES) result = result.slice(0, -1);
    return result;
  };
  const base = fit(`${table}_${columns.join('_')}_idx`);
  for (let suffix = 1; ; suffix++) {
    const candidate = suffix === 1 ? base : `${fit(base.slice(0, IDENTIFIER_BYTES - String(suffix).length))}${suffix}`;
    if (!taken.has(candidate)) return candidate;
  }
}

export function foreignKeyIndexFindings(catalog: SchemaCatalog): Finding[] {
  return catalog.foreignKeys
    .filter((foreignKey) => !catalog.indexes.some((index) => supportsForeignKey(index, foreignKey)))
    .map((foreignKey) => {
      const index = newIndexName(catalog, foreignKey.schema, foreignKey.table, foreignKey.columns);
      return {
        severity: 'warning' as const,
        title: `foreign key ${foreignKey.name} on ${name(foreignKey.schema, foreignKey.table)} (${foreignKey.columns.join(', ')}) has no index`,
        evidence: `it references ${foreignKey.references}: each DELETE or key UPDATE there scans ${name(foreignKey.schema, foreignKey.table)} and locks it longer`,
        action: `CREATE INDEX ${foreignKey.partitioned ? '' : 'CONCURRENTLY '}${quoteIdent(index)} ON ${qualify(foreignKey.schema, foreignKey.table)} (${foreignKey.columns.map(quoteIdent).join(', ')});`,
      };
    });
}

function primaryKeyFix(catalog: SchemaCatalog, table: TableRow): string {
  const target = qualify(table.schema, table.table);
  const unique = catalog.indexes.find(
    (index) =>
      index.tableOid === table.oid && index.unique && index.valid && !index.partial && !index.hasExpressions && index.keysNotNull && index.method === 'btree',
  );
  if (unique)
    return `ALTER TABLE ${target} ADD PRIMARY KEY USING INDEX ${quoteIdent(unique.name)};  -- its columns are already NOT NULL and unique: a brief lock`;
  if (table.partitioned) return `ALTER TABLE ${target} ADD PRIMARY KEY (<columns including the partition key: ${table.partitionKey}>);`;
  if (table.columns.includes('id')) {
    return `ALTER TABLE ${target} ADD PRIMARY KEY (${quoteIdent('id')});  -- fails without a change if id has duplicates or NULLs; builds the index under an ACCESS EXCLUSIVE lock`;
  }
  const column = ['id', 'row_id', 'pk_id'].find((candidate) => !table.columns.includes(candidate)) ?? 'pk_id';
  return `ALTER TABLE ${target} ADD COLUMN ${quoteIdent(column)} bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;  -- rewrites the table (${formatBytes(table.bytes)}) under an ACCESS EXCLUSIVE lock: in a downtime window`;
}

export function primaryKeyFindings(catalog: SchemaCatalog): Finding[] {
  return catalog.tablesWithoutPrimaryKey.map((table) => ({
    severity: 'warning',
    title: `table ${name(table.schema, table.table)} has no primary key`,
    evidence: `${formatBytes(table.bytes)}; without one, logical replication cannot replicate its UPDATEs and DELETEs, pg_repack cannot rebuild it, and duplicate rows can creep in`,
    action: primaryKeyFix(catalog, table),
  }));
}

/** The statements that give the sequence (and its column) room again. */
export function sequenceFix(sequence: SequenceRow): string {
  const target = qualify(sequence.schema, sequence.name);
  const ascending = sequence.increment > 0;
  const bound = ascending ? `MAXVALUE ${BIGINT_MAX}` : `MINVALUE ${BIGINT_MIN}`;
  const owner = sequence.owner;
  if (owner && (owner.type === 'smallint' || owner.type === 'integer')) {
    return (
      `ALTER TABLE ${qualify(owner.schema, owner.table)} ALTER COLUMN ${quoteIdent(owner.column)} TYPE bigint; ALTER SEQUENCE ${target} AS bigint ${bound};` +
      '  -- the column change rewrites the table and its indexes under an ACCESS EXCLUSIVE lock: in a downtime window; widen referencing columns too'
    );
  }
  if (sequence.limit !== (ascending ? BIGINT_MAX : BIGINT_MIN)) return `ALTER SEQUENCE ${target} AS bigint ${bound};  -- instant`;
  return 'The bigint key space itself is nearly used: plan a key migration (e.g. to uuid) or check why the values advance this fast.';
}

export function sequenceFindings(catalog: SchemaCatalog): Finding[] {
  return catalog.sequences
    .filter((sequence) => sequence.usedPercent > SEQUENCE_WARN_PERCENT)
    .map((sequence) => ({
      severity: sequence.usedPercent > SEQUENCE_CRITICAL_PERCENT ? 'critical' : 'warning',
      title: `sequence ${name(sequence.schema, sequence.name)} has used ${sequence.usedPercent}% of its range`,
      evidence: `last value ${sequence.lastValue} of ${sequence.limit} (${sequence.type}${sequence.owner ? `, feeds ${sequence.owner.table}.${sequence.owner.column} ${sequence.owner.type}` : ''}); when it runs out, every INSERT that needs a value fails`,
      action: sequenceFix(sequence),
    }));
}

function freezeAction(row: DatabaseAgeRow, currentDatabase: string, oldestTables: OldestTableRow[]): string {
  const heldBack =
    'If the age does not fall afterwards, something holds it back: look at old transactions (pg_stat_activity.backend_xmin), pg_prepared_xacts and pg_replication_slots.';
  if (row.database === 'template0')
    return `Autovacuum freezes template0 itself: check that autovacuum is on and keeping up (pg_stat_progress_vacuum). ${heldBack}`;
  if (row.database === currentDatabase && oldestTables.length > 0) {
    const statements = oldestTables.slice(0, 3).map((table) => `VACUUM (FREEZE, VERBOSE) ${qualify(table.schema, table.table)};`);
    return `${statements.join(' ')}  -- its oldest tables (${oldestTables
      .slice(0, 3)
      .map((table) => `${table.table} ${table.xidAge}`)
      .join(', ')}); or the whole database: vacuumdb --freeze --jobs=2 --dbname=${quote(row.database)}. ${heldBack}`;
  }
  return `vacuumdb --freeze --jobs=2 --dbname=${quote(row.database)}  -- or VACUUM (FREEZE, VERBOSE) on its oldest tables (ORDER BY age(relfrozenxid) DESC). ${heldBack}`;
}

/** Transaction-ID and multixact age of every database against the autovacuum freeze limits. */
export function wraparoundFindings(ages: DatabaseAgeRow[], freeze: FreezeSettings, currentDatabase: string, oldestTables: OldestTableRow[]): Finding[] {
  const findings: Finding[] = [];
  const check = (row: DatabaseAgeRow, kind: 'transaction ID' | 'multixact', age: number, limit: number, setting: string) => {
    if (age <= limit && age <= WRAPAROUND_CRITICAL_AGE) return;
    findings.push({
      severity: age > WRAPAROUND_CRITICAL_AGE ? 'critical' : 'warning',
      title: `database ${row.database}: ${kind} age ${age.toLocaleString('en-US')} is past ${age > WRAPAROUND_CRITICAL_AGE ? '1.5 billion' : `${setting} (${limit.toLocaleString('en-US')})`}`,
      evidence: `${kind === 'transaction ID' ? 'age(datfrozenxid)' : 'mxid_age(datminmxid)'} = ${age}; ${setting} = ${limit}; PostgreSQL stops accepting writes about 2 billion in, to prevent wraparound`,
      action: freezeAction(row, currentDatabase, oldestTables),
    });
  };
  for (const row of ages) {
    check(row, 'transaction ID', row.xidAge, freeze.freezeMaxAge, 'autovacuum_freeze_max_age');
    check(row, 'multixact', row.mxidAge, freeze.multixactFreezeMaxAge, 'autovacuum_multixact_freeze_max_age');
  }
  return findings;
}
