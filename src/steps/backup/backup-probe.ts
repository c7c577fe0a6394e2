import { quote } from '../../remote/shell.js';
import { RemoteCommandError, type Target } from '../../remote/target.js';
import type { BackupRecord } from '../step.js';

export type BackupFormat = BackupRecord['format'];

export interface BackupFileProbe {
  path: string;
  sizeBytes: number;
  /** Modification time, epoch seconds (host clock). */
  mtime: number;
  format: BackupFormat;
  integrity: { ok: boolean; detail: string };
  checksum: { state: 'ok' | 'mismatch' | 'missing' | 'skipped'; expected?: string; actual?: string };
}

export interface DiskProbe {
  path: string;
  sizeBytes: number;
  usedBytes: number;
  availBytes: number;
  /** Like df's Use%: used / (used + available), rounded up. */
  usedPercent: number;
}

export interface BackupProbe {
  dir: string;
  pattern: string;
  dirExists: boolean;
  /** Host clock, epoch seconds. */
  now: number;
  /** Files matching the pattern (sidecars and temp files excluded). */
  candidates: number;
  /** The newest candidate, or the file asked for; undefined when there is none. */
  file?: BackupFileProbe;
  disks: DiskProbe[];
}

export interface ProbeRequest {
  dir: string;
  pattern: string;
  /** Inspect this file instead of the newest one in dir. */
  path?: string;
  checksum: boolean;
  /** Read the whole archive (a truncated custom dump passes `pg_restore --list`, whose TOC is at its head). */
  deep: boolean;
  /** false: only find the file and its size (no integrity or checksum reads). Default true. */
  inspect?: boolean;
  /** Also report free space of these paths (beside the backup dir). */
  diskPaths?: string[];
}

/** Not backups: sha256 sidecars and the temp names backup.fresh writes before renaming. */
const NOT_A_BACKUP = ['*.sha256', '*.partial', '*.tmp'];

/**
 * One POSIX-sh script (one round trip) that finds the newest backup by mtime, checks its integrity and
 * checksum, measures free disk, and prints one JSON object. It always exits 0 once it has printed: every
 * finding is in the JSON, none is lost to `set -e`.
 */
function backupProbeScript(request: ProbeRequest): string {
  const disks = [request.dir, ...(request.diskPaths ?? [])].map(quote).join(' ');
  return `
set -u
dir=${quote(request.dir)}; pattern=${quote(request.pattern)}; want=${quote(request.path ?? '')}
checksum=${request.checksum ? 1 : 0}; deep=${request.deep ? 1 : 0}; inspect=${request.inspect === false ? 0 : 1}
work=$(mktemp -d) || exit 70
trap 'rm -rf -- "$work"' EXIT
trap 'exit 143' HUP INT TERM
js() { printf '"%s"' "$(printf '%s' "$1" | tr '\\001-\\037' ' ' | sed 's/\\\\/\\\\\\\\/g; s/"/\\\\"/g')"; }
errtext() { tail -c 600 "$work/err" 2>/dev/null | tr '\\n' ' '; }
dir_exists=false; [ -d "$dir" ] && dir_exists=true
count=0; newest=; newest_m=-1
if [ -n "$want" ]; then
  [ -e "$want" ] && { newest=$want; count=1; }
elif [ "$dir_exists" = true ]; then
  IFS=
  for f in "$dir"/$pattern; do
    case $f in ${NOT_A_BACKUP.join('|')}) continue ;; esac
    [ -f "$f" ] || continue
    m=$(stat -c %Y -- "$f" 2>/dev/null) || continue
    count=$((count + 1))
    if [ "$m" -gt "$newest_m" ]; then newest=$f; newest_m=$m; fi
  done
  unset IFS
fi
printf '{"dir":%s,"pattern":%s,"dirExists":%s,"now":%s,"candidates":%s,"disks":[' "$(js "$dir")" "$(js "$pattern")" "$dir_exists" "$(date +%s)" "$count"
sep=
for d in ${disks}; do
  [ -e "$d" ] || continue
  line=$(df -Pk -- "$d" 2>/dev/null | awk 'NR == 2 { print $2, $3, $4 }')
  [ -n "$line" ] || continue
  set -- $line
  printf '%s{"path":%s,"sizeBytes":%s,"usedBytes":%s,"availBytes":%s}' "$sep" "$(js "$d")" "$(($1 * 1024))" "$(($2 * 1024))" "$(($3 * 1024))"
  sep=,
done
printf ']'
if [ -n "$newest" ]; then
  f=$newest
  size=$(stat -c %s -- "$f"); mtime=$(stat -c %Y -- "$f")
  if [ "$(head -c 5 -- "$f")" = PGDMP ]; then format=custom
  elif [ "$(od -An -tx1 -N2 -- "$f" | tr -d ' \\n')" = 1f8b ]; then format=plain-gz
  else format=plain; fi
  ok=true; detail="not inspected"
  [ "$inspect" = 1 ] && case $format in
    custom)
      if ! pg_restore --list "$f" >/dev/null 2>"$work/err"; then ok=false; detail="pg_restore --list failed: $(errtext)"
      elif [ "$deep" = 1 ] && ! pg_restore -f /dev/null "$f" 2>"$work/err"; then ok=false; detail="pg_restore could not read the whole archive: $(errtext)"
      else detail="pg_restore read the archive"; fi ;;
    plain-gz)
      (gzip -dc -- "$f" 2>"$work/err"; echo $? >"$work/rc") | tail -c 1024 >"$work/tail"
      if [ "$(cat "$work/rc")" != 0 ]; then ok=false; detail="gzip -t failed: $(errtext)"
      elif ! grep -q 'dump complete' "$work/tail"; then ok=false; detail="the SQL ends without pg_dump's 'dump complete' trailer: the dump was cut short"
      else detail="gzip stream intact, SQL ends with pg_dump's trailer"; fi ;;
    plain)
      if tail -c 1024 -- "$f" | grep -q 'dump complete'; then detail="SQL ends with pg_dump's trailer"
      else ok=false; detail="the SQL ends without pg_dump's 'dump complete' trailer: the dump was cut short"; fi ;;
  esac
  state=skipped; expected=; actual=
  if [ "$checksum" = 1 ] && [ "$inspect" = 1 ]; then
    actual=$(sha256sum <"$f" | awk '{ print $1 }')
    if [ -f "$f.sha256" ]; then
      expected=$(awk 'NR == 1 { print tolower($1) }' "$f.sha256")
      if [ -n "$actual" ] && [ "$expected" = "$actual" ]; then state=ok; else state=mismatch; fi
    else state=missing; fi
  fi
  printf ',"file":{"path":%s,"sizeBytes":%s,"mtime":%s,"format":"%s","integrity":{"ok":%s,"detail":%s},"checksum":{"state":"%s","expected":%s,"actual":%s}}' \\
    "$(js "$f")" "$size" "$mtime" "$format" "$ok" "$(js "$detail")" "$state" "$(js "$expected")" "$(js "$actual")"
fi
printf '}\\n'
`;
}

