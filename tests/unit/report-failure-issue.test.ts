import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ISSUE_LABEL, issueMarker, syncFailureIssue } from '../../src/report/failure-issue.js';
import { deferralResult, failureResult, successResult } from '../support/report-fixtures.js';
import { FakeGitHub } from '../support/fake-github.js';

const TOKEN = 'ghs_fakeInstallationToken123';
const github = new FakeGitHub(TOKEN);
let apiUrl: string;

beforeAll(async () => {
  apiUrl = await github.start();
});
afterAll(() => github.stop());

const options = (runId: string) => ({
  token: TOKEN,
  repository: 'example/ops',
  apiUrl,
  runUrl: `https://github.com/example/ops/actions/runs/${runId}`,
  secrets: ['hunter2-db-password'],
});

function failed(runId: string) {
  const result = failureResult();
  result.journal.runId = runId;
  result.failureMessage = 'db.reindex failed: psql: password hunter2-db-password rejected';
  return result;
}

describe('one issue per host and tier: open, update, close', () => {
  test('a failure opens a labelled issue carrying the hidden marker, the summary and the run link; secrets masked', async () => {
    const other = failureResult();
    other.journal.host = 'deploy@db2.example.com:22';
    github.issues.push(
      {
        number: 1,
        title: 'db2 failing',
        body: `${issueMarker(other)}\nother host`,
        state: 'open',
        labels: [{ name: ISSUE_LABEL }],
        html_url: 'https://github.com/example/ops/issues/1',
      },
      {
        number: 2,
        title: 'a pull request quoting the marker',
        body: issueMarker(failureResult()),
        state: 'open',
        labels: [{ name: ISSUE_LABEL }],
        html_url: 'https://github.com/example/ops/pull/2',
        pull_request: {},
      },
    );
    const outcome = await syncFailureIssue(failed('100'), options('100'));
    expect(outcome).toEqual({ action: 'opened', number: 3, url: 'https://github.com/example/ops/issues/3' });
    const issue = github.issues[2]!;
    expect(issue.title).toBe('Maintenance window failing: monthly on db1.example.com');
    expect(issue.labels).toEqual([{ name: ISSUE_LABEL }]);
    expect(issue.body.startsWith('<!-- maintenance-window:db1.example.com:monthly -->\n')).toBe(true);
    expect(issue.body).toContain('failed at `db.reindex` in [run 100](https://github.com/example/ops/actions/runs/100)');
    expect(issue.body).toContain('### What to do next');
    expect(issue.body).not.toContain('hunter2');
    expect(issue.body.length).toBeLessThan(65_536);
  });

  test('failing again updates the same issue and comments; a deferral leaves it alone', async () => {
    const again = failed('101');
    again.journal.failedStep = 'db.vacuum-full';
    const outcome = await syncFailureIssue(again, options('101'));
    expect(outcome).toMatchObject({ action: 'updated', number: 3 });
    expect(github.issues.filter((issue) => issue.state === 'open')).toHaveLength(3);
    expect(github.issues[2]!.body).toContain('[run 101]');
    expect(github.issues[2]!.body).toContain('failed at `db.vacuum-full`');
    expect(github.comments.at(-1)).toEqual({ issue: 3, body: expect.stringContaining('❌ Failed again in [run 101]') });
    expect(github.comments.at(-1)!.body).not.toContain('hunter2');

    const before = github.requests.length;
    expect(await syncFailureIssue(deferralResult(), options('102'))).toEqual({ action: 'none' });
    expect(github.requests.length).toBe(before);
  });

  test('a later success comments and closes it; the other host’s issue stays open; the next success finds nothing', async () => {
    const success = successResult();
    success.journal.runId = '103';
    expect(await syncFailureIssue(success, options('103'))).toMatchObject({ action: 'closed', number: 3 });
    expect(github.issues[2]).toMatchObject({ state: 'closed', state_reason: 'completed' });
    expect(github.comments.at(-1)).toEqual({
      issue: 3,
      body: '✅ Window `monthly-7311892044` succeeded in [run 103](https://github.com/example/ops/actions/runs/103). Closing.',
    });
    expect(github.issues[0]!.state).toBe('open');
    expect(await syncFailureIssue(success, options('104'))).toEqual({ action: 'none' });
  });

  test('a failure after that opens a fresh issue', async () => {
    expect(await syncFailureIssue(failed('105'), options('105'))).toMatchObject({ action: 'opened', number: 4 });
  });

  test('a bad token or repository fails loudly (the caller turns it into a warning)', async () => {
    await expect(syncFailureIssue(failed('106'), { ...options('106'), token: 'wrong' })).rejects.toThrow(/Bad credentials/);
    await expect(syncFailureIssue(failed('106'), { ...options('106'), repository: 'no-slash' })).rejects.toThrow('repository must be owner/name');
  });
});
