import { getOctokit } from '@actions/github';
import { getErrorMessage } from '../../errors.js';
import { ISSUE_LABEL } from '../../report/failure-issue.js';
import { formatBytes, formatDuration } from '../../report/human-size.js';
import { code } from '../../report/md.js';
import { hostLabel } from '../../report/publish.js';
import { maskText, secretForms } from '../../report/secret-mask.js';
import { secretsOf, type Settings } from '../../settings/settings.js';
import { MINUTES, type StepContext, type StepFactory, type StepOutcome } from '../step.js';
import { quarterOf } from './quarter.js';
import { ReviewFactKeys, type CapacityFacts, type DrDrillFacts, type PerfBaselineFacts } from './review-facts.js';

export const REVIEW_LABEL = 'quarterly-review';

/** The runbook's quarterly tier, each pointing at the step whose result informs it. */
const QUARTERLY_TASKS = [
  'Major version upgrades planned or done (PostgreSQL, Python, Node.js) — see versions.review',
  'Security audit and vulnerability scan reviewed — see security.audit',
  'Performance baseline re-established and every regression explained — see perf.baseline',
  'Database schema optimization review — see schema.review',
  'Disaster-recovery drill reviewed: RTO and RPO targets still what the business needs — see dr.drill',
  'Documentation reviewed and updated (below)',
];

/** Documentation review: what MAINTENANCE_WINDOWS.md and its neighbours claim, checked against this quarter. */
const DOCUMENTATION_ITEMS = [
  'MAINTENANCE_WINDOWS.md: "Last Verified" and "Next Review Date" updated',
  'Estimated durations (weekly 45–60 min, monthly 90–120 min, quarterly 2–4 h) match the measured windows in the reports',
  'Rollback times (15 / 30 / 60 min) match the restore time measured by the DR drill',
  'Related runbooks reviewed: BACKUP_PROCEDURES.md, PERFORMANCE_DEGRADATION.md, RESOURCE_SCALING.md',
  '.github/maintenance.yml matches the host: integrity tables, backup directory and pattern, services, health URLs',
  'Steps skipped, deferred or failed this quarter are explained or scheduled',
  'Contacts and escalation paths for the maintenance window are current',
];

export function reviewMarker(host: string, quarter: string): string {
  const safe = (value: string) => value.replace(/--+/g, '-').replace(/[<>]/g, '');
  return `<!-- maintenance-window:quarterly-review:${safe(host)}:${safe(quarter)} -->`;
}

export function reviewTitle(host: string, quarter: string): string {
  return `Quarterly maintenance review — ${host} — ${quarter}`;
}

/** Checklist items already ticked in an earlier body: updating the issue must not undo people's work. */
export function tickedItems(body: string): Set<string> {
  return new Set([...body.matchAll(/^- \[[xX]\] (.+)$/gm)].map((match) => match[1]!.trim()));
}

function runLink(settings: Settings): string {
  const { serverUrl, repository, runId, runAttempt } = settings.run;
  return runId ? `[run ${runId}](${serverUrl}/${repository}/actions/runs/${runId}/attempts/${runAttempt})` : 'a local run';
}

/** What this window's reviews measured, when they ran before this step. */
function measured(ctx: StepContext): string[] {
  const lines: string[] = [];
  const dr = ctx.facts[ReviewFactKeys.drDrill] as DrDrillFacts | undefined;
  if (dr) {
    lines.push(
      `DR drill: restored ${code(dr.backupPath)} in ${formatDuration(dr.recoveryMs)} (RTO target ${formatDuration(dr.rtoTargetMs)}); the backup was ${formatDuration(dr.backupAgeMs)} old (RPO target ${formatDuration(dr.rpoTargetMs)})`,
    );
  }
  const perf = ctx.facts[ReviewFactKeys.perfBaseline] as PerfBaselineFacts | undefined;
  if (perf) {
    const latency = perf.p50Ms !== undefined ? `p50 ${perf.p50Ms} ms / p95 ${perf.p95Ms ?? 'n/a'} ms` : 'latency not measured';
    const hits = perf.cacheHitRatio !== undefined ? `, cache hit ${(perf.cacheHitRatio * 100).toFixed(2)}%` : '';
    const compared = perf.comparedWith ? `${perf.regressions} regression(s) against ${perf.comparedWith}` : 'first baseline';
    lines.push(`Performance baseline: ${latency}${hits}; ${compared}`);
  }
  const capacity = ctx.facts[ReviewFactKeys.capacity] as CapacityFacts | undefined;
  if (capacity) {
    const soonest = capacity.soonest
      ? `${code(capacity.soonest.mount)} full in ${Math.floor(capacity.soonest.daysUntilFull)} days`
      : 'no mount is forecast to fill';
    const growth = capacity.databaseGrowthBytesPerDay !== undefined ? `; database ${formatBytes(capacity.databaseGrowthBytesPerDay)}/day` : '';
    lines.push(`Capacity: ${soonest}${growth}`);
  }
  return lines;
}

