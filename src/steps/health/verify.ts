import { MINUTES, type StepContext, type StepFactory, type StepOutcome } from '../step.js';
import { countTables } from '../backup/database-admin.js';
import { CheckList } from './check-list.js';
import { sampleResponseTimes, type ResponseTimes } from './response-time.js';

/** Slower than this many times the baseline p50 (and by more than SLOWER_MIN_MS) is worth a warning. */
const SLOWER_FACTOR = 2;
const SLOWER_MIN_MS = 50;

export interface CountChange {
  table: string;
  baseline?: number;
  post?: number;
  state: 'equal' | 'changed' | 'missing' | 'no baseline';
}

function compareWithBaseline(tables: string[], baseline: Record<string, number> | undefined, post: Record<string, number>, missing: string[]): CountChange[] {
  return tables.map((table) => {
    if (missing.includes(table)) return { table, baseline: baseline?.[table], state: 'missing' };
    const before = baseline?.[table];
    if (before === undefined) return { table, post: post[table], state: 'no baseline' };
    return { table, baseline: before, post: post[table], state: before === post[table] ? 'equal' : 'changed' };
  });
}

async function countCheck(checks: CheckList, ctx: StepContext): Promise<CountChange[] | undefined> {
  const tables = ctx.config.database.integrityTables;
  const counted = await checks.attempt('integrity tables', 'critical', async () => countTables(await ctx.db(), tables));
  if (!counted) return undefined;
  const changes = compareWithBaseline(tables, ctx.facts.baselineCounts, counted.counts, counted.missing);
  for (const change of changes) {
    const name = `rows ${change.table}`;
    if (change.state === 'missing')
      checks.add(name, false, 'critical', `table ${change.table} is missing from ${ctx.config.database.name} (baseline ${change.baseline ?? 'unknown'} rows)`);
    else if (change.state === 'no baseline') checks.add(name, true, 'info', `${change.post} rows (no baseline recorded by preflight)`);
    else if (change.state === 'changed') {
      const delta = change.post! - change.baseline!;
      // The app runs again when verify does: writes since the baseline are normal, so this is for a human to judge.
      checks.add(
        name,
        false,
        'warning',
        `${change.baseline} → ${change.post} (${delta > 0 ? '+' : ''}${delta}) since the baseline; the app was writing outside the downtime bracket`,
      );
    } else checks.add(name, true, 'critical', `${change.post} rows, equal to the baseline`);
  }
  return changes;
}

/** Judges sampled response times against the preflight baseline (p50), adding one check. */
export function responseCheck(checks: CheckList, response: ResponseTimes, baselineMs: number | undefined): void {
  if (response.ok === 0) {
    checks.add('response time', false, 'critical', `${response.url}: none of ${response.samples} requests answered 2xx (${response.errors.join(', ')})`);
    return;
  }
  const failures = response.samples - response.ok;
  const measured = `p50 ${response.p50} ms, p95 ${response.p95} ms over ${response.ok} requests${failures ? `, ${failures} failed (${response.errors.join(', ')})` : ''}`;
  if (baselineMs === undefined) {
    checks.add('response time', failures === 0, 'warning', `${measured}; no baseline to compare with`);
    return;
  }
  const slower = response.p50! > baselineMs * SLOWER_FACTOR && response.p50! - baselineMs > SLOWER_MIN_MS;
  checks.add(
    'response time',
    !slower && failures === 0,
    'warning',
    `${measured}; baseline p50 ${baselineMs} ms${slower ? ': slower than before the window' : ''}`,
  );
}

async function run(ctx: StepContext): Promise<StepOutcome> {
  const config = ctx.config;
  const checks = new CheckList();

  const status = await checks.attempt('services', 'critical', () => ctx.services.status());
  if (status) checks.add('services', status.running, 'critical', status.running ? status.detail || 'running' : `not running: ${status.detail}`);
  const health = await checks.attempt('app health', 'critical', () => ctx.services.waitHealthy(config.health.timeoutMs));
  if (health) checks.add('app health', health.healthy, 'critical', health.healthy ? `${health.detail} (after ${health.waitedMs} ms)` : health.detail);

  const counts = await countCheck(checks, ctx);

  const baselineMs = typeof ctx.facts.baselineResponseMs === 'number' ? ctx.facts.baselineResponseMs : undefined;
  const response = config.health.url
    ? await checks.attempt('response time', 'warning', () => sampleResponseTimes(ctx.target, config.health.url!, config.health.samples))
    : undefined;
  if (response) responseCheck(checks, response, baselineMs);

  const result = checks.status();
  const equal = counts?.filter((change) => change.state === 'equal').length ?? 0;
  const summary =
    result === 'failed'
      ? `verification failed: ${checks.describeFailed('critical')}`
      : result === 'warning'
        ? `services healthy, with warnings: ${checks.describeFailed('warning')}`
        : `services healthy, ${equal} integrity table${equal === 1 ? '' : 's'} equal to the baseline${response?.p50 !== undefined ? `, p50 ${response.p50} ms` : ''}`;
  return {
    status: result,
    summary,
    metrics: {
      ...(health ? { healthWaitMs: health.waitedMs } : {}),
      ...(response?.p50 !== undefined ? { responseP50Ms: response.p50, responseP95Ms: response.p95! } : {}),
      ...(baselineMs !== undefined ? { baselineResponseMs: baselineMs } : {}),
      ...Object.fromEntries((counts ?? []).filter((change) => change.post !== undefined).map((change) => [`rows ${change.table}`, change.post!])),
    },
    details: { checks: checks.checks, counts, responseTimes: response, postResponseMs: response?.p50, baselineResponseMs: baselineMs },
    findings: checks.findings({
      'app health': 'The app is not healthy after the window: check its logs; roll back if maintenance caused it.',
      'integrity tables': 'Check the database connection and the integrity tables.',
    }),
  };
}

export const verify: StepFactory = (config) => ({
  id: 'verify',
  title: 'Post-maintenance verification',
  description: 'services up, health URLs answer, integrity-table row counts against the baseline, response time against the baseline',
  commands: [
    'services status',
    [config.health.url, config.health.databaseUrl]
      .filter(Boolean)
      .map((url) => `GET ${url}`)
      .join('; ') + ' (until 2xx or the health timeout)',
    ...config.database.integrityTables.map((table) => `SELECT count(*) FROM ${table}`),
    ...(config.health.url ? [`${config.health.samples} × GET ${config.health.url} → p50 / p95`] : []),
  ],
  impact: 'none',
  destructive: false,
  idempotent: true,
  timeoutMs: 15 * MINUTES,
  retries: 0,
  run,
});
