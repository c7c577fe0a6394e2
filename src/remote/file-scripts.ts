import { quote } from './shell.js';

export const READ_MISSING_EXIT = 44;
export const READ_TOO_LARGE_EXIT = 45;

/** cat of the file; a file larger than maxBytes is refused up front instead of streamed only to be cut. */
export function readFileScript(path: string, maxBytes: number): string {
  const file = quote(path);
  return `if [ ! -e ${file} ]; then exit ${READ_MISSING_EXIT}; fi; if [ "$(wc -c < ${file})" -gt ${maxBytes} ]; then exit ${READ_TOO_LARGE_EXIT}; fi; cat -- ${file}`;
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
