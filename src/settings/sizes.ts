const UNITS: Record<string, number> = { '': 1, B: 1, K: 1024, KB: 1024, M: 1024 ** 2, MB: 1024 ** 2, G: 1024 ** 3, GB: 1024 ** 3 };

/** "100M", "1G", 512 → bytes; undefined when malformed. */
export function parseSize(value: string | number): number | undefined {
  const match = /^(\d+)(B|K|KB|M|MB|G|GB)?$/.exec(String(value).trim());
  if (!match) return undefined;
  return Number(match[1]) * UNITS[match[2] ?? ''];
}
