import { MINUTES, type Finding, type StepContext, type StepFactory, type StepOutcome } from '../step.js';
import { readSchemaCatalog } from './schema-catalog.js';
import {
  duplicateIndexFindings,
  foreignKeyIndexFindings,
  primaryKeyFindings,
  sequenceFindings,
  unusedIndexFindings,
  wraparoundFindings,
} from './schema-findings.js';

/** Findings of one kind in the report; the rest are counted (a schema with thousands of tables stays readable). */
const MAX_PER_KIND = 25;

function capped(kind: string, findings: Finding[]): Finding[] {
  if (findings.length <= MAX_PER_KIND) return findings;
  const rest = findings.length - MAX_PER_KIND;
  return [
    ...findings.slice(0, MAX_PER_KIND),
    { severity: 'info', title: `${rest} more ${kind} not listed`, evidence: `${findings.length} in total; the largest / worst are listed first` },
  ];
}

async function run(ctx: StepContext): Promise<StepOutcome> {
  const database = ctx.config.database.name;
  const catalog = await readSchemaCatalog(await ctx.db());
  const kinds = {
    unusedIndexes: unusedIndexFindings(catalog),
    duplicateIndexes: duplicateIndexFindings(catalog),
    tablesWithoutPrimaryKey: primaryKeyFindings(catalog),
    unindexedForeignKeys: foreignKeyIndexFindings(catalog),
    wraparound: wraparoundFindings(catalog.ages, catalog.freeze, database, catalog.oldestTables),
    sequencesNearMax: sequenceFindings(catalog),
  };
  const findings = [
    ...capped('wraparound findings', kinds.wraparound),
    ...capped('sequences near their maximum', kinds.sequencesNearMax),
    ...capped('unindexed foreign keys', kinds.unindexedForeignKeys),
    ...capped('tables without a primary key', kinds.tablesWithoutPrimaryKey),
    ...capped('duplicate indexes', kinds.duplicateIndexes),
    ...capped('unused indexes', kinds.unusedIndexes),
  ];
  const metrics = Object.fromEntries(Object.entries(kinds).map(([kind, list]) => [kind, list.length]));
  const counted = Object.entries(metrics)
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${count} ${kind.replace(/[A-Z]/g, (letter) => ` ${letter.toLowerCase()}`)}`);
  const maxXidAge = Math.max(0, ...catalog.ages.map((row) => row.xidAge));
  const maxMxidAge = Math.max(0, ...catalog.ages.map((row) => row.mxidAge));
  return {
    status: findings.some((finding) => finding.severity !== 'info') ? 'warning' : 'succeeded',
    summary: `${database}: ${counted.length ? counted.join(', ') : 'no schema problems found'} (${catalog.indexes.length} indexes, ${catalog.foreignKeys.length} foreign key(s), ${catalog.sequences.length} sequence(s) reviewed; oldest XID age ${maxXidAge})`,
    metrics: { ...metrics, indexes: catalog.indexes.length, maxXidAge, maxMxidAge, freezeMaxAge: catalog.freeze.freezeMaxAge },
    details: {
      statsReset: catalog.statsReset?.toISOString() ?? null,
      ages: catalog.ages,
      freeze: catalog.freeze,
      sequences: catalog.sequences.slice(0, 20),
      tablesWithoutPrimaryKey: catalog.tablesWithoutPrimaryKey.map((table) => `${table.schema}.${table.table}`),
    },
    findings,
  };
}

export const schemaReview: StepFactory = (config) => ({
  id: 'schema.review',
  title: 'Schema review',
  description: `Reviews ${config.database.name} read-only: unused and duplicate indexes, tables without a primary key, unindexed foreign keys, XID / multixact wraparound age, sequences near their maximum; gives the SQL that fixes each (never runs it).`,
  commands: [
    'SELECT … FROM pg_index / pg_stat_all_indexes / pg_constraint  -- unused, duplicate and missing indexes, tables without a primary key',
    'SELECT … FROM pg_sequence / pg_sequences / pg_depend  -- sequence use against the owning column type',
    'SELECT datname, age(datfrozenxid), mxid_age(datminmxid) FROM pg_database  -- against autovacuum_freeze_max_age',
  ],
  impact: 'none',
  destructive: false,
  idempotent: true,
  timeoutMs: 10 * MINUTES,
  retries: 1,
  run,
});
