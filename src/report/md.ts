/** Markdown building blocks that keep host-supplied text inert in GitHub's renderer. */

/** GitHub's limit for one step's job summary. */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024;

/**
 * Inline text: HTML specials become entities, Markdown punctuation is backslash-escaped, `@` cannot mention anyone,
 * newlines become spaces (table cells cannot hold them).
 */
export function text(value: unknown): string {
  return String(value ?? '')
    .replace(/([\\`*_[\]|~#!])/g, '\\$1')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/(^|[^A-Za-z0-9])@/g, '$1&#64;')
    .replace(/\r?\n/g, ' ');
}

/** An inline code span: backticks inside get a longer fence; pipes stay safe inside tables. */
export function code(value: unknown): string {
  const content = String(value ?? '').replace(/\r?\n/g, ' ');
  const longest = Math.max(0, ...(content.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const padded = content.startsWith('`') || content.endsWith('`') ? ` ${content} ` : content;
  return `${fence}${padded.replace(/\|/g, '\\|')}${fence}`;
}

/** A fenced block whose fence is longer than any backtick run inside. */
export function codeBlock(value: string, language = ''): string {
  const longest = Math.max(2, ...(value.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${language}\n${value.replace(/\s+$/, '')}\n${fence}`;
}

export function truncate(value: string, max: number): string {
  if (value.length <= max) return value;
  return `${value.slice(0, Math.max(0, max - 1)).trimEnd()}…`;
}

export function table(header: string[], rows: string[][], align?: ('l' | 'r' | 'c')[]): string {
  const separator = header.map((_, index) => ({ l: '---', r: '---:', c: ':---:' })[align?.[index] ?? 'l']);
  return [header, separator, ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
}

export function details(summary: string, body: string, open = false): string {
  return `<details${open ? ' open' : ''}><summary>${summary}</summary>\n\n${body}\n\n</details>`;
}

export const number = (value: number): string => value.toLocaleString('en-US');

/** 2026-11-29 02:00:04 UTC */
export function utc(iso: string | Date | undefined): string {
  if (!iso) return '—';
  const date = typeof iso === 'string' ? new Date(iso) : iso;
  if (Number.isNaN(date.getTime())) return text(String(iso));
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/**
 * Renders at decreasing detail until the text fits in `limit` bytes; as a last resort cuts at a line
 * boundary. Each shortened form says what was cut.
 */
export function fitToLimit(render: (level: number) => string, levels: number, limit: number): string {
  for (let level = 0; level < levels; level++) {
    const rendered = render(level);
    if (Buffer.byteLength(rendered) <= limit) return rendered;
  }
  const smallest = render(levels - 1);
  const note = `\n\n---\n_The report was cut here to fit the ${number(Math.floor(limit / 1024))} KiB limit; the complete report is in the artifact (report.md, report.html, window.json)._\n`;
  const budget = limit - Buffer.byteLength(note);
  const cut = Buffer.from(smallest)
    .subarray(0, budget)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  return cut.slice(0, Math.max(0, cut.lastIndexOf('\n'))) + note;
}
