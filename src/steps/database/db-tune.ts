import type { Database } from '../../database/database.js';
import { quoteIdent, quoteLiteral } from '../../database/sql.js';
import { formatBytes } from '../../report/human-size.js';
import { RemoteCommandError } from '../../remote/target.js';
import { MINUTES, type Finding, type StepContext, type StepFactory, type StepOutcome } from '../step.js';
import { parsePostgresMemory, postgresMemoryScript, type PostgresMemory } from './postgres-memory.js';
import { differs, isFarOff, recommend, settingBytes, type Recommendation } from './tune-rules.js';

/** In previousSettings: the setting was not in postgresql.auto.conf; ALTER SYSTEM's own word for removing it. */
export const NOT_SET_BY_ALTER_SYSTEM = 'DEFAULT';
/** Set on the postgres command line (-c) or by the environment: ALTER SYSTEM cannot override them. */
const UNCHANGEABLE_SOURCES = new Set(['command line', 'environment variable']);
const RELOAD_WAIT_MS = 5_000;

interface ServerSetting {
  name: string;
  setting: string;
  unit: string | null;
  context: string;
  source: string;
  pending_restart: boolean;
}

export interface SettingReport {
  name: string;
  current: string;
  recommended: string;
  rule: string;
  /** PostgreSQL needs a restart to take it (context postmaster). */
  restart: boolean;
  farOff: boolean;
  source: string;
}

/** The settings recommend() covers. */
const TUNED = recommend({ memoryBytes: 1024 ** 3, maxConnections: 100, parallelWorkersPerGather: 2, storage: 'ssd' }).map((entry) => entry.name);

async function serverSettings(db: Pick<Database, 'query'>, names: string[]): Promise<Map<string, ServerSetting>> {
  const rows = await db.query<ServerSetting & Record<string, unknown>>(
    'select name, setting, unit, context, source, pending_restart from pg_settings where name = any($1)',
    [names],
  );
  return new Map(rows.map((row) => [row.name, row]));
}

const shown = (setting: ServerSetting) => {
  const bytes = settingBytes(setting.setting, setting.unit);
  return bytes === undefined ? setting.setting : formatBytes(bytes);
};
const currentValue = (setting: ServerSetting) => settingBytes(setting.setting, setting.unit) ?? Number(setting.setting);

/** Holds one session so this backend's parent can be looked up on the host while it lives. */
async function measure(ctx: StepContext, db: Database): Promise<{ memory: PostgresMemory; settings: Map<string, ServerSetting> }> {
  return db.withSession(async (session) => {
    const [backend] = await session.query<{ pid: number }>('select pg_backend_pid() as pid');
    const script = postgresMemoryScript(ctx.config.database.dataDirectory, backend?.pid);
    const result = await ctx.target.exec(script, { timeoutMs: 60_000, signal: ctx.signal });
    if (result.code !== 0) throw new RemoteCommandError(ctx.target.description, 'finding the memory limit of the PostgreSQL server', result);
    const memory = parsePostgresMemory(result.stdout, ctx.config.database.tune.memoryLimitBytes);
    const settings = await serverSettings(session, [...TUNED, 'max_connections', 'max_parallel_workers_per_gather']);
    return { memory, settings };
  });
}

function memoryText(memory: PostgresMemory): string {
  const size = formatBytes(memory.bytes);
  const host = memory.hostMemTotalBytes ? `host ${formatBytes(memory.hostMemTotalBytes)}` : '';
  switch (memory.source) {
    case 'config':
      return `${size} (database.tune.memory-limit${host ? `; ${host}` : ''})`;
    case 'host':
      return `${size} (the host's MemTotal: ${memory.note})`;
    default:
      return `${size} (${memory.source} limit of ${memory.cgroup}, postmaster pid ${memory.postmasterPid} from ${memory.pidFrom}; ${host})`;
  }
}

