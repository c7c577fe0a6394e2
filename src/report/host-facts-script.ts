import { quote } from '../remote/shell.js';
import type { MaintenanceConfig } from '../settings/config.js';
import { COMPOSE_DETECT, composeArgs, environmentPrelude } from '../steps/services/service-manager.js';

/** Lines read from the end of the access log: enough for busy sites, bounded for huge logs. */
export const ACTIVITY_TAIL_LINES = 200_000;
export const HOST_FACTS_END = 'host-facts-end';

/**
 * Each section prints `key<TAB>field<TAB>…` lines; TypeScript parses them (no jq on hosts). A failing section
 * prints its error under its key and an exit code, and the script goes on.
 */
const HELPERS = String.raw`export LC_ALL=C
bounded() { if command -v timeout >/dev/null 2>&1; then timeout 30 "$@"; else "$@"; fi; }
section() { key=$1; shift; out=$("$@" 2>&1); rc=$?; printf '%s\n' "$out" | tail -n 500 | awk -v k="$key" 'NF { print k "\t" $0 }'; printf '%s-exit\t%s\n' "$key" "$rc"; }
`;

const SYSTEM = String.raw`printf 'hostname\t%s\n' "$(hostname 2>/dev/null || cat /etc/hostname 2>/dev/null)"
printf 'kernel\t%s\n' "$(uname -sr 2>/dev/null)"
printf 'cpus\t%s\n' "$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null)"
printf 'now\t%s\n' "$(date +%s)"
[ -r /proc/uptime ] && awk '{ print "uptime\t" $1 }' /proc/uptime
[ -r /proc/loadavg ] && awk '{ print "load\t" $1 "\t" $2 "\t" $3 }' /proc/loadavg
[ -r /proc/meminfo ] && awk '/^(MemTotal|MemAvailable|SwapTotal|SwapFree):/ { sub(":", "", $1); print "mem\t" $1 "\t" $2 }' /proc/meminfo
df -P -T -B1 2>/dev/null | awk 'NR > 1 { mount = $7; for (i = 8; i <= NF; i++) mount = mount " " $i; print "disk\t" $1 "\t" $2 "\t" $3 "\t" $4 "\t" $5 "\t" mount }'
`;

function backupSection(config: MaintenanceConfig): string {
  const dir = quote(config.backups.dir);
  // Checksum sidecars match the pattern too; they are not backups.
  const find = `find ${dir} -maxdepth 1 -type f -name ${quote(config.backups.pattern)} ! -name '*.sha256' ! -name '*.sha512' ! -name '*.md5' ! -name '*.tmp' -printf '%T@\\t%s\\t%p\\n'`;
  return `if [ -d ${dir} ]; then ${find} 2>/dev/null | sort -rn | awk '{ if (NR == 1) print "backup\\t" $0 } END { print "backup-count\\t" NR }'; else printf 'backup-missing\\n'; fi\n`;
}

function dockerSection(config: MaintenanceConfig): string {
  const prelude = environmentPrelude(config.services.environment);
  return String.raw`if command -v docker >/dev/null 2>&1; then
  printf 'docker-present\n'
  (
    ${prelude}
    section docker-df bounded docker system df --format '{{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}'
    section docker-ps bounded docker ps -a --format '{{.ID}}\t{{.Names}}\t{{.Image}}\t{{.State}}\t{{.Status}}'
    if [ -n "$(bounded docker ps -q 2>/dev/null)" ]; then
      section docker-stats bounded docker stats --no-stream --format '{{.ID}}\t{{.CPUPerc}}\t{{.MemUsage}}'
    fi
  )
fi
`;
}

function serviceSection(config: MaintenanceConfig): string {
  const services = config.services;
  const apps = services.app.map(quote).join(' ');
  const cd = services.projectDir ? `cd ${quote(services.projectDir)} && ` : '';
  const prelude = environmentPrelude(services.environment);
  switch (services.manager) {
    case 'compose':
      return `service_status() { ${cd}${prelude}${COMPOSE_DETECT}compose${composeArgs(config)} ps ${apps}; }\nsection service service_status\n`;
    case 'systemd':
      return `service_status() { systemctl is-active ${apps}; }\nsection service service_status\n`;
    case 'command':
      return `service_status() { ( ${cd}${prelude}${services.statusCommand} ); }\nsection service service_status\n`;
    case 'none':
      return '';
  }
}

// Counts requests in the last `win` seconds by each line's own time stamp: Common Log Format
// ([28/Nov/2026:02:13:01 +0000]) or ISO 8601. Epochs computed in awk (mawk has no mktime).
const ACTIVITY_AWK = String.raw`
function days(y, m, d,   era, yoe, doy) {
  y -= (m <= 2); era = int((y >= 0 ? y : y - 399) / 400); yoe = y - era * 400
  doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  return era * 146097 + yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy - 719468
}
BEGIN { split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", names, " "); for (i = 1; i <= 12; i++) month[names[i]] = i; cutoff = now - win }
{
  scanned++; t = -1
  if (match($0, /\[[0-9][0-9]\/[A-Z][a-z][a-z]\/[0-9][0-9][0-9][0-9]:[0-9][0-9]:[0-9][0-9]:[0-9][0-9] [-+][0-9][0-9][0-9][0-9]\]/)) {
    s = substr($0, RSTART + 1, RLENGTH - 2)
    off = (substr(s, 23, 2) * 3600 + substr(s, 25, 2) * 60) * (substr(s, 22, 1) == "-" ? -1 : 1)
    t = days(substr(s, 8, 4) + 0, month[substr(s, 4, 3)], substr(s, 1, 2) + 0) * 86400 + substr(s, 13, 2) * 3600 + substr(s, 16, 2) * 60 + substr(s, 19, 2) - off
  } else if (match($0, /[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][T ][0-9][0-9]:[0-9][0-9]:[0-9][0-9]/)) {
    s = substr($0, RSTART, RLENGTH)
    t = days(substr(s, 1, 4) + 0, substr(s, 6, 2) + 0, substr(s, 9, 2) + 0) * 86400 + substr(s, 12, 2) * 3600 + substr(s, 15, 2) * 60 + substr(s, 18, 2)
  }
  if (t < 0) { unparsed++; next }
  if (t > last) last = t
  if (t < cutoff) next
  requests++
  if (match($0, /" 5[0-9][0-9] /)) errors++
}
END { printf "activity\t%d\t%d\t%d\t%d\t%d\n", requests, errors, last, scanned, unparsed }
`;

function activitySection(config: MaintenanceConfig): string {
  const log = config.activity.accessLog;
  if (!log) return '';
  const windowSeconds = Math.round(config.activity.windowMs / 1000);
  return `if [ -r ${quote(log)} ]; then tail -n ${ACTIVITY_TAIL_LINES} ${quote(log)} | awk -v now="$(date +%s)" -v win=${windowSeconds} ${quote(ACTIVITY_AWK)}; else printf 'activity-missing\\n'; fi\n`;
}

/** The one remote script of a snapshot: every host fact in one SSH round trip. */
export function hostFactsScript(config: MaintenanceConfig): string {
  return [
    HELPERS,
    SYSTEM,
    backupSection(config),
    dockerSection(config),
    serviceSection(config),
    activitySection(config),
    `printf '${HOST_FACTS_END}\\n'\n`,
  ].join('');
}