/** Runs the probe on the host and parses its JSON. */
export async function probeBackups(target: Target, request: ProbeRequest, signal?: AbortSignal): Promise<BackupProbe> {
  const result = await target.exec(backupProbeScript(request), { timeoutMs: 3_600_000, signal });
  if (result.code !== 0) throw new RemoteCommandError(target.description, `inspecting backups in ${request.dir}`, result);
  let raw: BackupProbe & { disks: Omit<DiskProbe, 'usedPercent'>[] };
  try {
    raw = JSON.parse(result.stdout.trim()) as typeof raw;
  } catch {
    throw new Error(`inspecting backups in ${request.dir} on ${target.description} printed no JSON: ${result.stdout.slice(-300)} ${result.stderr.slice(-300)}`);
  }
  const disks = raw.disks.map((disk) => ({
    ...disk,
    usedPercent: disk.usedBytes + disk.availBytes > 0 ? Math.ceil((disk.usedBytes * 100) / (disk.usedBytes + disk.availBytes)) : 0,
  }));
  const file = raw.file && {
    ...raw.file,
    checksum: {
      state: raw.file.checksum.state,
      ...(raw.file.checksum.expected ? { expected: raw.file.checksum.expected } : {}),
      ...(raw.file.checksum.actual ? { actual: raw.file.checksum.actual } : {}),
    },
  };
  return { ...raw, disks, file };
}

/** What is wrong with the file's checksum, if anything (only when checksums are checked). */
export function checksumProblem(file: BackupFileProbe): string | undefined {
  if (file.checksum.state === 'missing') return `${file.path}: no checksum sidecar ${file.path}.sha256 (set backups.checksum: false if your backups have none)`;
  if (file.checksum.state === 'mismatch') {
    return `${file.path}: sha256 ${file.checksum.actual || '(unreadable)'} does not match ${file.path}.sha256 (${file.checksum.expected || 'empty'})`;
  }
  return undefined;
}

/** Why a probed file cannot serve as a rollback point (empty when it can). */
export function backupProblems(file: BackupFileProbe): string[] {
  const checksum = checksumProblem(file);
  return [...(file.integrity.ok ? [] : [`${file.path}: ${file.integrity.detail}`]), ...(checksum ? [checksum] : [])];
}

/** The facts record for a probed file. */
export function backupRecord(file: BackupFileProbe, kind: BackupRecord['kind']): BackupRecord {
  return {
    path: file.path,
    ...(file.checksum.state === 'ok' ? { sha256: file.checksum.actual } : {}),
    format: file.format,
    sizeBytes: file.sizeBytes,
    createdAt: new Date(file.mtime * 1000).toISOString(),
    kind,
  };
}
