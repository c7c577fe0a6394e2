import { commandLine, quote } from '../../remote/shell.js';
import { MINUTES, type Finding, type StepContext, type StepFactory, type StepOutcome } from '../step.js';
import { compareVersions, lifecycle, postgresMajor, POSTGRES_EOL, type EolTable, type Lifecycle } from './postgres-eol.js';
import { splitSections } from './probe-sections.js';
import { NODE_EOL, parseRuntimeVersions, PYTHON_EOL, type RuntimeVersion } from './runtime-eol.js';

/** Containers looked into at most (each costs a `docker exec`). */
const MAX_CONTAINERS = 20;
/** Port for the throwaway new server pg_upgrade --check starts. */
const CHECK_PORT = 50432;

const RUNTIMES = `python3 --version 2>&1; node --version 2>&1`;

/** One round trip: host runtimes, installed pg_upgrade binaries, and the runtimes inside each running container. */
export const VERSIONS_SCRIPT = `echo '@@host'
${RUNTIMES}
echo '@@pg_upgrade'
ls -d /usr/lib/postgresql/*/bin/pg_upgrade /usr/pgsql-*/bin/pg_upgrade 2>/dev/null
if command -v docker >/dev/null 2>&1; then
  if command -v timeout >/dev/null 2>&1; then limit='timeout 20'; else limit=''; fi
  for c in $(docker ps --format '{{.Names}}' 2>/dev/null | head -n ${MAX_CONTAINERS}); do
    echo "@@container $c"
    $limit docker exec "$c" sh -c ${quote(RUNTIMES)} 2>&1
  done
fi
true`;

export interface RuntimeFound extends RuntimeVersion {
  /** 'host' or 'container <name>'. */
  where: string;
}

export interface PgUpgradeBinary {
  major: string;
  path: string;
  bindir: string;
}

export interface VersionsProbe {
  runtimes: RuntimeFound[];
  containers: string[];
  pgUpgrade: PgUpgradeBinary[];
}

/** Reads the script's @@ sections. */
export function parseVersionsProbe(stdout: string): VersionsProbe {
  const probe: VersionsProbe = { runtimes: [], containers: [], pgUpgrade: [] };
  for (const { header, body } of splitSections(stdout)) {
    if (header === 'host') probe.runtimes.push(...parseRuntimeVersions(body).map((found) => ({ ...found, where: 'host' })));
    if (header.startsWith('container ')) {
      probe.containers.push(header.slice('container '.length));
      probe.runtimes.push(...parseRuntimeVersions(body).map((found) => ({ ...found, where: header })));
    }
    if (header === 'pg_upgrade') {
      for (const path of body
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean)) {
        const major = /\/(?:postgresql\/|pgsql-)(\d+(?:\.\d+)?)\/bin\/pg_upgrade$/.exec(path)?.[1];
        if (major) probe.pgUpgrade.push({ major, path, bindir: path.slice(0, -'/pg_upgrade'.length) });
      }
    }
  }
  return probe;
}

function tableNote(table: EolTable): string {
  return `EOL table written ${table.writtenOn} from the ${table.source}`;
}

/** A warning within a year of the end of life, critical past it; an info when the table does not know the line. */
export function lifecycleFinding(state: Lifecycle, table: EolTable, subject: string, evidence: string, action: string | undefined): Finding | undefined {
  const withTable = `${evidence}; ${tableNote(table)}`;
  switch (state.state) {
    case 'supported':
      return undefined;
    case 'unknown':
      return { severity: 'info', title: `${subject} is not in the end-of-life table`, evidence: withTable, action: `Look it up in the ${table.source}.` };
    case 'ended':
      return {
        severity: 'critical',
        title: `${subject} is past its end of life${state.eol ? ` (${state.eol})` : ''}: no more security fixes`,
        evidence: withTable,
        action,
      };
    case 'ending':
      return { severity: 'warning', title: `${subject} reaches its end of life on ${state.eol} (${state.daysLeft} days)`, evidence: withTable, action };
  }
}

function upgradeAdvice(state: Lifecycle): string | undefined {
  if (!state.upgradeTo) return undefined;
  return `Upgrade to ${state.product} ${state.upgradeTo.version} (supported until ${state.upgradeTo.eol}).`;
}

