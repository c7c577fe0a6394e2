import { escapeHtml } from './html-charts.js';
import { text as markdownText } from './md.js';

/**
 * Every form a secret can take in a report: as is, JSON-escaped, HTML-escaped, Markdown-escaped, and each
 * long line of a multi-line secret (a private key). Longest first, so a whole key is masked before its lines.
 */
export function secretForms(secrets: readonly string[]): string[] {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (!secret) continue;
    const pieces = [secret, ...secret.split(/\r?\n/).filter((line) => line.trim().length >= 8)];
    for (const piece of pieces) {
      forms.add(piece);
      forms.add(JSON.stringify(piece).slice(1, -1));
      forms.add(escapeHtml(piece));
      if (!piece.includes('\n')) forms.add(markdownText(piece));
    }
  }
  return [...forms].filter(Boolean).sort((a, b) => b.length - a.length);
}

/** Replaces every occurrence of every form of every secret with ***. */
export function maskText(value: string, forms: readonly string[]): string {
  let masked = value;
  for (const form of forms) if (masked.includes(form)) masked = masked.split(form).join('***');
  return masked;
}

/** Masks every string inside a JSON-like value (keys included); Dates and functions are left as they are. */
export function maskValue<T>(value: T, forms: readonly string[]): T {
  if (forms.length === 0) return value;
  const walk = (item: unknown): unknown => {
    if (typeof item === 'string') return maskText(item, forms);
    if (Array.isArray(item)) return item.map(walk);
    if (item && typeof item === 'object' && Object.getPrototypeOf(item) === Object.prototype) {
      return Object.fromEntries(Object.entries(item).map(([key, entry]) => [maskText(key, forms), walk(entry)]));
    }
    return item;
  };
  return walk(value) as T;
}
