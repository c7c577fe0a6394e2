import type { Database } from './database.js';
import { quoteQualified } from './sql.js';

export interface TableCounts {
  counts: Record<string, number>;
  missing: string[];
}

/** Exact row counts of some tables in two statements, however many tables; missing tables are listed apart. */
export async function countTables(db: Database, tables: readonly string[]): Promise<TableCounts> {
  if (tables.length === 0) return { counts: {}, missing: [] };
  // to_regclass folds unquoted names to lower case: hand it the quoted form so MixedCase tables are found.
  const existing = await db.query<{ name: string }>(
    `select name from unnest($1::text[], $2::text[]) as t(name, quoted) where to_regclass(quoted) is not null`,
    [tables, tables.map(quoteQualified)],
  );
  const present = tables.filter((table) => existing.some((row) => row.name === table));
  const counts: Record<string, number> = {};
  if (present.length > 0) {
    const [row] = await db.query<Record<string, string>>(
      `select ${present.map((table, index) => `(select count(*) from ${quoteQualified(table)}) as c${index}`).join(', ')}`,
    );
    present.forEach((table, index) => (counts[table] = Number(row![`c${index}`])));
  }
  return { counts, missing: tables.filter((table) => !present.includes(table)) };
}
