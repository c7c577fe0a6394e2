import type { Database } from '../../database/database.js';
import { quoteIdent, quoteLiteral } from '../../database/sql.js';
import { commandLine, quote } from '../../remote/shell.js';
import { MINUTES, type Finding, type StepContext, type StepFactory, type StepOutcome } from '../step.js';
import { detectPackageManager, pendingUpdates } from '../system/package-manager.js';
import { hbaFindings, parseHbaFile, withPrefix, type HbaRule } from './hba-rules.js';
import { isLoopbackAddress, LISTENERS_SCRIPT, parseProcNetTcp, parseSs, type Listener } from './listeners.js';
import { section, splitSections } from './probe-sections.js';
import { parseSshdProbe, sshdFindings, sshdScript } from './sshd-config.js';
import { summariseTrivy, trivyFinding, type ImageScan } from './trivy-report.js';

/** Files named in a finding's evidence. */
const LISTED = 20;
const TRIVY_TIMEOUT_MS = 15 * MINUTES;
/** Suggested password lifetime when security.password-expiry-required flags a role. */
const PASSWORD_LIFETIME_DAYS = 90;

const list = (items: string[]) => (items.length > LISTED ? `${items.slice(0, LISTED).join(', ')} and ${items.length - LISTED} more` : items.join(', '));

/** One round trip for everything the host can tell: sshd, listeners, containers, backup permissions, trivy. */
export function hostProbeScript(backupsDir: string): string {
  const dir = quote(backupsDir);
  return `( ${sshdScript()} )
${LISTENERS_SCRIPT}
if command -v docker >/dev/null 2>&1; then
  if ids=$(docker ps -q 2>/dev/null); then echo '@@containers'; else echo '@@docker-unavailable'; fi
  [ -n "$ids" ] && docker inspect --format '{{.Name}}|{{.Config.Image}}|{{.HostConfig.Privileged}}|{{.Config.User}}' $ids
fi
if [ -d ${dir} ]; then echo '@@backups-readable'; find ${dir} -type f -perm -004 2>/dev/null | head -n 1000; else echo '@@backups-missing'; fi
echo '@@trivy'
command -v trivy >/dev/null 2>&1 && trivy --version 2>/dev/null | head -n 1
true`;
}

export interface ContainerInfo {
  name: string;
  image: string;
  privileged: boolean;
  user: string;
}

