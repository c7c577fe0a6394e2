/** Realistic window results for the report tests: built from data, deterministic (fixed clock). */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import type { Plan, PlannedStep } from '../../src/plan/plan.js';
import type { Snapshot, TableFacts } from '../../src/report/snapshot-types.js';
import type { Finding, Impact, StepDefinition } from '../../src/steps/step.js';
import type { Journal, StepRecord, StepState } from '../../src/window/journal.js';
import type { WindowResult } from '../../src/window/result.js';

export const HOST = 'deploy@db1.example.com:22';
const START = Date.parse('2026-11-29T02:00:04Z');
const at = (offsetMs: number) => new Date(START + offsetMs).toISOString();

interface StepSpec {
  id: string;
  title: string;
  phase: PlannedStep['phase'];
  impact?: Impact;
  destructive?: boolean;
  idempotent?: boolean;
  providesBackup?: 'fresh' | 'verified';
  commands?: string[];
}

const MONTHLY_STEPS: StepSpec[] = [
  {
    id: 'snapshot.baseline',
    title: 'Baseline snapshot',
    phase: 'preflight',
    commands: ['# one remote script (host facts)', 'select pg_database_size(current_database())'],
  },
  { id: 'preflight', title: 'Pre-maintenance checklist', phase: 'preflight', commands: ['df -P -B1', 'select count(*) from pg_stat_activity'] },
  {
    id: 'backup.fresh',
    title: 'Fresh backup',
    phase: 'main',
    providesBackup: 'fresh',
    commands: ['pg_dump -Fc -f /backups/ner11/database/ner11_db_20261129_020020.dump ner11_db'],
  },
  { id: 'db.vacuum-analyze', title: 'VACUUM ANALYZE', phase: 'main', commands: ['VACUUM (ANALYZE, VERBOSE) public.vendor_equipment'] },
  { id: 'docker.cleanup', title: 'Docker cleanup', phase: 'main', commands: ['docker image prune -f', 'docker builder prune -f --filter until=168h'] },
  { id: 'logs.rotate', title: 'Log rotation and archival', phase: 'main', commands: ["find /var/log/ner11 -name '*.log' -mtime +7 -exec gzip {} +"] },
  {
    id: 'backup.verify',
    title: 'Backup verification (test restore)',
    phase: 'main',
    providesBackup: 'verified',
    commands: ['pg_restore --list /backups/ner11/database/ner11_db_20261129_020020.dump'],
  },
  {
    id: 'db.vacuum-full',
    title: 'VACUUM FULL (bloated tables)',
    phase: 'main',
    impact: 'downtime',
    destructive: true,
    idempotent: true,
    commands: ['SET lock_timeout = 5000; VACUUM FULL public.threat_intelligence'],
  },
  {
    id: 'db.reindex',
    title: 'REINDEX CONCURRENTLY',
    phase: 'main',
    idempotent: false,
    commands: ['REINDEX INDEX CONCURRENTLY public.threat_intelligence_indicator_idx'],
  },
  { id: 'docker.update-images', title: 'Docker image updates', phase: 'main', impact: 'degraded', commands: ['docker compose pull', 'docker compose up -d'] },
  { id: 'system.package-updates', title: 'Security updates', phase: 'main', commands: ['apt-get -s upgrade'] },
  { id: 'tls.expiry', title: 'TLS certificate expiry', phase: 'main', commands: ['openssl s_client -connect api.example.com:443 -servername api.example.com'] },
  { id: 'capacity.review', title: 'Capacity planning', phase: 'main', commands: ['df -P -B1'] },
  { id: 'verify', title: 'Post-maintenance verification', phase: 'verify', commands: ['curl -fsS http://localhost:8000/api/v1/health'] },
  { id: 'snapshot.post', title: 'Post-maintenance snapshot', phase: 'verify', commands: ['# one remote script (host facts)'] },
];

function definition(spec: StepSpec): StepDefinition {
  return {
    id: spec.id,
    title: spec.title,
    description: `${spec.title} (fixture)`,
    commands: spec.commands ?? [],
    impact: spec.impact ?? 'none',
    destructive: spec.destructive ?? false,
    idempotent: spec.idempotent ?? true,
    timeoutMs: spec.impact === 'downtime' ? 3_600_000 : 1_800_000,
    retries: 0,
    ...(spec.providesBackup ? { providesBackup: spec.providesBackup } : {}),
    run: () => Promise.reject(new Error('fixture steps do not run')),
  };
}