function reviewBody(ctx: StepContext, host: string, quarter: string, ticked: Set<string>): string {
  const item = (label: string) => `- [${ticked.has(label) ? 'x' : ' '}] ${label}`;
  const facts = measured(ctx);
  return [
    reviewMarker(host, quarter),
    `The quarterly maintenance window on ${code(host)} last updated this checklist in ${runLink(ctx.settings)} (window ${code(ctx.settings.windowId)}); its report (Markdown and HTML) is attached to the run as an artifact. Tick items as they are done: the next update keeps the ticks.`,
    '',
    '### Measured this quarter',
    ...(facts.length
      ? facts.map((line) => `- ${line}`)
      : ['- Nothing: dr.drill, perf.baseline and capacity.review did not run before this step in this window.']),
    '',
    '### Quarterly tasks (runbook)',
    ...QUARTERLY_TASKS.map(item),
    '',
    '### Documentation review',
    ...DOCUMENTATION_ITEMS.map(item),
  ].join('\n');
}

async function run(ctx: StepContext): Promise<StepOutcome> {
  const { githubToken: token, run: context } = ctx.settings;
  const repository = context.repository;
  if (!token) {
    return { status: 'skipped', summary: 'no GitHub token (input github-token): the quarterly review issue was not opened or updated' };
  }
  const [owner, repo] = repository.split('/');
  if (!owner || !repo) return { status: 'skipped', summary: `no repository to open the review issue in (got ${JSON.stringify(repository)})` };

  const host = hostLabel(ctx.target.description);
  const quarter = quarterOf(ctx.now(), ctx.config.window.timezone);
  const marker = reviewMarker(host, quarter);
  const title = reviewTitle(host, quarter);
  const apiUrl = process.env.GITHUB_API_URL;
  const octokit = getOctokit(token, apiUrl ? { baseUrl: apiUrl } : {});
  const forms = secretForms(secretsOf(ctx.settings));
  const mask = (value: string) => maskText(value, forms);
  try {
    // Closed ones too: a review ticked off and closed is updated, not opened again, for the same quarter.
    const issues = await octokit.paginate(octokit.rest.issues.listForRepo, { owner, repo, state: 'all', labels: ISSUE_LABEL, per_page: 100 });
    const existing = issues.find((issue) => !issue.pull_request && issue.body?.includes(marker));
    const body = mask(reviewBody(ctx, host, quarter, tickedItems(existing?.body ?? '')));
    if (existing) {
      await octokit.rest.issues.update({ owner, repo, issue_number: existing.number, title: mask(title), body });
      return {
        status: 'succeeded',
        summary: `updated the quarterly review issue #${existing.number} (${existing.state}): ${existing.html_url}`,
        metrics: { issue: existing.number },
        details: { action: 'updated', number: existing.number, url: existing.html_url, title },
      };
    }
    const created = await octokit.rest.issues.create({ owner, repo, title: mask(title), body, labels: [ISSUE_LABEL, REVIEW_LABEL] });
    return {
      status: 'succeeded',
      summary: `opened the quarterly review issue #${created.data.number}: ${created.data.html_url}`,
      metrics: { issue: created.data.number },
      details: { action: 'opened', number: created.data.number, url: created.data.html_url, title },
    };
  } catch (error) {
    const status = (error as { status?: number }).status;
    throw new Error(`opening or updating the quarterly review issue in ${repository} failed${status ? ` (HTTP ${status})` : ''}: ${getErrorMessage(error)}`);
  }
}

export const docsReview: StepFactory = () => ({
  id: 'docs.review',
  title: 'Documentation review',
  description:
    "opens (or updates) one GitHub issue per host and quarter with the runbook's quarterly checklist, this window's DR, performance and capacity numbers, and a link to the run",
  commands: [
    `GET /repos/<owner>/<repo>/issues?state=all&labels=${ISSUE_LABEL}  -- find the issue by its hidden marker`,
    'PATCH /repos/<owner>/<repo>/issues/<n>  |  POST /repos/<owner>/<repo>/issues',
  ],
  impact: 'none',
  destructive: false,
  idempotent: true,
  timeoutMs: 5 * MINUTES,
  retries: 1,
  run,
});