export function parseContainers(text: string): ContainerInfo[] {
  return text
    .split('\n')
    .filter((line) => line.includes('|'))
    .map((line) => {
      const [name, image, privileged, user] = line.split('|');
      return { name: name!.replace(/^\//, ''), image: image ?? '', privileged: privileged === 'true', user: (user ?? '').trim() };
    });
}

/** No user, uid 0 or root (with or without a group): root inside the container. */
export const runsAsRoot = (container: ContainerInfo) => /^(|0|root)(:.*)?$/.test(container.user);

export function containerFindings(containers: ContainerInfo[]): Finding[] {
  const findings: Finding[] = [];
  const privileged = containers.filter((container) => container.privileged);
  if (privileged.length) {
    findings.push({
      severity: 'warning',
      title: `${privileged.length} container(s) run privileged`,
      evidence: list(privileged.map((container) => `${container.name} (${container.image})`)),
      action: 'Drop privileged: true; grant only the capabilities or devices the service needs (cap_add, devices).',
    });
  }
  const root = containers.filter(runsAsRoot);
  if (root.length) {
    findings.push({
      severity: 'warning',
      title: `${root.length} container(s) run as root`,
      evidence: `${list(root.map((container) => `${container.name} (${container.image}, user ${container.user || 'not set'})`))}; root in the container is root on the host unless user namespaces remap it`,
      action: 'Set a non-root user (USER in the Dockerfile or user: in the compose file) where the image supports it.',
    });
  }
  return findings;
}

export function listenerFinding(listeners: Listener[]): Finding | undefined {
  const open = listeners.filter((listener) => !isLoopbackAddress(listener.address));
  if (open.length === 0) return undefined;
  const shown = [
    ...new Set(
      open.map(
        (listener) =>
          `${listener.address.includes(':') ? `[${listener.address}]` : listener.address}:${listener.port}${listener.process ? ` (${listener.process})` : ''}`,
      ),
    ),
  ];
  return {
    severity: 'info',
    title: `${shown.length} TCP listener(s) reachable from other hosts`,
    evidence: list(shown),
    action: 'Check each is meant to be reachable, and that a firewall limits who may connect.',
  };
}

export function backupPermissionFinding(dir: string, readable: string[]): Finding | undefined {
  if (readable.length === 0) return undefined;
  return {
    severity: 'warning',
    title: `${readable.length} backup file(s) in ${dir} are readable by every local user`,
    evidence: list(readable),
    action: `${commandLine('chmod', ['o-rwx', dir])} && ${commandLine('find', [dir, '-type', 'f', '-perm', '-004', '-exec', 'chmod', 'o-r', '{}', '+'])}, and create backups with umask 077.`,
  };
}

type RoleRow = { name: string; superuser: boolean; login: boolean; valid_until: string | null; bootstrap: boolean };

const ROLES_SQL = `SELECT rolname AS name, rolsuper AS superuser, rolcanlogin AS login, rolvaliduntil::text AS valid_until, oid = 10 AS bootstrap
FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY rolname`;

export function roleFindings(roles: RoleRow[], expiryRequired: boolean, now: Date): Finding[] {
  const findings: Finding[] = [];
  // The bootstrap superuser (oid 10, usually postgres) is the server's own.
  for (const role of roles.filter((entry) => entry.superuser && !entry.bootstrap && entry.name !== 'postgres')) {
    findings.push({
      severity: 'warning',
      title: `role ${role.name} is a superuser`,
      evidence: `${role.name}: SUPERUSER${role.login ? ', LOGIN' : ''}; a superuser bypasses every permission and can run programs on the host (COPY … PROGRAM)`,
      action: `ALTER ROLE ${quoteIdent(role.name)} NOSUPERUSER;  -- after granting it what it really needs (ownership, CREATEDB, CREATEROLE, pg_* roles)`,
    });
  }
  if (expiryRequired) {
    const until = new Date(now.getTime() + PASSWORD_LIFETIME_DAYS * 86_400_000).toISOString().slice(0, 10);
    const forever = roles.filter((role) => role.login && !role.bootstrap && (role.valid_until === null || role.valid_until === 'infinity'));
    if (forever.length) {
      findings.push({
        severity: 'warning',
        title: `${forever.length} login role(s) have no password expiry`,
        evidence: `${list(forever.map((role) => role.name))}; security.password-expiry-required is set (VALID UNTIL applies to password authentication only)`,
        action: forever.map((role) => `ALTER ROLE ${quoteIdent(role.name)} VALID UNTIL ${quoteLiteral(until)};`).join(' '),
      });
    }
  }
  return findings;
}

/** ssl off matters when the server listens beyond loopback; on loopback only it is said, not warned. */
export function sslFinding(ssl: string, listenAddresses: string): Finding | undefined {
  if (ssl === 'on') return undefined;
  const addresses = listenAddresses
    .split(',')
    .map((address) => address.trim())
    .filter(Boolean);
  const loopbackOnly = addresses.every((address) => isLoopbackAddress(address));
  return {
    severity: loopbackOnly ? 'info' : 'warning',
    title: `PostgreSQL ssl is off${loopbackOnly ? ' (it listens on loopback only)' : ''}`,
    evidence: `ssl = ${ssl}; listen_addresses = '${listenAddresses}'${loopbackOnly ? '' : ': passwords and data cross the network in clear text'}`,
    action:
      'Set ssl = on with ssl_cert_file and ssl_key_file in postgresql.conf, SELECT pg_reload_conf(); then use hostssl lines in pg_hba.conf for remote clients.',
  };
}

interface HbaReview {
  findings: Finding[];
  source?: string;
  rules?: number;
}

const HBA_SQL = `SELECT line_number AS line, type, database AS databases, user_name AS users, address, netmask, auth_method AS method, current_setting('hba_file') AS file
FROM pg_hba_file_rules WHERE error IS NULL ORDER BY line_number`;

const isPermissionDenied = (error: unknown) => (error as { code?: string }).code === '42501';

/** pg_hba_file_rules when the role may read it (superuser), else the file over SSH, else said why not. */
async function reviewHba(ctx: StepContext, db: Database): Promise<HbaReview> {
  try {
    const rows = await db.query<{
      line: number;
      type: string;
      databases: string[];
      users: string[];
      address: string | null;
      netmask: string | null;
      method: string;
      file: string;
    }>(HBA_SQL);
    const file = rows[0]?.file ?? 'pg_hba.conf';
    const rules: HbaRule[] = rows.map((row) => withPrefix({ ...row, address: row.address ?? undefined, netmask: row.netmask ?? undefined }));
    return { findings: hbaFindings(rules, file), source: `pg_hba_file_rules (${file})`, rules: rules.length };
  } catch (error) {
    if (!isPermissionDenied(error)) throw error;
  }
  return hbaFromFile(ctx, db);
}

/** Where pg_hba.conf is: hba_file when the role may read it, else database.data-directory's. */
async function hbaPath(ctx: StepContext, db: Database): Promise<string | undefined> {
  try {
    return (await db.query<{ file: string }>("SELECT current_setting('hba_file') AS file"))[0]?.file;
  } catch (error) {
    if (!isPermissionDenied(error)) throw error;
    return ctx.config.database.dataDirectory ? `${ctx.config.database.dataDirectory}/pg_hba.conf` : undefined;
  }
}

async function hbaFromFile(ctx: StepContext, db: Database): Promise<HbaReview> {
  const user = ctx.config.database.user;
  const why = `${user} may not read pg_hba_file_rules (it needs a superuser, or EXECUTE on pg_hba_file_rules())`;
  const notReviewed = (title: string, evidence: string, action?: string): HbaReview => ({
    findings: [{ severity: 'info', title: `pg_hba.conf was not reviewed: ${title}`, evidence, action }],
  });
  const path = await hbaPath(ctx, db);
  if (!path)
    return notReviewed(
      'its path is unknown',
      `${why}, nor hba_file`,
      'Set database.data-directory (pg_hba.conf is read from it over SSH), or audit as a superuser.',
    );
  let text: string | undefined;
  try {
    text = await ctx.target.readFile(path);
  } catch (error) {
    return notReviewed(`${path} is not readable over SSH`, `${why}; ${(error as Error).message.slice(0, 300)}`);
  }
  if (text === undefined)
    return notReviewed(
      `${path} does not exist on ${ctx.target.description}`,
      `${why}; PostgreSQL may run in a container: set database.data-directory to its host path`,
    );
  const parsed = parseHbaFile(text);
  const notes: Finding[] = [{ severity: 'info', title: `pg_hba_file_rules is not readable as ${user}`, evidence: `${why}: ${path} was read over SSH instead` }];
  if (parsed.includes.length) notes.push({ severity: 'info', title: `${path} includes other files, not reviewed`, evidence: parsed.includes.join(', ') });
  return { findings: [...notes, ...hbaFindings(parsed.rules, path)], source: path, rules: parsed.rules.length };
}

async function securityUpdates(ctx: StepContext): Promise<{ findings: Finding[]; pending?: number }> {
  const manager = await detectPackageManager(ctx);
  if (!manager) return { findings: [{ severity: 'info', title: 'pending updates not checked: no known package manager (apt-get, dnf, yum, apk)' }] };
  try {
    const pending = await pendingUpdates(ctx, manager);
    const security = pending.updates.filter((update) => update.security);
    const findings: Finding[] = security.length
      ? [
          {
            severity: 'warning',
            title: `${security.length} security update(s) pending`,
            evidence: `${list(security.map((update) => update.name))} (package lists as last refreshed)`,
            action: 'Applied by system.package-updates on the tiers in updates.apply-on.',
          },
        ]
      : [];
    if (!pending.securityKnown && pending.updates.length)
      findings.push({ severity: 'info', title: `${pending.updates.length} update(s) pending; ${manager} cannot tell security updates apart` });
    return { findings, pending: security.length };
  } catch (error) {
    return { findings: [{ severity: 'info', title: 'pending updates could not be listed', evidence: (error as Error).message.slice(0, 300) }] };
  }
}

async function scanImages(ctx: StepContext, images: string[]): Promise<{ scans: ImageScan[]; findings: Finding[] }> {
  const scans: ImageScan[] = [];
  const findings: Finding[] = [];
  for (const image of images) {
    const result = await ctx.target.exec(ctx.services.prelude + commandLine('trivy', ['image', '--quiet', '--format', 'json', image]), {
      timeoutMs: TRIVY_TIMEOUT_MS,
      signal: ctx.signal,
      tailBytes: 64 * 1024 * 1024,
    });
    try {
      if (result.code !== 0) throw new Error(`exit code ${result.code ?? result.signal}: ${result.stderr.trim().split('\n').slice(-2).join(' ')}`);
      const scan = summariseTrivy(image, result.stdout);
      scans.push(scan);
      const finding = trivyFinding(scan);
      if (finding) findings.push(finding);
    } catch (error) {
      findings.push({
        severity: 'info',
        title: `trivy could not scan ${image}`,
        evidence: (error as Error).message.slice(0, 300),
        action: 'Offline hosts need a trivy database downloaded beforehand (trivy image --download-db-only).',
      });
    }
  }
  return { scans, findings };
}

async function run(ctx: StepContext): Promise<StepOutcome> {
  const { config } = ctx;
  const db = await ctx.db();
  const [probed, updates, roles, settings, hba] = await Promise.all([
    ctx.target.exec(ctx.services.prelude + hostProbeScript(config.backups.dir), { timeoutMs: 5 * MINUTES, signal: ctx.signal }),
    securityUpdates(ctx),
    db.query<RoleRow>(ROLES_SQL),
    db.query<{ ssl: string; listen: string }>("SELECT current_setting('ssl') AS ssl, current_setting('listen_addresses') AS listen"),
    reviewHba(ctx, db),
  ]);
  if (probed.code !== 0)
    throw new Error(
      `the security probe on ${ctx.target.description} failed (exit code ${probed.code ?? probed.signal}): ${probed.stderr.trim().split('\n').slice(-3).join(' ')}`,
    );
  // The parts print distinct @@ headers: one split serves them all.
  const sections = splitSections(probed.stdout);
  const sshd = parseSshdProbe(probed.stdout);
  const ss = section(sections, 'ss');
  const listeners = ss !== undefined ? parseSs(ss) : parseProcNetTcp(section(sections, 'proc') ?? '');
  const containersText = section(sections, 'containers');
  const containers = containersText === undefined ? [] : parseContainers(containersText);
  const readableBackups = (section(sections, 'backups-readable') ?? '').split('\n').filter(Boolean);
  const trivyVersion = section(sections, 'trivy')?.trim() || undefined;

  const findings: Finding[] = [];
  if ('unreadable' in sshd) findings.push({ severity: 'info', title: `sshd settings not reviewed: ${sshd.unreadable} is not readable`, evidence: sshd.note });
  else findings.push(...sshdFindings(sshd));
  findings.push(...hba.findings, ...roleFindings(roles, config.security.passwordExpiryRequired, ctx.now()));
  const ssl = sslFinding(settings[0]!.ssl, settings[0]!.listen);
  if (ssl) findings.push(ssl);
  findings.push(...updates.findings, ...containerFindings(containers));
  if (section(sections, 'docker-unavailable') !== undefined) {
    findings.push({
      severity: 'info',
      title: 'containers not reviewed: docker is installed but the engine did not answer',
      action: 'Set services.environment (e.g. DOCKER_HOST) if the engine listens elsewhere.',
    });
  }
  const backups = section(sections, 'backups-missing') !== undefined ? undefined : backupPermissionFinding(config.backups.dir, readableBackups);
  if (backups) findings.push(backups);
  const open = listenerFinding(listeners);
  if (open) findings.push(open);

  const images = [...new Set(containers.map((container) => container.image))];
  let scans: ImageScan[] = [];
  if (!trivyVersion) {
    findings.push({
      severity: 'info',
      title: 'container images were not scanned: trivy is not installed',
      action: 'Install trivy on the host to scan the app images for known vulnerabilities each quarter.',
    });
  } else if (images.length) {
    const scanned = await scanImages(ctx, images);
    scans = scanned.scans;
    findings.push(...scanned.findings);
  }

  const serious = findings.filter((finding) => finding.severity !== 'info');
  return {
    status: serious.length ? 'warning' : 'succeeded',
    summary: `${serious.filter((finding) => finding.severity === 'critical').length} critical and ${serious.filter((finding) => finding.severity === 'warning').length} warning finding(s): sshd, pg_hba.conf${hba.source ? '' : ' (not read)'}, ${roles.length} role(s), ${listeners.length} listener(s), ${containers.length} container(s), backups, ${trivyVersion ? `${scans.length} image scan(s)` : 'no trivy'}`,
    metrics: {
      critical: serious.filter((finding) => finding.severity === 'critical').length,
      warnings: serious.filter((finding) => finding.severity === 'warning').length,
      securityUpdates: updates.pending ?? 0,
      nonLoopbackListeners: listeners.filter((listener) => !isLoopbackAddress(listener.address)).length,
      containers: containers.length,
      readableBackups: readableBackups.length,
    },
    details: {
      sshd:
        'unreadable' in sshd
          ? sshd
          : {
              source: sshd.source,
              note: sshd.note,
              settings: pick(sshd.settings, ['permitrootlogin', 'passwordauthentication', 'kbdinteractiveauthentication', 'usepam', 'permitemptypasswords']),
            },
      hba: { source: hba.source, rules: hba.rules },
      listeners,
      containers,
      trivy: trivyVersion ?? null,
      imageScans: scans,
    },
    findings,
  };
}

function pick(settings: Record<string, string>, keys: string[]): Record<string, string | undefined> {
  return Object.fromEntries(keys.map((key) => [key, settings[key]]));
}

export const securityAudit: StepFactory = (config) => ({
  id: 'security.audit',
  title: 'Security audit',
  description:
    'Reviews sshd, pg_hba.conf, PostgreSQL roles and ssl, listening ports, containers (privileged / root), backup file permissions and pending security updates; scans the app images with trivy when installed. Changes nothing.',
  commands: [
    'sshd -T (as root) or cat /etc/ssh/sshd_config and its Include files',
    'ss -ltnpH (or /proc/net/tcp)',
    "docker inspect --format '{{.Name}}|{{.Config.Image}}|{{.HostConfig.Privileged}}|{{.Config.User}}' $(docker ps -q)",
    `find ${quote(config.backups.dir)} -type f -perm -004   # readable by others`,
    'apt-get -s upgrade   # or dnf check-update / updateinfo; lists are not refreshed',
    'SELECT … FROM pg_roles; SELECT … FROM pg_hba_file_rules (or pg_hba.conf over SSH); SHOW ssl',
    'trivy image --quiet --format json <image>   # per app image, when trivy is installed',
  ],
  impact: 'none',
  destructive: false,
  idempotent: true,
  timeoutMs: 60 * MINUTES,
  retries: 1,
  run,
});