function findingsFor(reports: SettingReport[], memory: PostgresMemory, sharedBuffers: number | undefined): Finding[] {
  const findings: Finding[] = [];
  if (sharedBuffers !== undefined && sharedBuffers >= memory.bytes) {
    findings.push({
      severity: 'critical',
      title: 'shared_buffers is as large as all the memory PostgreSQL may use',
      evidence: `shared_buffers ${formatBytes(sharedBuffers)}, memory ${memoryText(memory)}`,
      action: 'Lower shared_buffers (see the recommendation) before load gets the server OOM-killed.',
    });
  }
  const far = reports.filter((report) => report.farOff);
  if (far.length) {
    findings.push({
      severity: 'warning',
      title: `${far.length} memory setting(s) far from the recommendation`,
      evidence: far.map((report) => `${report.name} ${report.current} → ${report.recommended} (${report.rule})`).join('; '),
      action: 'Apply them (database.tune.apply: true, or ALTER SYSTEM by hand); settings marked restart take effect at the next PostgreSQL restart.',
    });
  }
  const other = reports.filter((report) => !report.farOff && report.current !== report.recommended);
  if (other.length) {
    findings.push({
      severity: 'info',
      title: `${other.length} setting(s) differ from the recommendation`,
      evidence: other.map((report) => `${report.name} ${report.current} → ${report.recommended}`).join('; '),
    });
  }
  return findings;
}

/** Values in postgresql.auto.conf now (the last line of each name wins), for the rollback. */
async function alterSystemValues(db: Database, names: string[]): Promise<Record<string, string>> {
  const rows = await db.query<{ name: string; setting: string }>(
    `select name, setting from pg_file_settings
      where sourcefile like '%/postgresql.auto.conf' and name = any($1) and error is null order by seqno`,
    [names],
  );
  const values: Record<string, string> = Object.fromEntries(names.map((name) => [name, NOT_SET_BY_ALTER_SYSTEM]));
  for (const row of rows) values[row.name] = row.setting;
  return values;
}

/**
 * pg_reload_conf(), then the settings as a session sees them once it has re-read the files (backends do so
 * between statements, after the postmaster signals them: pg_conf_load_time() says when).
 */
