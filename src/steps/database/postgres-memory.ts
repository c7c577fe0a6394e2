import { quote } from '../../remote/shell.js';

/**
 * The memory PostgreSQL may really use: the memory limit of the postmaster's cgroup (a container's limit, a
 * systemd MemoryMax=), else the host's MemTotal. The runbook sized shared_buffers from `free -m` on the host,
 * which inside a 4 GiB container on a 64 GiB host asks for 16 GiB of buffers and gets the server OOM-killed.
 */
export interface PostgresMemory {
  bytes: number;
  source: 'config' | 'cgroup-v1' | 'cgroup-v2' | 'host';
  hostMemTotalBytes?: number;
  postmasterPid?: number;
  pidFrom?: PidSource;
  /** The cgroup whose limit applies (the lowest limit on the way up to the root). */
  cgroup?: string;
  /** Why no cgroup limit was used, when none was. */
  note?: string;
}

type PidSource = 'postmaster.pid' | 'backend parent' | 'pgrep';

const NO_LIMIT = 2 ** 62;

/**
 * One POSIX-sh round trip. Finds the postmaster: the first line of <data-directory>/postmaster.pid, else the parent
 * of this session's backend, else the oldest `postgres` process; each candidate must be a `postgres` process here
 * (a containerised server writes pids of its own namespace). Prints MemTotal, the pid, and every memory limit on
 * its cgroup's way to the root, for v1 (memory.limit_in_bytes) and v2 (memory.max), found through mountinfo.
 */
export function postgresMemoryScript(dataDirectory: string | undefined, backendPid: number | undefined): string {
  return `export LC_ALL=C
datadir=${quote(dataDirectory ?? '')}; backend=${backendPid ?? ''}
awk '/^MemTotal:/ { printf "memtotal\\t%.0f\\n", $2 * 1024 }' /proc/meminfo
is_postgres() { case $(cat "/proc/$1/comm" 2>/dev/null) in postgres|postmaster) return 0 ;; esac; return 1; }
pid=; from=
if [ -n "$datadir" ] && [ -r "$datadir/postmaster.pid" ]; then
  candidate=$(head -n 1 -- "$datadir/postmaster.pid")
  is_postgres "$candidate" && { pid=$candidate; from=postmaster.pid; }
fi
if [ -z "$pid" ] && [ -n "$backend" ] && is_postgres "$backend"; then
  parent=$(awk '/^PPid:/ { print $2 }' "/proc/$backend/status" 2>/dev/null)
  [ -n "$parent" ] && is_postgres "$parent" && { pid=$parent; from='backend parent'; }
fi
if [ -z "$pid" ] && command -v pgrep >/dev/null 2>&1; then
  candidate=$(pgrep -o -x postgres)
  [ -n "$candidate" ] && { pid=$candidate; from=pgrep; }
fi
[ -n "$pid" ] && [ -r "/proc/$pid/cgroup" ] || exit 0
printf 'pid\\t%s\\t%s\\n' "$pid" "$from"
limits() {
  kind=$1; root=$2; mountpoint=$3; rel=$4; file=$5
  # A cgroup file system mounted from a sub-tree (inside a container) shows paths below its root.
  if [ "$root" != / ]; then case $rel in "$root"|"$root"/*) rel=\${rel#"$root"} ;; esac; fi
  while :; do
    [ -r "$mountpoint$rel/$file" ] && printf 'limit\\t%s\\t%s\\t%s\\n' "$kind" "\${rel:-/}" "$(cat "$mountpoint$rel/$file")"
    case $rel in ''|/) break ;; esac
    rel=\${rel%/*}
  done
}
v1=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { sub(/^[^:]*:[^:]*:/, ""); print; exit }' "/proc/$pid/cgroup")
v2=$(awk -F: '$1 == "0" && $2 == "" { sub(/^[^:]*:[^:]*:/, ""); print; exit }' "/proc/$pid/cgroup")
awk '{ for (i = 7; i <= NF && $i != "-"; i++); fs = $(i + 1); opts = "," $(i + 3) ",";
       if (fs == "cgroup" && opts ~ /,memory,/) print "v1", $4, $5; else if (fs == "cgroup2") print "v2", $4, $5 }' /proc/self/mountinfo |
while read -r kind root mountpoint; do
  if [ "$kind" = v1 ] && [ -n "$v1" ]; then limits v1 "$root" "$mountpoint" "$v1" memory.limit_in_bytes; fi
  if [ "$kind" = v2 ] && [ -n "$v2" ]; then limits v2 "$root" "$mountpoint" "$v2" memory.max; fi
done
`;
}

/** Reads the script's output. `configured` (database.tune.memory-limit) wins over anything detected. */
export function parsePostgresMemory(output: string, configured: number | undefined): PostgresMemory {
  let memTotal: number | undefined;
  let pid: number | undefined;
  let pidFrom: PidSource | undefined;
  let lowest: { bytes: number; kind: 'v1' | 'v2'; cgroup: string } | undefined;
  for (const line of output.split('\n')) {
    const [key, ...fields] = line.split('\t');
    if (key === 'memtotal') memTotal = Number(fields[0]) || undefined;
    if (key === 'pid') {
      pid = Number(fields[0]) || undefined;
      pidFrom = fields[1] as PidSource;
    }
    if (key === 'limit') {
      const [kind, cgroup = '/', value = ''] = fields;
      // No limit: v2 writes "max", v1 a page-rounded 2^63 - 1.
      const bytes = /^\d+$/.test(value.trim()) ? Number(value.trim()) : undefined;
      if (bytes !== undefined && bytes > 0 && bytes < NO_LIMIT && (!lowest || bytes < lowest.bytes))
        lowest = { bytes, kind: kind === 'v2' ? 'v2' : 'v1', cgroup };
    }
  }
  const found = { ...(memTotal ? { hostMemTotalBytes: memTotal } : {}), ...(pid ? { postmasterPid: pid, pidFrom } : {}) };
  if (configured !== undefined) return { bytes: configured, source: 'config', ...found };
  if (!memTotal) throw new Error('could not read MemTotal from /proc/meminfo on the host');
  if (lowest && lowest.bytes < memTotal)
    return { bytes: lowest.bytes, source: lowest.kind === 'v2' ? 'cgroup-v2' : 'cgroup-v1', cgroup: lowest.cgroup, ...found };
  const note = !pid
    ? 'no PostgreSQL server process found on this host (is the database on another machine? set database.tune.memory-limit)'
    : lowest
      ? `the postmaster's cgroup limit (${lowest.cgroup}) is above the host's memory`
      : "the postmaster's cgroup sets no memory limit";
  return { bytes: memTotal, source: 'host', note, ...found };
}