export function fixturePlan(tier: Plan['tier'] = 'monthly', specs: StepSpec[] = MONTHLY_STEPS): Plan {
  return {
    tier,
    windowId: `${tier}-7311892044`,
    host: HOST,
    configSource: '.github/maintenance.yml',
    steps: specs.map((spec) => ({ step: definition(spec), phase: spec.phase, inBracket: spec.impact === 'downtime', custom: false })),
    deadline: new Date(START + (2 * 60 + 45) * 60_000),
    deadlineReason: 'window ends 05:00 UTC, minus a 15 min cutoff',
    bracketServices: ['api', 'worker'],
    warnings: [],
  };
}

const table = (name: string, totalBytes: number, deadTuples: number, rows: number): TableFacts => ({
  schema: 'public',
  name,
  totalBytes,
  heapBytes: Math.round(totalBytes * 0.7),
  indexBytes: Math.round(totalBytes * 0.3),
  rowEstimate: rows,
  liveTuples: rows,
  deadTuples,
  lastAutovacuum: '2026-11-28T21:14:03.000Z',
});

/** Byte counts are integers in a snapshot (the schema says so); the fixture writes them as GiB fractions. */
const wholeBytes = (snapshot: Snapshot): Snapshot =>
  JSON.parse(JSON.stringify(snapshot, (key, value: unknown) => (typeof value === 'number' && /bytes$/i.test(key) ? Math.round(value) : value))) as Snapshot;

