/** Parses "90", "90s", "15m", "2h", "1h30m", "500ms" into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const pattern = /(\d+)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (const match of trimmed.matchAll(pattern)) {
    const value = Number(match[1]);
    const unit = match[2];
    total += value * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit as 'ms' | 's' | 'm' | 'h' | 'd'];
    matched += match[0].length;
  }
  if (trimmed.length === 0 || matched !== trimmed.length) return undefined;
  return total;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  const rest = Math.round(seconds % 60);
  if (minutes < 60) return rest ? `${minutes} min ${rest} s` : `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min`;
}