function postgresUpgradeAction(state: Lifecycle, binariesInstalled: boolean): string | undefined {
  const target = state.upgradeTo;
  if (!target) return undefined;
  const how = binariesInstalled
    ? 'check it first with the pg_upgrade --check commands of the finding below'
    : `install the PostgreSQL ${target.version} server binaries next to ${state.version} and run pg_upgrade --check, or rehearse a dump / restore into ${target.version} from this window's backup`;
  return `Plan the upgrade to PostgreSQL ${target.version} (supported until ${target.eol}): ${how}; then upgrade in a downtime window.`;
}

export interface ClusterFacts {
  major: string;
  port: number;
  dataDirectory?: string;
  encoding: string;
  collate: string;
  ctype: string;
}

/**
 * The exact commands, run as the postgres OS user, that check an upgrade to `to` without performing it: a
 * throwaway new cluster with the old one's encoding and locale, then `pg_upgrade --check` (read-only on the old
 * cluster, which may stay running), then the throwaway cluster is removed.
 */
export function pgUpgradeCheckCommands(
  cluster: ClusterFacts,
  oldBindir: string | undefined,
  to: PgUpgradeBinary,
  checkDir = `/var/tmp/pg${to.major}-upgrade-check`,
): string[] {
  return [
    commandLine(`${to.bindir}/initdb`, ['-D', checkDir, '--no-sync', '-E', cluster.encoding, `--lc-collate=${cluster.collate}`, `--lc-ctype=${cluster.ctype}`]),
    `cd /var/tmp && ${commandLine(`${to.bindir}/pg_upgrade`, ['--check', '-b', oldBindir ?? '<old bindir>', '-B', to.bindir, '-d', cluster.dataDirectory ?? '<data directory>', '-D', checkDir, '-p', cluster.port, '-P', CHECK_PORT])}`,
    `rm -rf ${quote(checkDir)}`,
  ];
}

/** initdb && pg_upgrade --check; the throwaway cluster is removed whatever the check said. */
export function checkScript([initdb, check, cleanup]: string[]): string {
  return `${initdb} && ${check}; ${cleanup}`;
}

/** Findings for pg_upgrade binaries of newer majors found on the host: the check an operator can run next. */
export function pgUpgradeFindings(cluster: ClusterFacts, binaries: PgUpgradeBinary[]): Finding[] {
  const newer = binaries.filter((binary) => compareVersions(binary.major, cluster.major) > 0).sort((a, b) => compareVersions(b.major, a.major));
  const oldBindir = binaries.find((binary) => binary.major === cluster.major)?.bindir;
  return newer.slice(0, 1).map((to) => ({
    severity: 'info' as const,
    title: `PostgreSQL ${to.major}'s pg_upgrade is installed: the upgrade from ${cluster.major} can be checked`,
    evidence: `${to.path}${
      newer.length > 1
        ? ` (also: ${newer
            .slice(1)
            .map((binary) => binary.major)
            .join(', ')})`
        : ''
    }; not run by this window: it needs a new cluster initialised next to the old one${cluster.dataDirectory ? '' : ', and the data directory (set database.data-directory)'}${oldBindir ? '' : ', and the old bindir'}`,
    action: `As the postgres OS user, in a quiet hour (about a minute; the old cluster keeps running): ${checkScript(pgUpgradeCheckCommands(cluster, oldBindir, to))}`,
  }));
}

type ServerRow = {
  num: number;
  version: string;
  encoding: string;
  collate: string;
  ctype: string;
  data_directory: string | null;
};

const SERVER_SQL = `
SELECT current_setting('server_version_num')::int AS num, current_setting('server_version') AS version,
       pg_encoding_to_char(d.encoding) AS encoding, d.datcollate AS collate, d.datctype AS ctype,
       (SELECT setting FROM pg_settings WHERE name = 'data_directory') AS data_directory
FROM pg_database d WHERE d.datname = 'template1'`;

const TABLES: Record<RuntimeVersion['runtime'], EolTable> = { python: PYTHON_EOL, node: NODE_EOL };