export function fixtureSnapshot(kind: Snapshot['kind'], overrides: Partial<Snapshot> = {}): Snapshot {
  const after = kind === 'post';
  const MiB = 1024 * 1024;
  return wholeBytes({
    schemaVersion: 1,
    kind,
    windowId: 'monthly-7311892044',
    target: HOST,
    takenAt: at(after ? 41 * 60_000 : 2_000),
    durationMs: 1380,
    roundTrips: 4,
    httpProbes: 5,
    system: {
      hostname: 'db1',
      kernel: 'Linux 6.1.0-27-amd64',
      cpus: 4,
      uptimeSeconds: 3_801_600,
      load: [0.42, 0.37, 0.31],
      memory: { totalBytes: 16 * 1024 * MiB, availableBytes: 9 * 1024 * MiB },
    },
    disks: [
      {
        mount: '/',
        filesystem: '/dev/sda1',
        type: 'ext4',
        sizeBytes: 100 * 1024 * MiB,
        usedBytes: (after ? 61.2 : 64.9) * 1024 * MiB,
        availableBytes: (after ? 33.8 : 30.1) * 1024 * MiB,
        usedPercent: after ? 64.5 : 68.4,
      },
      {
        mount: '/backups',
        filesystem: '/dev/sdb1',
        type: 'xfs',
        sizeBytes: 500 * 1024 * MiB,
        usedBytes: (after ? 212.4 : 211.1) * 1024 * MiB,
        availableBytes: (after ? 287.6 : 288.9) * 1024 * MiB,
        usedPercent: after ? 42.5 : 42.2,
      },
    ],
    backup: {
      dir: '/backups/ner11/database',
      pattern: 'ner11_db_*',
      count: 14,
      newest: after
        ? { path: '/backups/ner11/database/ner11_db_20261129_020020.dump', sizeBytes: 1.31 * 1024 * MiB, modifiedAt: at(16_000), ageSeconds: 2446 }
        : {
            path: '/backups/ner11/database/ner11_db_20261128_030001.sql.gz',
            sizeBytes: 1.29 * 1024 * MiB,
            modifiedAt: '2026-11-28T03:00:01.000Z',
            ageSeconds: 82_803,
          },
    },
    docker: {
      space: [
        { type: 'Images', count: after ? 6 : 19, active: 4, sizeBytes: (after ? 2.1 : 5.8) * 1024 * MiB, reclaimableBytes: (after ? 0.2 : 3.9) * 1024 * MiB },
        { type: 'Containers', count: 4, active: 4, sizeBytes: 48 * MiB, reclaimableBytes: 0 },
        { type: 'Local Volumes', count: 3, active: 3, sizeBytes: 18.4 * 1024 * MiB, reclaimableBytes: 0 },
        { type: 'Build Cache', count: after ? 0 : 41, active: 0, sizeBytes: after ? 0 : 1.2 * 1024 * MiB, reclaimableBytes: after ? 0 : 1.2 * 1024 * MiB },
      ],
      totalBytes: Math.round(((after ? 2.1 : 5.8) + 18.4 + (after ? 0 : 1.2)) * 1024 * MiB + 48 * MiB),
      containers: [
        {
          name: 'ner11_api_1',
          image: 'ghcr.io/example/ner11-api:2026.11.3',
          state: 'running',
          status: 'Up 3 days',
          cpuPercent: 2.4,
          memoryBytes: 412 * MiB,
          memoryLimitBytes: 2048 * MiB,
        },
        {
          name: 'ner11_postgres_1',
          image: 'postgres:15.8',
          state: 'running',
          status: 'Up 44 days',
          cpuPercent: 6.1,
          memoryBytes: 3.1 * 1024 * MiB,
          memoryLimitBytes: 8192 * MiB,
        },
      ],
    },
    services: { manager: 'compose', running: true, detail: 'ner11_api_1   Up\nner11_worker_1   Up' },
    activity: {
      accessLog: '/var/log/nginx/access.log',
      windowSeconds: 600,
      requests: after ? 3 : 7,
      serverErrors: 0,
      lastRequestAt: at(after ? 40 * 60_000 : 1_000),
      linesScanned: 120_443,
    },
    database: {
      name: 'ner11_db',
      serverVersion: '15.8',
      sizeBytes: after ? 3.42 * 1024 * MiB : 4.87 * 1024 * MiB,
      maxConnections: 100,
      connections: [
        { state: 'active', count: 1 },
        { state: 'idle', count: after ? 6 : 9 },
      ],
      tableCount: 5,
      tables: [
        table('threat_intelligence', after ? 2.01 * 1024 * MiB : 3.12 * 1024 * MiB, after ? 0 : 4_100_000, 8_200_000),
        table('vendor_equipment', after ? 1.12 * 1024 * MiB : 1.43 * 1024 * MiB, after ? 0 : 910_000, 3_400_000),
        table('audit_log', after ? 212 * MiB : 208 * MiB, after ? 0 : 1200, 1_900_000),
        table('assets', 42 * MiB, 0, 120_000),
        table('users', 3 * MiB, after ? 0 : 12, 2_400),
      ],
      indexes: [
        {
          schema: 'public',
          table: 'threat_intelligence',
          name: 'threat_intelligence_indicator_idx',
          bytes: 380 * MiB,
          valid: true,
          unique: false,
          scans: 99_122,
        },
      ],
      integrityCounts: { vendor_equipment: 3_400_112, threat_intelligence: after ? 8_200_344 : 8_200_301 },
    },
    response: {
      url: 'http://localhost:8000/api/v1/health',
      samples: 5,
      ok: 5,
      p50Ms: after ? 38.2 : 41.7,
      p95Ms: after ? 52.9 : 88.4,
      maxMs: after ? 55.1 : 91.3,
      failures: [],
    },
    errors: [],
    ...overrides,
  });
}

interface RecordSpec {
  status: StepState;
  durationMs?: number;
  summary?: string;
  error?: string;
  findings?: Finding[];
  attempts?: number;
  metrics?: Record<string, number>;
  details?: unknown;
}

function records(plan: Plan, specs: Record<string, RecordSpec>): StepRecord[] {
  let clock = 1_000;
  return plan.steps.map(({ step, phase, inBracket }) => {
    const spec = specs[step.id] ?? { status: 'succeeded', durationMs: 4_000, summary: 'done' };
    const record: StepRecord = {
      id: step.id,
      title: step.title,
      phase,
      impact: step.impact,
      destructive: step.destructive,
      idempotent: step.idempotent,
      inBracket,
      status: spec.status,
      attempts: spec.attempts ?? (spec.status === 'not-run' || spec.status === 'deferred' ? 0 : 1),
    };
    if (spec.durationMs !== undefined) {
      record.startedAt = at(clock);
      record.durationMs = spec.durationMs;
      record.endedAt = at(clock + spec.durationMs);
      clock += spec.durationMs + 500;
    }
    if (spec.summary) record.summary = spec.summary;
    if (spec.error) record.error = spec.error;
    if (spec.findings) record.findings = spec.findings;
    if (spec.metrics) record.metrics = spec.metrics;
    if (spec.details !== undefined) record.details = spec.details;
    return record;
  });
}

