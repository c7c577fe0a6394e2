import { existsSync, readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { Tiers, DEFAULT_STATE_DIR, type Tier } from '../constants.js';
import { ValidationError } from '../errors.js';
import type { CustomStepConfig, MaintenanceConfig, TierConfig } from './config.js';
import { configSchema } from './config-schema.js';
import { parseDuration } from './durations.js';
import { parseSize } from './sizes.js';

type Raw = Record<string, unknown>;

const ajv = new Ajv({ allErrors: true, strict: false });
const validateSchema = ajv.compile(configSchema);

function describeAjvError(error: ErrorObject): string {
  const key = error.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(top level)';
  switch (error.keyword) {
    case 'additionalProperties':
      return `${key === '(top level)' ? '' : key + '.'}${(error.params as { additionalProperty: string }).additionalProperty}: unknown key`;
    case 'enum':
      return `${key}: expected one of ${(error.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
    case 'pattern':
      return `${key}: value does not match the accepted form (${(error.params as { pattern: string }).pattern})`;
    case 'type':
      return `${key}: expected ${(error.params as { type: string | string[] }).type}`;
    default:
      return `${key}: ${error.message ?? error.keyword}`;
  }
}

function lineOf(doc: ReturnType<typeof parseDocument>, counter: LineCounter, error: ErrorObject): number | undefined {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
  if (error.keyword === 'additionalProperties') {
    // Point at the unknown key itself, not at its value.
    const parent = (path.length ? doc.getIn(path, true) : doc.contents) as { items?: { key: { value?: unknown; range?: [number, number] } }[] } | undefined;
    const unknown = (error.params as { additionalProperty: string }).additionalProperty;
    const pair = parent?.items?.find((item) => item.key?.value === unknown);
    if (pair?.key?.range) return counter.linePos(pair.key.range[0]).line;
  }
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

/** Reads and validates the config file; a missing optional file gives the runbook's defaults. */
export function loadConfig(file: string, options: { required: boolean }): MaintenanceConfig {
  if (!existsSync(file)) {
    if (options.required) throw new ValidationError(file, ['the config file does not exist']);
    return parseConfig('', 'defaults');
  }
  return parseConfig(readFileSync(file, 'utf8'), file);
}

/** Validates YAML text: every problem at once, each with its key path and line. */
export function parseConfig(text: string, source: string): MaintenanceConfig {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ValidationError(
      source,
      doc.errors.map((error) => `line ${error.linePos?.[0].line ?? '?'}: ${error.message.split('\n')[0]}`),
    );
  }
  const raw = (doc.toJS() ?? {}) as unknown;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ValidationError(source, ['expected a mapping of keys at the top level']);
  if (!validateSchema(raw)) {
    const problems = (validateSchema.errors ?? []).map((error) => {
      const line = lineOf(doc, counter, error);
      return `${line ? `line ${line}: ` : ''}${describeAjvError(error)}`;
    });
    throw new ValidationError(source, [...new Set(problems)]);
  }
  return buildConfig(raw as Raw, source, (path) => {
    const node = doc.getIn(path, true);
    return isNode(node) && node.range ? counter.linePos(node.range[0]).line : undefined;
  });
}

function section(raw: Raw, key: string): Raw {
  return (raw[key] as Raw | undefined) ?? {};
}

function buildConfig(raw: Raw, source: string, lineAt: (path: (string | number)[]) => number | undefined): MaintenanceConfig {
  const problems: string[] = [];
  const at = (path: (string | number)[]) => {
    const line = lineAt(path);
    return `${line ? `line ${line}: ` : ''}${path.join('.')}`;
  };
  const duration = (path: string[], fallback: string, min: number, max: number): number => {
    let node: unknown = raw;
    for (const key of path) node = (node as Raw | undefined)?.[key];
    const text = node === undefined ? fallback : String(node);
    const ms = parseDuration(text);
    if (ms === undefined || ms < min || ms > max) {
      problems.push(`${at(path)}: ${JSON.stringify(text)} is out of range (from ${min / 1000} s to ${max / 1000} s)`);
      return parseDuration(fallback)!;
    }
    return ms;
  };
  const database = section(raw, 'database');
  const services = section(raw, 'services');
  const health = section(raw, 'health');
  const backups = section(raw, 'backups');
  const logs = section(raw, 'logs');
  const activity = section(raw, 'activity');
  const tls = section(raw, 'tls');
  const window = section(raw, 'window');
  const disk = section(raw, 'disk');
  const updates = section(raw, 'updates');
  const tune = section(database, 'tune');

  const timezone = (window.timezone as string | undefined) ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    problems.push(`${at(['window', 'timezone'])}: ${JSON.stringify(timezone)} is not an IANA time zone (e.g. Europe/Berlin, UTC)`);
  }
  const start = (window.start as string | undefined) ?? '02:00';
  const end = (window.end as string | undefined) ?? '05:00';
  if (start === end) problems.push(`${at(['window', 'end'])}: the window ends when it starts (${start})`);

  const manager = (services.manager as MaintenanceConfig['services']['manager'] | undefined) ?? 'compose';
  if (manager === 'command' && (!services.start || !services.stop || !services.status)) {
    problems.push(`${at(['services', 'manager'])}: manager "command" needs services.start, services.stop and services.status`);
  }
  if (manager === 'systemd' && (services.app as string[] | undefined)?.length === 0) {
    problems.push(`${at(['services', 'app'])}: manager "systemd" needs at least one unit in services.app`);
  }
  const warnDays = (tls['warn-days'] as number | undefined) ?? 30;
  const failDays = (tls['fail-days'] as number | undefined) ?? 7;
  if (failDays >= warnDays) problems.push(`${at(['tls', 'fail-days'])}: must be less than tls.warn-days (${warnDays})`);
  const warnPercent = (disk['warn-percent'] as number | undefined) ?? 80;
  const failPercent = (disk['fail-percent'] as number | undefined) ?? 95;
  if (warnPercent >= failPercent) problems.push(`${at(['disk', 'warn-percent'])}: must be less than disk.fail-percent (${failPercent})`);
  const compressAfter = (logs['compress-after-days'] as number | undefined) ?? 7;
  const deleteAfter = (logs['delete-after-days'] as number | undefined) ?? 90;
  if (deleteAfter <= compressAfter) problems.push(`${at(['logs', 'delete-after-days'])}: must be more than logs.compress-after-days (${compressAfter})`);

  if (tune['memory-limit'] !== undefined && (parseSize(tune['memory-limit'] as string) ?? 0) < 64 * 1024 ** 2) {
    problems.push(`${at(['database', 'tune', 'memory-limit'])}: must be at least 64MB`);
  }

  const tiers = {} as Record<Tier, TierConfig>;
  for (const tier of Tiers) {
    const rawTier = (section(raw, 'tiers')[tier] as Raw | undefined) ?? {};
    const add = ((rawTier.add as Raw[] | undefined) ?? []).map((step, index): CustomStepConfig => {
      const path = ['tiers', tier, 'add', index];
      if ((step.run === undefined) === (step.sql === undefined)) problems.push(`${at(path)}: a custom step needs exactly one of run or sql`);
      const timeout = parseDuration(String(step.timeout ?? '30m'));
      if (timeout === undefined || timeout < 1000 || timeout > 24 * 3_600_000) problems.push(`${at([...path, 'timeout'])}: out of range (1 s to 24 h)`);
      return {
        id: step.id as string,
        title: (step.title as string | undefined) ?? (step.id as string),
        run: step.run as string | undefined,
        sql: step.sql as string | undefined,
        impact: (step.impact as CustomStepConfig['impact'] | undefined) ?? 'none',
        destructive: (step.destructive as boolean | undefined) ?? false,
        idempotent: (step.idempotent as boolean | undefined) ?? false,
        timeoutMs: timeout ?? 1_800_000,
        after: step.after as string | undefined,
      };
    });
    tiers[tier] = { steps: rawTier.steps as string[] | undefined, skip: (rawTier.skip as string[] | undefined) ?? [], add };
  }

  const size = (value: unknown, fallback: number) => (value === undefined ? fallback : (parseSize(value as string) ?? fallback));
  const name = (database.name as string | undefined) ?? 'ner11_db';
  const config: MaintenanceConfig = {
    source,
    database: {
      host: (database.host as string | undefined) ?? '127.0.0.1',
      port: (database.port as number | undefined) ?? 5432,
      name,
      user: (database.user as string | undefined) ?? 'postgres',
      integrityTables: (database['integrity-tables'] as string[] | undefined) ?? ['vendor_equipment', 'threat_intelligence'],
      lockTimeoutMs: duration(['database', 'lock-timeout'], '5s', 100, 600_000),
      statementTimeoutMs: duration(['database', 'statement-timeout'], '2h', 1000, 24 * 3_600_000),
      vacuumJobs: (database['vacuum-jobs'] as number | undefined) ?? 2,
      bloatThresholdPercent: (database['bloat-threshold'] as number | undefined) ?? 30,
      minRelationBytes: size(database['min-relation-size'], 1024 * 1024),
      vacuumFull: (database['vacuum-full'] as 'bloated' | 'all' | undefined) ?? 'bloated',
      vacuumFullMode: (database['vacuum-full-mode'] as 'online' | 'downtime' | undefined) ?? 'online',
      reindex: (database.reindex as 'concurrently' | 'database' | undefined) ?? 'concurrently',
      dataDirectory: database['data-directory'] as string | undefined,
      tune: {
        apply: (tune.apply as boolean | undefined) ?? false,
        memoryLimitBytes: tune['memory-limit'] === undefined ? undefined : size(tune['memory-limit'], 0),
        storage: (tune.storage as 'ssd' | 'hdd' | undefined) ?? 'ssd',
      },
    },
    services: {
      manager,
      projectDir: services['project-dir'] as string | undefined,
      composeFile: services['compose-file'] as string | undefined,
      app: (services.app as string[] | undefined) ?? (manager === 'compose' ? ['api'] : []),
      startCommand: services.start as string | undefined,
      stopCommand: services.stop as string | undefined,
      statusCommand: services.status as string | undefined,
      environment: (services.environment as Record<string, string> | undefined) ?? {},
    },
    health: {
      url: (health.url as string | undefined) ?? 'http://localhost:8000/api/v1/health',
      databaseUrl: (health['database-url'] as string | undefined) ?? 'http://localhost:8000/api/v1/db/health',
      timeoutMs: duration(['health', 'timeout'], '120s', 1000, 3_600_000),
      samples: (health.samples as number | undefined) ?? 5,
    },
    backups: {
      dir: (backups.dir as string | undefined) ?? '/backups/ner11/database',
      pattern: (backups.pattern as string | undefined) ?? `${name}_*`,
      maxAgeMs: duration(['backups', 'max-age'], '26h', 60_000, 90 * 86_400_000),
      checksum: (backups.checksum as boolean | undefined) ?? true,
    },
    logs: {
      dirs: (logs.dirs as string[] | undefined) ?? ['/var/log/ner11'],
      archiveDir: (logs['archive-dir'] as string | undefined) ?? '/var/log/ner11/archive',
      compressAfterDays: compressAfter,
      deleteAfterDays: deleteAfter,
      containerLogMaxBytes: size(logs['container-log-max'], 100 * 1024 * 1024),
    },
    activity: {
      accessLog: activity['access-log'] as string | undefined,
      windowMs: duration(['activity', 'window'], '10m', 60_000, 86_400_000),
      warnAbove: (activity['warn-above'] as number | undefined) ?? 10,
    },
    tls: { endpoints: (tls.endpoints as string[] | undefined) ?? [], files: (tls.files as string[] | undefined) ?? [], warnDays, failDays },
    window: { timezone, start, end, cutoffMs: duration(['window', 'cutoff'], '15m', 0, 12 * 3_600_000) },
    disk: { warnPercent, failPercent },
    updates: {
      securityOnly: (updates['security-only'] as boolean | undefined) ?? true,
      applyOn: (updates['apply-on'] as Tier[] | undefined) ?? ['monthly'],
    },
    dr: {
      rtoTargetMs: duration(['dr', 'rto-target'], '1h', 1000, 7 * 86_400_000),
      rpoTargetMs: duration(['dr', 'rpo-target'], '24h', 60_000, 30 * 86_400_000),
    },
    security: { passwordExpiryRequired: (section(raw, 'security')['password-expiry-required'] as boolean | undefined) ?? false },
    capacity: { warnDays: (section(raw, 'capacity')['warn-days'] as number | undefined) ?? 90 },
    perf: {
      regressionPercent: (section(raw, 'perf')['regression-percent'] as number | undefined) ?? 20,
      requests: (section(raw, 'perf').requests as number | undefined) ?? 20,
    },
    stateDir: (raw['state-dir'] as string | undefined) ?? DEFAULT_STATE_DIR,
    historyKeep: (raw['history-keep'] as number | undefined) ?? 52,
    onFailure: raw['on-failure'] as 'stop' | 'rollback' | undefined,
    tiers,
  };
  if (problems.length > 0) throw new ValidationError(source, problems);
  return config;
}
