const UNIT_BYTES: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  pb: 1e15,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
  pib: 1024 ** 5,
};

/** Docker's human sizes ("1.2GB" decimal, "12.5MiB" binary, "0B", "500MB (40%)", "2.1e+06B") → bytes; undefined when not a size ≥ 0. */
export function parseHumanSize(text: string): number | undefined {
  const match = /^\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*([a-z]*)\b/i.exec(text);
  if (!match) return undefined;
  const factor = UNIT_BYTES[(match[2] || 'b').toLowerCase()];
  const value = Number(match[1]);
  if (factor === undefined || !Number.isFinite(value) || value < 0) return undefined;
  return Math.round(value * factor);
}

/** Bytes for people: 1.5 GiB, 312 MiB, 0 B. */
export function formatBytes(bytes: number): string {
  const sign = bytes < 0 ? '-' : '';
  let value = Math.abs(bytes);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${sign}${value.toFixed(digits)} ${units[unit]}`;
}

/** A signed change for before/after tables: +1.2 MiB, −300 KiB, ±0 B. */
export function formatBytesDelta(bytes: number): string {
  if (bytes === 0) return '±0 B';
  return bytes > 0 ? `+${formatBytes(bytes)}` : `−${formatBytes(-bytes)}`;
}

/** Durations for people: 850 ms, 12.3 s, 4m 05s, 2h 03m, 44d 0h. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 3600)
    return totalSeconds % 60 === 0 ? `${totalSeconds / 60}m` : `${Math.floor(totalSeconds / 60)}m ${String(totalSeconds % 60).padStart(2, '0')}s`;
  const minutes = Math.floor(totalSeconds / 60);
  if (minutes >= 48 * 60) return `${Math.floor(minutes / 1440)}d ${Math.floor((minutes % 1440) / 60)}h`;
  return minutes % 60 === 0 ? `${minutes / 60}h` : `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}