function journal(plan: Plan, steps: StepRecord[], extra: Partial<Journal>): Journal {
  const last =
    steps
      .filter((step) => step.endedAt)
      .map((step) => step.endedAt!)
      .sort()
      .pop() ?? at(0);
  return {
    schemaVersion: 1,
    windowId: plan.windowId,
    tier: plan.tier,
    host: HOST,
    repository: 'example/ops',
    runId: '7311892044',
    runAttempt: 1,
    status: 'succeeded',
    startedAt: at(0),
    updatedAt: last,
    endedAt: last,
    attempts: [{ runAttempt: 1, startedAt: at(0), endedAt: last }],
    deadline: plan.deadline?.toISOString(),
    steps,
    facts: {
      backup: {
        path: '/backups/ner11/database/ner11_db_20261129_020020.dump',
        sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        format: 'custom',
        sizeBytes: 1_406_000_000,
        createdAt: at(16_000),
        kind: 'fresh',
      },
    },
    ...extra,
  };
}

const TLS_FINDING: Finding = {
  severity: 'warning',
  title: 'Certificate for api.example.com expires in 12 days',
  evidence: 'notAfter=Dec 11 08:12:44 2026 GMT, issuer CN=R11, O=Let’s Encrypt',
  action: 'Renew it (certbot renew) or check why automatic renewal did not run.',
};
const REBOOT_FINDING: Finding = {
  severity: 'warning',
  title: 'Reboot required',
  evidence: '/var/run/reboot-required lists linux-image-6.1.0-28-amd64, libc6',
  action: 'Schedule a reboot in the next window.',
};

const SUCCESS_STEPS: Record<string, RecordSpec> = {
  'snapshot.baseline': {
    status: 'succeeded',
    durationMs: 1_380,
    summary: 'ner11_db 4.87 GiB in 5 tables; / 68.4% used; newest backup 23h 00m old; p50 41.7 ms; 4 round trips',
  },
  preflight: { status: 'succeeded', durationMs: 2_210, summary: 'services up, 7 requests in 10 min (below 10), backup 23 h old, disk 68% used' },
  'backup.fresh': {
    status: 'succeeded',
    durationMs: 12_600,
    summary: 'pg_dump -Fc → ner11_db_20261129_020020.dump (1.31 GiB, sha256 e3b0c442…)',
    metrics: { sizeBytes: 1_406_000_000 },
  },
  'db.vacuum-analyze': { status: 'succeeded', durationMs: 184_000, summary: 'VACUUM ANALYZE of 5 tables: 5,011,212 dead tuples removed' },
  'docker.cleanup': { status: 'succeeded', durationMs: 9_400, summary: 'removed 13 dangling images and 41 build cache entries: 4.9 GiB reclaimed' },
  'logs.rotate': {
    status: 'succeeded',
    durationMs: 3_100,
    summary: 'compressed 8 logs older than 7 days, deleted 3 archives older than 90 days (212 MiB freed)',
  },
  'backup.verify': {
    status: 'succeeded',
    durationMs: 96_000,
    summary: 'test restore of ner11_db_20261129_020020.dump into ner11_db_restore_check: 5 tables, counts match',
  },
  'db.vacuum-full': {
    status: 'succeeded',
    durationMs: 71_000,
    summary: 'VACUUM FULL of 2 bloated tables (threat_intelligence 61%, vendor_equipment 34%): 1.42 GiB reclaimed',
  },
  'db.reindex': {
    status: 'succeeded',
    durationMs: 48_000,
    summary: 'REINDEX CONCURRENTLY of 3 bloated indexes; dropped 1 invalid index (threat_intelligence_source_uniq)',
  },
  'docker.update-images': { status: 'skipped', durationMs: 1_900, summary: 'all images up to date' },
  'system.package-updates': { status: 'warning', durationMs: 38_000, summary: '12 security updates installed; reboot required', findings: [REBOOT_FINDING] },
  'tls.expiry': { status: 'warning', durationMs: 1_100, summary: '2 certificates checked; 1 expires within 30 days', findings: [TLS_FINDING] },
  'capacity.review': {
    status: 'succeeded',
    durationMs: 900,
    summary: '/ at 64% grows 1.1 GiB/week: full in ~31 weeks',
    findings: [{ severity: 'info', title: '/backups grows 4.2 GiB per week', evidence: '14 backups, 211 GiB used of 500 GiB' }],
  },
  verify: { status: 'succeeded', durationMs: 2_400, summary: 'api and worker up; /api/v1/health and /api/v1/db/health answer 200; counts equal' },
  'snapshot.post': {
    status: 'succeeded',
    durationMs: 1_290,
    summary: 'ner11_db 3.42 GiB in 5 tables; / 64.5% used; newest backup 40m 46s old; p50 38.2 ms; 4 round trips',
  },
};

