import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalTarget } from '../../src/remote/local-target.js';
import { parseConfig } from '../../src/settings/load-config.js';
import type { Settings } from '../../src/settings/settings.js';
import { docsReview, reviewMarker } from '../../src/steps/review/docs-review.js';
import type { DrDrillFacts } from '../../src/steps/review/review-facts.js';
import type { StepOutcome, WindowFacts } from '../../src/steps/step.js';
import { WindowResources } from '../../src/window/step-context.js';
import { FakeGitHub } from '../support/fake-github.js';
import { memoryLogger } from '../support/step-harness.js';

const TOKEN = 'ghs_docs-review-test-token';

const github = new FakeGitHub(TOKEN);
const target = new LocalTarget();

beforeAll(async () => {
  process.env.GITHUB_API_URL = await github.start();
});
afterAll(async () => {
  delete process.env.GITHUB_API_URL;
  await github.stop();
});
beforeEach(() => {
  github.issues = [];
  github.requests = [];
});

function settings(overrides: Partial<Settings> = {}): Settings {
  return {
    strictHostKeyChecking: true,
    connectTimeoutMs: 10_000,
    tier: 'quarterly',
    configPath: 'defaults',
    configPathExplicit: false,
    skipSteps: [],
    dryRun: false,
    resume: { kind: 'auto' },
    windowId: 'quarterly-1001',
    onlyOn: 'any',
    onFailure: 'stop',
    reportDir: 'report',
    openIssueOnFailure: false,
    githubToken: TOKEN,
    databasePassword: 'pg-secret-in-a-path',
    run: { repository: 'example/ops', runId: '1001', runAttempt: 1, workflow: 'maintenance', serverUrl: 'https://github.com', actor: 'ops' },
    ...overrides,
  };
}

async function review(options: { settings?: Partial<Settings>; facts?: WindowFacts; at?: string } = {}): Promise<StepOutcome> {
  const config = parseConfig('', 'defaults');
  const run = settings(options.settings);
  const now = new Date(options.at ?? '2026-10-04T02:30:00Z');
  const resources = new WindowResources({ target, config, settings: run, tier: 'quarterly', log: memoryLogger(), facts: options.facts ?? {}, now: () => now });
  try {
    return await docsReview(config).run(resources.context(new AbortController().signal));
  } finally {
    await resources.close();
  }
}

const drill: DrDrillFacts = {
  backupPath: '/backups/ner11/database/ner11_db_20261004.sql.gz',
  recoveryMs: 12_300,
  rtoTargetMs: 3_600_000,
  backupAgeMs: 7_200_000,
  rpoTargetMs: 86_400_000,
};

describe('docs.review', () => {
  it('is skipped with a clear summary without a token, and calls nothing', async () => {
    const outcome = await review({ settings: { githubToken: undefined } });
    expect(outcome).toEqual({ status: 'skipped', summary: 'no GitHub token (input github-token): the quarterly review issue was not opened or updated' });
    expect(github.requests).toEqual([]);
  });

  it("opens one issue with the quarter's checklist, this window's numbers and a link to the run", async () => {
    const facts: WindowFacts = {
      drDrill: drill,
      perfBaseline: { quarter: '2026-Q4', p50Ms: 4.2, p95Ms: 9.8, cacheHitRatio: 0.9931, regressions: 1, comparedWith: '2026-Q3' },
      capacityReview: { soonest: { mount: '/var', daysUntilFull: 41.7 }, databaseGrowthBytesPerDay: 5 * 1024 * 1024 },
    };
    const outcome = await review({ facts });
    expect(outcome).toMatchObject({
      status: 'succeeded',
      summary: 'opened the quarterly review issue #1: https://github.com/example/ops/issues/1',
      details: { action: 'opened', number: 1 },
    });
    expect(github.issues).toHaveLength(1);
    const [issue] = github.issues;
    expect(issue!.title).toBe('Quarterly maintenance review — local — 2026-Q4');
    expect(issue!.labels.map((label) => label.name)).toEqual(['maintenance-window', 'quarterly-review']);
    expect(issue!.body.startsWith(reviewMarker('local', '2026-Q4'))).toBe(true);
    expect(issue!.body).toContain('[run 1001](https://github.com/example/ops/actions/runs/1001/attempts/1)');
    expect(issue!.body).toContain(
      '- DR drill: restored `/backups/ner11/database/ner11_db_20261004.sql.gz` in 12 s (RTO target 1h); the backup was 2h old (RPO target 24h)',
    );
    expect(issue!.body).toContain('- Performance baseline: p50 4.2 ms / p95 9.8 ms, cache hit 99.31%; 1 regression(s) against 2026-Q3');
    expect(issue!.body).toContain('- Capacity: `/var` full in 41 days; database 5.00 MiB/day');
    expect(issue!.body).toContain('- [ ] Disaster-recovery drill reviewed: RTO and RPO targets still what the business needs — see dr.drill');
    expect(issue!.body).toContain('- [ ] MAINTENANCE_WINDOWS.md: "Last Verified" and "Next Review Date" updated');
    expect(issue!.body).toContain('- [ ] Related runbooks reviewed: BACKUP_PROCEDURES.md, PERFORMANCE_DEGRADATION.md, RESOURCE_SCALING.md');
  });

  it('updates the same issue on a second run of the quarter, keeping the ticks people made', async () => {
    await review();
    const issue = github.issues[0]!;
    issue.body = issue.body.replace('- [ ] MAINTENANCE_WINDOWS.md', '- [x] MAINTENANCE_WINDOWS.md');
    issue.state = 'closed';
    const outcome = await review({ settings: { run: { ...settings().run, runId: '1002' } }, facts: { drDrill: drill }, at: '2026-12-06T02:30:00Z' });
    expect(outcome).toMatchObject({ status: 'succeeded', summary: 'updated the quarterly review issue #1 (closed): https://github.com/example/ops/issues/1' });
    expect(github.issues).toHaveLength(1);
    expect(issue.body).toContain('- [x] MAINTENANCE_WINDOWS.md: "Last Verified" and "Next Review Date" updated');
    expect(issue.body).toContain('- [ ] Related runbooks reviewed');
    expect(issue.body).toContain('[run 1002]');
    expect(issue.body).toContain('- DR drill: restored');
    expect(issue.state).toBe('closed');
  });

  it('opens a new issue in the next quarter', async () => {
    await review();
    const outcome = await review({ at: '2027-01-03T02:30:00Z' });
    expect(outcome.summary).toBe('opened the quarterly review issue #2: https://github.com/example/ops/issues/2');
    expect(github.issues.map((issue) => issue.title)).toEqual([
      'Quarterly maintenance review — local — 2026-Q4',
      'Quarterly maintenance review — local — 2027-Q1',
    ]);
  });

  it('masks secrets that reach the body', async () => {
    await review({ facts: { drDrill: { ...drill, backupPath: '/backups/pg-secret-in-a-path/db.sql.gz' } } });
    expect(github.issues[0]!.body).toContain('restored `/backups/***/db.sql.gz`');
  });

  it('fails naming the repository and the HTTP status when GitHub refuses, without the token', async () => {
    const run = review({ settings: { githubToken: 'ghs_wrong-token' } });
    await expect(run).rejects.toThrow(/^opening or updating the quarterly review issue in example\/ops failed \(HTTP 401\): Bad credentials/);
    await expect(run).rejects.not.toThrow(/ghs_wrong-token/);
    expect(github.issues).toEqual([]);
  });
});
