import type { Database } from '../database/database.js';
import { quoteQualified } from '../database/sql.js';

/** Exact row counts of the integrity tables, in one statement; a missing table counts -1. */
export async function countIntegrityTables(db: Database, tables: readonly string[]): Promise<Record<string, number>> {
  if (tables.length === 0) return {};
  // to_regclass folds unquoted names to lower case: hand it the quoted form so MixedCase tables are found.
  const existing = await db.query<{ name: string }>(
    `select name from unnest($1::text[], $2::text[]) as t(name, quoted) where to_regclass(quoted) is not null`,
    [tables, tables.map(quoteQualified)],
  );
  const present = new Set(existing.map((row) => row.name));
  const counts: Record<string, number> = {};
  const selects = tables.filter((table) => present.has(table)).map((table, index) => `(select count(*) from ${quoteQualified(table)}) as c${index}`);
  if (selects.length > 0) {
    const [row] = await db.query<Record<string, string>>(`select ${selects.join(', ')}`);
    tables.filter((table) => present.has(table)).forEach((table, index) => (counts[table] = Number(row[`c${index}`])));
  }
  for (const table of tables) if (!present.has(table)) counts[table] = -1;
  return counts;
}