/** Around db.vacuum-full's record: the stop before it, the start and health wait in the gap after it. */
function bracketAround(steps: StepRecord[]) {
  const inside = steps.find((step) => step.inBracket && step.startedAt)!;
  const stopped = Date.parse(inside.startedAt!) - 400;
  const started = Date.parse(inside.endedAt!) + 400;
  return {
    ...BRACKET,
    stoppedAt: new Date(stopped).toISOString(),
    startedAt: new Date(started).toISOString(),
    downtimeSeconds: Math.round((started - stopped) / 1000),
  };
}

const BRACKET = {
  healthy: true,
  countsBefore: { vendor_equipment: 3_400_112, threat_intelligence: 8_200_330 },
  countsAfter: { vendor_equipment: 3_400_112, threat_intelligence: 8_200_330 },
  countsEqual: true,
};

export function successResult(): WindowResult {
  const plan = fixturePlan();
  return {
    result: 'succeeded',
    plan,
    journal: (() => {
      const steps = records(plan, SUCCESS_STEPS);
      return journal(plan, steps, { bracket: bracketAround(steps) });
    })(),
    baseline: fixtureSnapshot('baseline'),
    post: fixtureSnapshot('post'),
    warnings: [],
  };
}

export const REINDEX_ERROR =
  'REINDEX INDEX CONCURRENTLY public.threat_intelligence_indicator_idx on deploy@db1.example.com:22 failed: canceling statement due to lock timeout (55P03) — lock_timeout 5 s; blocked by pid 48211 (ner11-api, idle in transaction for 14m 02s): <UPDATE threat_intelligence SET severity = 3 WHERE id = 77 | RETURNING *>';

export function failureResult(): WindowResult {
  const plan = fixturePlan();
  const steps: Record<string, RecordSpec> = { ...SUCCESS_STEPS };
  steps['db.reindex'] = { status: 'failed', durationMs: 15_400, attempts: 1, error: REINDEX_ERROR, summary: 'lock timeout' };
  for (const id of ['docker.update-images', 'system.package-updates', 'tls.expiry', 'capacity.review']) steps[id] = { status: 'not-run' };
  steps['snapshot.post'] = { ...SUCCESS_STEPS['snapshot.post']! };
  const failed = records(plan, steps);
  return {
    result: 'failed',
    plan,
    journal: journal(plan, failed, {
      status: 'failed',
      failedStep: 'db.reindex',
      message: 'step db.reindex failed on deploy@db1.example.com:22',
      bracket: bracketAround(failed),
    }),
    baseline: fixtureSnapshot('baseline'),
    post: fixtureSnapshot('post'),
    failureMessage: 'db.reindex failed on deploy@db1.example.com:22: canceling statement due to lock timeout (55P03)',
    warnings: [],
  };
}