async function reload(db: Database, names: string[]): Promise<Map<string, ServerSetting>> {
  return db.withSession(async (session) => {
    const [signalled] = await session.query<{ at: string }>('select clock_timestamp()::text as at, pg_reload_conf()');
    const deadline = Date.now() + RELOAD_WAIT_MS;
    for (;;) {
      const [state] = await session.query<{ loaded: boolean }>('select pg_conf_load_time() >= $1::timestamptz as loaded', [signalled!.at]);
      if (state?.loaded || Date.now() > deadline) return serverSettings(session, names);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
}

async function apply(ctx: StepContext, db: Database, changes: Recommendation[]): Promise<{ settings: Map<string, ServerSetting>; notTaken: string[] }> {
  const names = changes.map((entry) => entry.name);
  // An earlier attempt of this window may have changed some already: what it recorded is the real previous value.
  const previous = { ...(await alterSystemValues(db, names)), ...ctx.facts.previousSettings };
  await ctx.saveFacts({ previousSettings: previous });
  for (const change of changes) {
    ctx.log.info(`ALTER SYSTEM SET ${change.name} = ${change.value}`);
    await db.query(`ALTER SYSTEM SET ${quoteIdent(change.name)} = ${quoteLiteral(change.value)}`);
  }
  const settings = await reload(db, names);
  const notTaken = changes
    .filter((entry) => settings.get(entry.name)?.context !== 'postmaster' && differs(entry, currentValue(settings.get(entry.name)!)))
    .map((entry) => entry.name);
  return { settings, notTaken };
}

async function run(ctx: StepContext): Promise<StepOutcome> {
  const { tune } = ctx.config.database;
  const db = await ctx.db();
  const { memory, settings } = await measure(ctx, db);
  const maxConnections = Number(settings.get('max_connections')?.setting ?? 100);
  const parallelWorkersPerGather = Number(settings.get('max_parallel_workers_per_gather')?.setting ?? 2);
  const recommendations = recommend({ memoryBytes: memory.bytes, maxConnections, parallelWorkersPerGather, storage: tune.storage });
  const known = recommendations.filter((entry) => settings.has(entry.name));
  const reports: SettingReport[] = known.map((entry) => {
    const setting = settings.get(entry.name)!;
    const current = currentValue(setting);
    return {
      name: entry.name,
      current: shown(setting),
      recommended: entry.kind === 'number' ? entry.value : formatBytes(entry.target),
      rule: entry.rule,
      restart: setting.context === 'postmaster',
      farOff: isFarOff(entry, current),
      source: setting.source,
    };
  });
  const sharedBuffers = settings.get('shared_buffers');
  const findings = findingsFor(reports, memory, sharedBuffers && currentValue(sharedBuffers));
  const details: Record<string, unknown> = { memory, settings: reports, apply: tune.apply };
  const metrics: Record<string, number> = { memoryBytes: memory.bytes, settingsFarOff: reports.filter((report) => report.farOff).length };
  const changes = known.filter((entry) => differs(entry, currentValue(settings.get(entry.name)!)));
  metrics.settingsDiffering = changes.length;
  const status = () => (findings.some((finding) => finding.severity !== 'info') ? 'warning' : 'succeeded');

  if (!tune.apply || changes.length === 0) {
    const summary = changes.length
      ? `${changes.length} of ${known.length} settings differ from the recommendation for ${memoryText(memory)}; reported only (database.tune.apply is off)`
      : `all ${known.length} settings match the recommendation for ${memoryText(memory)}`;
    return { status: status(), summary, metrics, details, findings };
  }

  const [role] = await db.query<{ superuser: boolean; name: string }>(
    'select rolsuper as superuser, current_user as name from pg_roles where rolname = current_user',
  );
  if (!role?.superuser) {
    return {
      status: 'failed',
      summary: `database.tune.apply is on, but ${role?.name ?? ctx.config.database.user} is not a superuser: ALTER SYSTEM, pg_file_settings and pg_reload_conf() need one; nothing was changed`,
      metrics,
      details,
      findings: [
        ...findings,
        { severity: 'warning', title: 'Settings not applied', action: 'Connect as a superuser (database.user) or apply the recommendations by hand.' },
      ],
    };
  }
  const fixed = changes.filter((entry) => UNCHANGEABLE_SOURCES.has(settings.get(entry.name)!.source));
  if (fixed.length) {
    findings.push({
      severity: 'warning',
      title: 'Settings fixed on the PostgreSQL command line',
      evidence: fixed.map((entry) => `${entry.name} (${settings.get(entry.name)!.source})`).join(', '),
      action: 'ALTER SYSTEM cannot override -c options or the environment: change them where the server is started (compose command, unit file).',
    });
  }
  const applicable = changes.filter((entry) => !fixed.includes(entry));
  if (applicable.length === 0) {
    return {
      status: status(),
      summary: `nothing ALTER SYSTEM can change: ${fixed.map((entry) => entry.name).join(', ')} are fixed where PostgreSQL starts`,
      metrics,
      details,
      findings,
    };
  }
  const after = await apply(ctx, db, applicable);
  const restart = applicable.filter((entry) => after.settings.get(entry.name)?.context === 'postmaster');
  const reloaded = applicable.filter((entry) => !restart.includes(entry) && !after.notTaken.includes(entry.name));
  details.applied = applicable.map((entry) => ({ name: entry.name, value: entry.value }));
  details.pendingRestart = restart.map((entry) => entry.name);
  details.previousSettings = ctx.facts.previousSettings;
  Object.assign(metrics, { settingsApplied: applicable.length, settingsReloaded: reloaded.length, settingsPendingRestart: restart.length });
  if (restart.length) {
    findings.push({
      severity: 'warning',
      title: 'Apply at the next restart of PostgreSQL',
      evidence: restart.map((entry) => `${entry.name} = ${entry.value} (now ${shown(settings.get(entry.name)!)})`).join('; '),
      action: 'Written to postgresql.auto.conf; they take effect when PostgreSQL restarts. Restart it in a window that allows downtime; this step does not.',
    });
  }
  if (after.notTaken.length) {
    findings.push({
      severity: 'warning',
      title: 'Reloaded settings did not take effect',
      evidence: after.notTaken.join(', '),
      action: 'A per-database or per-role setting (ALTER DATABASE / ROLE ... SET) may override them; check pg_db_role_setting.',
    });
  }
  return {
    status: status(),
    summary: `applied ${applicable.length} setting(s) for ${memoryText(memory)}: ${reloaded.length} in effect after pg_reload_conf()${restart.length ? `, ${restart.length} at the next restart (${restart.map((entry) => entry.name).join(', ')})` : ''}`,
    metrics,
    details,
    findings,
  };
}

/** Rollback of db.tune: puts back what postgresql.auto.conf held for each changed setting, then reloads. */
export async function restorePreviousSettings(ctx: StepContext): Promise<StepOutcome> {
  const previous = ctx.facts.previousSettings;
  if (!previous || Object.keys(previous).length === 0) return { status: 'skipped', summary: 'db.tune recorded no previous settings in this window' };
  const db = await ctx.db();
  for (const [name, value] of Object.entries(previous)) {
    const statement =
      value === NOT_SET_BY_ALTER_SYSTEM ? `ALTER SYSTEM RESET ${quoteIdent(name)}` : `ALTER SYSTEM SET ${quoteIdent(name)} = ${quoteLiteral(value)}`;
    ctx.log.info(statement);
    await db.query(statement);
  }
  const settings = await reload(db, Object.keys(previous));
  const restart = [...settings.values()].filter((setting) => setting.pending_restart).map((setting) => setting.name);
  return {
    status: restart.length ? 'warning' : 'succeeded',
    summary: `restored ${Object.keys(previous).length} setting(s) in postgresql.auto.conf and reloaded${restart.length ? `; ${restart.join(', ')} still wait(s) for a restart of PostgreSQL` : ''}`,
    details: { previousSettings: previous, pendingRestart: restart },
  };
}

export const dbTune: StepFactory = (config) => {
  const { apply: applying, storage, memoryLimitBytes } = config.database.tune;
  const memory = memoryLimitBytes
    ? `database.tune.memory-limit ${formatBytes(memoryLimitBytes)}`
    : "the postmaster's cgroup memory limit (/proc/<pid>/cgroup → memory.max or memory.limit_in_bytes), else MemTotal";
  return {
    id: 'db.tune',
    title: 'PostgreSQL configuration tuning',
    description: `recommends memory, WAL and planner settings (pgtune rules, ${storage}) from ${memory}; ${applying ? 'applies them with ALTER SYSTEM and pg_reload_conf(), listing those that need a restart' : 'reports only (database.tune.apply is off)'}`,
    commands: [
      `# memory PostgreSQL may use: ${memory}`,
      `SELECT name, setting, unit, context, source FROM pg_settings WHERE name IN (${TUNED.join(', ')}, max_connections, max_parallel_workers_per_gather)`,
      ...(applying
        ? [
            "SELECT name, setting FROM pg_file_settings WHERE sourcefile LIKE '%/postgresql.auto.conf'  -- kept for the rollback",
            'ALTER SYSTEM SET <setting> = <recommended>  -- each setting that differs',
            'SELECT pg_reload_conf()',
          ]
        : []),
    ],
    impact: applying ? 'degraded' : 'none',
    destructive: applying,
    idempotent: true,
    timeoutMs: 10 * MINUTES,
    retries: 0,
    run,
  };
};
