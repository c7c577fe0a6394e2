import type { Database } from '../../database/database.js';
import { countTables, type TableCounts } from '../../database/table-counts.js';
import { quoteIdent, quoteLiteral } from '../../database/sql.js';
import type { Target } from '../../remote/target.js';

const MAX_IDENTIFIER_BYTES = 63;

/** base + suffix within PostgreSQL's 63-byte identifier limit (it would truncate silently, maybe onto another name). */
export function nameWithSuffix(base: string, suffix: string): string {
  let kept = base;
  while (Buffer.byteLength(kept + suffix) > MAX_IDENTIFIER_BYTES) kept = kept.slice(0, -1);
  return kept + suffix;
}

/** UTC yyyymmdd_HHMMSS. */
export function utcStamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
}

export interface CreateOptions {
  /** Copy encoding, locale, database-level settings and privileges of this database. */
  like?: string;
  /** Also give it the owner of `like` (a database that replaces it); else the current user owns it. */
  sameOwner?: boolean;
}

/** CREATE DATABASE from template0 (what pg_dump output expects), shaped like another database when asked. */
export async function createDatabase(db: Database, name: string, options: CreateOptions = {}): Promise<void> {
  let clauses = 'TEMPLATE template0';
  if (options.like) {
    const [source] = await db.query<{ encoding: string; collate: string; ctype: string; owner: string; me: string }>(
      `select pg_encoding_to_char(encoding) as encoding, datcollate as collate, datctype as ctype,
              pg_get_userbyid(datdba) as owner, current_user as me
         from pg_database where datname = $1`,
      [options.like],
    );
    if (!source) throw new Error(`database ${options.like} does not exist`);
    clauses += ` ENCODING ${quoteLiteral(source.encoding)} LC_COLLATE ${quoteLiteral(source.collate)} LC_CTYPE ${quoteLiteral(source.ctype)}`;
    if (options.sameOwner && source.owner !== source.me) clauses += ` OWNER ${quoteIdent(source.owner)}`;
  }
  await db.query(`CREATE DATABASE ${quoteIdent(name)} ${clauses}`);
  if (options.like) await copyDatabaseProperties(db, options.like, name);
}

/** pg_dump without --create leaves out ALTER DATABASE ... SET and GRANT ... ON DATABASE: copy them. */
async function copyDatabaseProperties(db: Database, from: string, to: string): Promise<void> {
  const statements: string[] = [];
  const settings = await db.query<{ setting: string }>(
    `select unnest(s.setconfig) as setting
       from pg_db_role_setting s join pg_database d on d.oid = s.setdatabase
      where d.datname = $1 and s.setrole = 0`,
    [from],
  );
  for (const { setting } of settings) {
    const equals = setting.indexOf('=');
    statements.push(`ALTER DATABASE ${quoteIdent(to)} SET ${quoteIdent(setting.slice(0, equals))} = ${quoteLiteral(setting.slice(equals + 1))}`);
  }
  // A NULL datacl means the defaults (PUBLIC may connect), which the new database has already.
  const grants = await db.query<{ grantee: string | null; privilege: string; grantable: boolean }>(
    `select case when a.grantee = 0 then null else pg_get_userbyid(a.grantee) end as grantee,
            a.privilege_type as privilege, a.is_grantable as grantable
       from pg_database d, aclexplode(d.datacl) a
      where d.datname = $1 and a.grantee <> d.datdba`,
    [from],
  );
  const [acl] = await db.query<{ custom: boolean }>('select datacl is not null as custom from pg_database where datname = $1', [from]);
  if (acl?.custom) {
    statements.push(`REVOKE ALL ON DATABASE ${quoteIdent(to)} FROM PUBLIC`);
    for (const grant of grants) {
      statements.push(
        `GRANT ${grant.privilege} ON DATABASE ${quoteIdent(to)} TO ${grant.grantee === null ? 'PUBLIC' : quoteIdent(grant.grantee)}${grant.grantable ? ' WITH GRANT OPTION' : ''}`,
      );
    }
  }
  for (const statement of statements) await db.query(statement);
}

/** Drops a database even with sessions still attached (a restore killed halfway leaves some). */
export async function dropDatabase(db: Database, name: string): Promise<void> {
  await db.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

export { countTables, type TableCounts };

/** Counts tables in another database on the same server, closing the connection afterwards. */
export async function countTablesIn(db: Database, target: Target, database: string, tables: readonly string[]): Promise<TableCounts> {
  const other = await db.openOther(database, target);
  try {
    return await countTables(other, tables);
  } finally {
    await other.close();
  }
}
