import { quote } from '../../remote/shell.js';
import type { Target } from '../../remote/target.js';

/**
 * Rotating a file another process keeps appending to, without losing a line.
 *
 * The runbook copies the log, then truncates it: every line written between the copy and the truncate is lost.
 * Here the first N bytes (already written, so they cannot change under an appending writer) are copied into a
 * gzip archive, the archive is verified and synced, and then exactly those N bytes are removed from the head of
 * the live file with `fallocate --collapse-range`, which the kernel does atomically with respect to the writer's
 * appends (O_APPEND writers, as Docker's json-file and Podman's conmon are, keep writing at the new end).
 * collapse-range needs N to be a multiple of the filesystem block size, so N is the last block boundary that
 * ends a line: both files hold whole lines. Filesystems without collapse-range (tmpfs, btrfs, overlay, NFS)
 * leave the file untouched and say so.
 */
export type LiveRotationStatus = 'rotated' | 'missing' | 'too-small' | 'no-line-boundary' | 'unsupported' | 'changed' | 'exists' | 'error';

export interface LiveRotation {
  path: string;
  archivePath: string;
  status: LiveRotationStatus;
  sizeBefore: number;
  /** Bytes moved into the archive (and removed from the head of the file). */
  archivedBytes: number;
  /** Size of the gzip archive. */
  archiveBytes: number;
  blockSize: number;
  detail?: string;
}

/** Blocks scanned for a line end first (the usual case finds one in the last few), then at most this many more. */
const NEAR_BLOCKS = 256;
const FAR_BLOCKS = 16_384;

/** The shell script that rotates one file; prints key=value lines (parsed by parseRotationReport). */
export function rotateLiveFileScript(path: string, archivePath: string): string {
  // `od -w$bs` prints one line per block: its last field is the block's last byte.
  return `set -u
f=${quote(path)}; a=${quote(archivePath)}
say() { printf '%s\\n' "$@"; }
[ -f "$f" ] || { say status=missing; exit 0; }
ino=$(stat -c %i "$f") && size=$(stat -c %s "$f") && bs=$(stat -f -c %S "$f") || { say status=error "detail=cannot stat $f"; exit 0; }
say size=$size blocksize=$bs
blocks=$((size / bs))
[ "$blocks" -gt 0 ] || { say status=too-small; exit 0; }
last_line_end() { dd if="$f" bs="$bs" skip="$1" count="$2" 2>/dev/null | od -An -v -tx1 -w"$bs" | awk '$NF == "0a" { last = NR } END { print last + 0 }'; }
start=$((blocks > ${NEAR_BLOCKS} ? blocks - ${NEAR_BLOCKS} : 0))
k=$(last_line_end "$start" $((blocks - start)))
if [ "$k" -eq 0 ] && [ "$start" -gt 0 ]; then
  far=$((start > ${FAR_BLOCKS} ? start - ${FAR_BLOCKS} : 0))
  k=$(last_line_end "$far" $((start - far))); start=$far
fi
[ "$k" -gt 0 ] || { say status=no-line-boundary; exit 0; }
n=$(((start + k) * bs))
say archived=$n
[ -e "$a" ] && { say status=exists; exit 0; }
mkdir -p "$(dirname "$a")" || { say status=error "detail=cannot create the directory of $a"; exit 0; }
tmp="$a.tmp.$$"
if ! head -c "$n" "$f" | gzip -c > "$tmp"; then rm -f "$tmp"; say status=error "detail=copying $n bytes of $f failed"; exit 0; fi
got=$(gzip -dc "$tmp" | wc -c)
[ "$got" -eq "$n" ] || { rm -f "$tmp"; say status=error "detail=the archive holds $got of $n bytes"; exit 0; }
# Never overwrite an archive: ln fails when the name exists.
ln "$tmp" "$a" 2>/dev/null || { rm -f "$tmp"; say status=exists; exit 0; }
rm -f "$tmp"
sync "$a" 2>/dev/null || sync
say archivebytes=$(stat -c %s "$a")
# Replaced or truncated meanwhile (engine restart, another rotator): leave it alone.
if [ "$(stat -c %i "$f")" != "$ino" ] || [ "$(stat -c %s "$f")" -lt "$n" ]; then rm -f "$a"; say status=changed; exit 0; fi
if ! err=$(fallocate --collapse-range --offset 0 --length "$n" "$f" 2>&1); then
  rm -f "$a"; say status=unsupported "detail=$(printf '%s' "$err" | tr '\\n' ' ')"; exit 0
fi
say status=rotated
`;
}

export function parseRotationReport(path: string, archivePath: string, stdout: string): LiveRotation {
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) values.set(line.slice(0, at), line.slice(at + 1));
  }
  const number = (key: string) => Number(values.get(key) ?? 0) || 0;
  const status = (values.get('status') ?? 'error') as LiveRotationStatus;
  return {
    path,
    archivePath,
    status,
    sizeBefore: number('size'),
    archivedBytes: status === 'rotated' ? number('archived') : 0,
    archiveBytes: status === 'rotated' ? number('archivebytes') : 0,
    blockSize: number('blocksize'),
    detail: values.get('detail') ?? (values.has('status') ? undefined : 'the rotation script printed no status'),
  };
}

/** Moves the head of a live, appended-to file into a gzip archive without losing or splitting a line. */
export async function rotateLiveFile(target: Target, path: string, archivePath: string, signal?: AbortSignal): Promise<LiveRotation> {
  const result = await target.exec(rotateLiveFileScript(path, archivePath), { timeoutMs: 30 * 60_000, signal });
  const rotation = parseRotationReport(path, archivePath, result.stdout);
  if (result.code !== 0) return { ...rotation, status: 'error', detail: `exit code ${result.code}: ${result.stderr.trim().split('\n').slice(-2).join(' ')}` };
  return rotation;
}
