/** Replaces every occurrence of each secret (and its lines, for multi-line keys) with ***. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let masked = text;
  for (const secret of secrets) {
    if (!secret) continue;
    const pieces = secret.includes('\n') ? [secret, ...secret.split('\n').filter((line) => line.trim().length >= 8)] : [secret];
    for (const piece of pieces) masked = masked.split(piece).join('***');
  }
  return masked;
}

/** Masks secrets in every string of a JSON-like value. */
export function maskDeep<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  return JSON.parse(maskSecrets(JSON.stringify(value), secrets.map((s) => JSON.stringify(s).slice(1, -1)))) as T;
}