async function run(ctx: StepContext): Promise<StepOutcome> {
  const now = ctx.now();
  const db = await ctx.db();
  const [server, probed] = await Promise.all([
    db.query<ServerRow>(SERVER_SQL).then((rows) => rows[0]!),
    ctx.target.exec(ctx.services.prelude + VERSIONS_SCRIPT, { timeoutMs: 5 * MINUTES, signal: ctx.signal }),
  ]);
  if (probed.code !== 0)
    throw new Error(
      `the versions probe on ${ctx.target.description} failed (exit code ${probed.code ?? probed.signal}): ${probed.stderr.trim().split('\n').slice(-3).join(' ')}`,
    );
  const probe = parseVersionsProbe(probed.stdout);

  const major = postgresMajor(server.num);
  const postgres = lifecycle(POSTGRES_EOL, major, now);
  const cluster: ClusterFacts = {
    major,
    port: ctx.config.database.port,
    dataDirectory: ctx.config.database.dataDirectory ?? server.data_directory ?? undefined,
    encoding: server.encoding,
    collate: server.collate,
    ctype: server.ctype,
  };
  const upgradeChecks = pgUpgradeFindings(cluster, probe.pgUpgrade);
  const findings: Finding[] = [];
  const postgresFinding = lifecycleFinding(
    postgres,
    POSTGRES_EOL,
    `PostgreSQL ${major}`,
    `the server runs ${server.version}`,
    postgresUpgradeAction(postgres, upgradeChecks.length > 0),
  );
  if (postgresFinding) findings.push(postgresFinding);
  findings.push(...upgradeChecks);

  const runtimes = probe.runtimes.map((found) => ({ ...found, lifecycle: lifecycle(TABLES[found.runtime], found.line, now) }));
  for (const runtime of runtimes) {
    const subject = `${runtime.lifecycle.product} ${runtime.line}${runtime.where === 'host' ? ' on the host' : ` in ${runtime.where}`}`;
    const finding = lifecycleFinding(
      runtime.lifecycle,
      TABLES[runtime.runtime],
      subject,
      `${runtime.where} runs ${runtime.lifecycle.product} ${runtime.full}`,
      upgradeAdvice(runtime.lifecycle),
    );
    if (finding) findings.push(finding);
  }

  const described = runtimes.map((runtime) => `${runtime.runtime === 'python' ? 'Python' : 'Node.js'} ${runtime.full} (${runtime.where})`);
  const postgresText = `PostgreSQL ${server.version} (${postgres.eol ? `EOL ${postgres.eol}` : postgres.state === 'ended' ? 'older than the EOL table: ended' : 'not in the EOL table'})`;
  return {
    status: findings.some((finding) => finding.severity !== 'info') ? 'warning' : 'succeeded',
    summary: `${postgresText}; ${described.length ? described.join(', ') : 'no Python or Node.js found'}${probe.containers.length ? ` in ${probe.containers.length} container(s) and the host` : ' on the host'}`,
    metrics: {
      postgresVersionNum: server.num,
      ...(postgres.daysLeft !== undefined ? { postgresDaysToEol: postgres.daysLeft } : {}),
      runtimes: runtimes.length,
      runtimesPastEol: runtimes.filter((runtime) => runtime.lifecycle.state === 'ended').length,
      containersInspected: probe.containers.length,
    },
    details: {
      postgres: { serverVersion: server.version, versionNum: server.num, ...postgres },
      cluster,
      runtimes,
      containers: probe.containers,
      pgUpgrade: probe.pgUpgrade,
      eolTables: [POSTGRES_EOL, PYTHON_EOL, NODE_EOL].map(({ product, writtenOn, source }) => ({ product, writtenOn, source })),
    },
    findings,
  };
}

export const versionsReview: StepFactory = () => ({
  id: 'versions.review',
  title: 'Version upgrade review',
  description: `Compares the PostgreSQL server and the Python / Node.js runtimes on the host and in its containers with end-of-life tables dated ${POSTGRES_EOL.writtenOn}; plans upgrades (never performs one).`,
  commands: ["SELECT current_setting('server_version_num'), … FROM pg_database WHERE datname = 'template1'", VERSIONS_SCRIPT],
  impact: 'none',
  destructive: false,
  idempotent: true,
  timeoutMs: 10 * MINUTES,
  retries: 1,
  run,
});
