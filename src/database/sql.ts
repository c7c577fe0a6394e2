/** Quotes an identifier the way PostgreSQL's own tools do (double quotes, doubled inside). */
export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw new Error('an identifier cannot contain NUL');
  return `"${name.replace(/"/g, '""')}"`;
}

/** schema.table → "schema"."table"; a bare name stays unqualified. */
export function quoteQualified(name: string): string {
  const dot = name.indexOf('.');
  return dot < 0 ? quoteIdent(name) : `${quoteIdent(name.slice(0, dot))}.${quoteIdent(name.slice(dot + 1))}`;
}

/** A string literal (for statements that take no parameters, such as SET). */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('a literal cannot contain NUL');
  const escaped = value.replace(/'/g, "''");
  return value.includes('\\') ? ` E'${escaped.replace(/\\/g, '\\\\')}'`.trim() : `'${escaped}'`;
}