export function deferralResult(): WindowResult {
  const plan = fixturePlan();
  const steps: Record<string, RecordSpec> = { ...SUCCESS_STEPS };
  steps['db.vacuum-analyze'] = {
    status: 'succeeded',
    durationMs: 2 * 3_600_000 + 31 * 60_000,
    summary: 'VACUUM ANALYZE of 5 tables: 5,011,212 dead tuples removed (slow: I/O bound)',
  };
  steps['db.vacuum-full'] = { status: 'deferred', summary: 'estimated 25 min (3.12 GiB at the last measured rate) would end after the deadline 04:45 UTC' };
  steps['db.reindex'] = { status: 'deferred', summary: 'no time left before the deadline 04:45 UTC' };
  for (const id of ['docker.update-images', 'system.package-updates', 'capacity.review'])
    steps[id] = { status: 'deferred', summary: 'no time left before the deadline 04:45 UTC' };
  const result = records(plan, steps);
  const post = fixtureSnapshot('post');
  post.database!.sizeBytes = 4.81 * 1024 ** 3;
  return {
    result: 'deferred',
    plan,
    journal: journal(plan, result, { status: 'deferred', message: '5 steps deferred: the window reached its deadline 04:45 UTC' }),
    baseline: fixtureSnapshot('baseline'),
    post,
    warnings: ['db.vacuum-analyze took 2h 31m, 5× longer than its last run'],
  };
}

export function dryRunResult(): WindowResult {
  const plan = fixturePlan();
  plan.warnings.push('not available in this version, left out: db.tune');
  return {
    result: 'planned',
    plan,
    journal: {
      ...journal(plan, records(plan, Object.fromEntries(plan.steps.map(({ step }) => [step.id, { status: 'pending' as const }]))), { status: 'planned' }),
      endedAt: undefined,
    },
    warnings: [],
  };
}

/** A window of `count` steps, each with a long summary and large details: for the size limits. */
export function hugeResult(count = 10_000, detailBytes = 2_000): WindowResult {
  const specs: StepSpec[] = Array.from({ length: count }, (_, index) => ({
    id: `custom.step-${String(index).padStart(5, '0')}`,
    title: `Custom check number ${index} | with <markup> & pipes`,
    phase: 'main' as const,
    commands: [`echo ${'x'.repeat(300)}`],
  }));
  const plan = fixturePlan('quarterly', specs);
  const steps = Object.fromEntries(
    specs.map((spec, index) => [
      spec.id,
      {
        status: (index % 97 === 0 ? 'warning' : 'succeeded') as StepState,
        durationMs: 1_000 + index,
        summary: `checked ${'a very long summary of what happened '.repeat(20)}`,
        details: { output: 'y'.repeat(detailBytes) },
        findings: index % 97 === 0 ? [{ severity: 'warning' as const, title: `finding ${index}`, evidence: 'e'.repeat(2_000) }] : [],
      },
    ]),
  );
  return {
    result: 'succeeded',
    plan,
    journal: journal(plan, records(plan, steps), {}),
    baseline: fixtureSnapshot('baseline'),
    post: fixtureSnapshot('post'),
    warnings: [],
  };
}

/** Weekly snapshots before this window, as loadHistory returns them: the database grows, the disk fills. */
export function fixtureHistory(weeks = 8): Snapshot[] {
  const snapshots: Snapshot[] = [];
  for (let week = weeks; week >= 1; week--) {
    const takenAt = new Date(START - week * 7 * 86_400_000).toISOString();
    for (const kind of ['baseline', 'post'] as const) {
      const snapshot = fixtureSnapshot(kind, {
        windowId: `weekly-${7311892044 - week}`,
        takenAt: kind === 'post' ? new Date(Date.parse(takenAt) + 1_800_000).toISOString() : takenAt,
        trimmed: true,
      });
      const growth = (weeks - week) * 0.07 * 1024 ** 3;
      snapshot.database!.sizeBytes = Math.round((kind === 'baseline' ? 4.3 : 4.22) * 1024 ** 3 + growth);
      snapshot.disks = snapshot.disks.map((disk) => ({ ...disk, usedPercent: Math.round((disk.usedPercent - week * 0.8) * 10) / 10 }));
      snapshots.push(snapshot);
    }
  }
  return snapshots;
}

/** An ajv validator for one of the published schemas (schemas/*.schema.json). */
export function schemaValidator(name: 'snapshot' | 'journal'): (value: unknown) => string[] {
  const schema = JSON.parse(readFileSync(new URL(`../../schemas/${name}.schema.json`, import.meta.url), 'utf8')) as object;
  const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);
  return (value) => (validate(value) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? error.keyword}`));
}
