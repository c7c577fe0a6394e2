import { quote } from './shell.js';

export const READ_MISSING_EXIT = 44;

export function readFileScript(path: string): string {
  return `if [ -e ${quote(path)} ]; then cat -- ${quote(path)}; else exit ${READ_MISSING_EXIT}; fi`;
}

/** Temp file in the same directory, fsync'd, then renamed over the target: readers see old or new, never half. */
export function atomicWriteScript(path: string, mode: number): string {
  const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) || '/' : '.';
  const octal = mode.toString(8);
  return [
    `mkdir -p -- ${quote(dir)}`,
    `tmp=${quote(path)}.tmp.$$`,
    `umask 077`,
    `cat > "$tmp"`,
    `chmod ${octal} "$tmp"`,
    `(sync -- "$tmp" 2>/dev/null || sync)`,
    `mv -f -- "$tmp" ${quote(path)}`,
  ].join(' && ');
}
