import { quote } from '../../remote/shell.js';

/** What the archive script did to one file (one tab-separated line of its output each). */
export type ArchiveEvent =
  | { kind: 'compressed'; source: string; archive: string; sourceBytes: number; archiveBytes: number }
  | { kind: 'deleted'; archive: string; bytes: number }
  | { kind: 'changed'; source: string }
  | { kind: 'failed'; path: string; detail: string }
  | { kind: 'missing-dir'; path: string };

export interface AppLogPolicy {
  dirs: string[];
  archiveDir: string;
  compressAfterDays: number;
  deleteAfterDays: number;
}

/**
 * One script for all app logs: `*.log` files older than compressAfterDays (by mtime, on the host's clock) are
 * gzipped into the archive dir under their path relative to their log dir, keeping their mtime; an existing archive
 * is never overwritten (the new one gets the log's mtime in its name, then a counter); the source is removed only
 * after the archive is complete, synced, and the source did not change meanwhile. Then `*.gz` archives older than
 * deleteAfterDays are deleted.
 */
export function archiveAppLogsScript(policy: AppLogPolicy): string {
  const compressMinutes = policy.compressAfterDays * 1440;
  const deleteMinutes = policy.deleteAfterDays * 1440;
  return `set -u
archive=${quote(policy.archiveDir)}
report() { (IFS='\t'; printf '%s\\n' "$*"); }
free_name() {
  candidate="$1.gz"; [ -e "$candidate" ] || { printf '%s' "$candidate"; return; }
  stamped="$1.$(date -u -r "$2" +%Y%m%dT%H%M%SZ)"; candidate="$stamped.gz"; i=1
  while [ -e "$candidate" ]; do candidate="$stamped.$i.gz"; i=$((i + 1)); done
  printf '%s' "$candidate"
}
compress_one() {
  base=$1 src=$2
  before=$(stat -c %s:%Y "$src") || { report failed "$src" "cannot stat"; return; }
  rel=\${src#"$base"/}
  mkdir -p "$archive/$(dirname "$rel")" || { report failed "$src" "cannot create $archive/$(dirname "$rel")"; return; }
  tmp="$archive/$rel.gz.tmp.$$"
  if ! gzip -c -- "$src" > "$tmp"; then rm -f "$tmp"; report failed "$src" "gzip failed"; return; fi
  touch -r "$src" "$tmp"
  [ "$(stat -c %s:%Y "$src")" = "$before" ] || { rm -f "$tmp"; report changed "$src"; return; }
  dest=$(free_name "$archive/$rel" "$src")
  # ln refuses an existing name: a name taken since free_name is retried, never overwritten.
  until ln "$tmp" "$dest" 2>/dev/null; do
    [ -e "$dest" ] || { rm -f "$tmp"; report failed "$src" "cannot create $dest"; return; }
    dest=$(free_name "$archive/$rel" "$src")
  done
  rm -f "$tmp"
  sync "$dest" 2>/dev/null || sync
  rm -f -- "$src" && report compressed "$src" "$dest" "\${before%%:*}" "$(stat -c %s "$dest")"
}
mkdir -p "$archive" || { report failed "$archive" "cannot create the archive dir"; exit 0; }
archive=$(cd "$archive" && pwd -P)
for dir in ${policy.dirs.map(quote).join(' ')}; do
  [ -d "$dir" ] || { report missing-dir "$dir"; continue; }
  base=$(cd "$dir" && pwd -P)
  find "$base" -path "$archive" -prune -o -type f -name '*.log' -mmin +${compressMinutes} -print | while IFS= read -r src; do compress_one "$base" "$src"; done
done
find "$archive" -type f -name '*.gz' -mmin +${deleteMinutes} -print | while IFS= read -r old; do
  bytes=$(stat -c %s "$old") && rm -f -- "$old" && report deleted "$old" "$bytes"
done
`;
}

export function parseArchiveEvents(stdout: string): ArchiveEvent[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .flatMap((line): ArchiveEvent[] => {
      const [kind, a = '', b = '', c = '', d = ''] = line.split('\t');
      switch (kind) {
        case 'compressed':
          return [{ kind, source: a, archive: b, sourceBytes: Number(c), archiveBytes: Number(d) }];
        case 'deleted':
          return [{ kind, archive: a, bytes: Number(b) }];
        case 'changed':
          return [{ kind, source: a }];
        case 'failed':
          return [{ kind, path: a, detail: b }];
        case 'missing-dir':
          return [{ kind, path: a }];
        default:
          return [];
      }
    });
}
