import { getOctokit } from '@actions/github';
import type { WindowResult } from '../window/result.js';
import { renderSummary } from './markdown.js';
import { code, text } from './md.js';
import { hostLabel } from './publish.js';
import { maskText, secretForms } from './secret-mask.js';

export const ISSUE_LABEL = 'maintenance-window';
/** Issue bodies hold 65,536 characters; leave room for the header. */
const ISSUE_SUMMARY_BYTES = 60_000;

export interface IssueOptions {
  token: string;
  /** owner/name */
  repository: string;
  /** GitHub's API (GITHUB_API_URL); tests point it at a local server. */
  apiUrl?: string;
  runUrl?: string;
  secrets?: readonly string[];
}

export interface IssueOutcome {
  action: 'opened' | 'updated' | 'closed' | 'none';
  number?: number;
  url?: string;
}

/** The hidden marker that finds the one issue of a host and tier. */
export function issueMarker(result: WindowResult): string {
  const safe = (value: string) => value.replace(/--+/g, '-').replace(/[<>]/g, '');
  return `<!-- maintenance-window:${safe(hostLabel(result.journal.host))}:${safe(result.journal.tier)} -->`;
}

function issueTitle(result: WindowResult): string {
  return `Maintenance window failing: ${result.journal.tier} on ${hostLabel(result.journal.host)}`;
}

function issueBody(result: WindowResult, options: IssueOptions): string {
  const { journal } = result;
  const run = options.runUrl ? `[run ${journal.runId}](${options.runUrl})` : `run ${journal.runId}`;
  const intro = `The ${text(journal.tier)} maintenance window on ${code(hostLabel(journal.host))} failed${journal.failedStep ? ` at ${code(journal.failedStep)}` : ''} in ${run} (attempt ${journal.runAttempt}). This issue is updated while it keeps failing and closed by the next successful window.`;
  return `${issueMarker(result)}\n${intro}\n\n${renderSummary(result, undefined, { maxBytes: ISSUE_SUMMARY_BYTES, runUrl: options.runUrl })}`;
}

/**
 * One issue per host and tier: opened when a window fails, updated (with a comment) when it fails again,
 * closed with a comment when a later window succeeds. Other results leave it alone.
 */
export async function syncFailureIssue(result: WindowResult, options: IssueOptions): Promise<IssueOutcome> {
  if (result.result !== 'failed' && result.result !== 'succeeded') return { action: 'none' };
  const [owner, repo] = options.repository.split('/');
  if (!owner || !repo) throw new Error(`repository must be owner/name, got ${JSON.stringify(options.repository)}`);
  const octokit = getOctokit(options.token, options.apiUrl ? { baseUrl: options.apiUrl } : {});
  const forms = secretForms(options.secrets ?? []);
  const mask = (value: string) => maskText(value, forms);
  const marker = issueMarker(result);
  const open = await octokit.paginate(octokit.rest.issues.listForRepo, { owner, repo, state: 'open', labels: ISSUE_LABEL, per_page: 100 });
  const existing = open.find((issue) => !issue.pull_request && issue.body?.includes(marker));
  const run = options.runUrl ? `[run ${result.journal.runId}](${options.runUrl})` : `run ${result.journal.runId}`;

  if (result.result === 'succeeded') {
    if (!existing) return { action: 'none' };
    await octokit.rest.issues.createComment({
      owner,
      repo,
      issue_number: existing.number,
      body: mask(`✅ Window ${code(result.journal.windowId)} succeeded in ${run}. Closing.`),
    });
    await octokit.rest.issues.update({ owner, repo, issue_number: existing.number, state: 'closed', state_reason: 'completed' });
    return { action: 'closed', number: existing.number, url: existing.html_url };
  }

  const body = mask(issueBody(result, options));
  if (existing) {
    await octokit.rest.issues.update({ owner, repo, issue_number: existing.number, title: mask(issueTitle(result)), body });
    const why = result.failureMessage ?? result.journal.message ?? 'see the summary';
    await octokit.rest.issues.createComment({ owner, repo, issue_number: existing.number, body: mask(`❌ Failed again in ${run}: ${text(why)}`) });
    return { action: 'updated', number: existing.number, url: existing.html_url };
  }
  const created = await octokit.rest.issues.create({ owner, repo, title: mask(issueTitle(result)), body, labels: [ISSUE_LABEL] });
  return { action: 'opened', number: created.data.number, url: created.data.html_url };
}
