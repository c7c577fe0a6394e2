import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ISSUE_LABEL, issueMarker, syncFailureIssue } from '../../src/report/failure-issue.js';
import { deferralResult, failureResult, successResult } from '../support/report-fixtures.js';

interface Issue {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  state_reason?: string | null;
  labels: { name: string }[];
  html_url: string;
  pull_request?: object;
}

/**
 * The one stand-in allowed: a local HTTP server speaking the few GitHub REST endpoints the issue flow uses
 * (list, create, update, comment), keeping issues in memory and checking the token.
 */
class FakeGitHub {
  issues: Issue[] = [];
  comments: { issue: number; body: string }[] = [];
  requests: string[] = [];
  private server?: Server;

  constructor(private readonly token: string) {}

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      void this.handle(request).then(
        ([status, body]) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
        (error: Error) => response.writeHead(500).end(JSON.stringify({ message: error.message })),
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private async handle(request: IncomingMessage): Promise<[number, unknown]> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    this.requests.push(`${request.method} ${url.pathname}`);
    if (request.headers.authorization !== `token ${this.token}`) return [401, { message: 'Bad credentials' }];
    let raw = '';
    for await (const chunk of request) raw += String(chunk);
    const input = (raw ? JSON.parse(raw) : {}) as Record<string, unknown>;
    const base = '/repos/example/ops/issues';
    if (request.method === 'GET' && url.pathname === base) {
      const labels = url.searchParams.get('labels')?.split(',') ?? [];
      const state = url.searchParams.get('state') ?? 'open';
      return [
        200,
        this.issues.filter(
          (issue) => (state === 'all' || issue.state === state) && labels.every((label) => issue.labels.some((entry) => entry.name === label)),
        ),
      ];
    }
    if (request.method === 'POST' && url.pathname === base) {
      const issue: Issue = {
        number: this.issues.length + 1,
        title: String(input.title),
        body: String(input.body ?? ''),
        state: 'open',
        labels: ((input.labels as string[] | undefined) ?? []).map((name) => ({ name })),
        html_url: `https://github.com/example/ops/issues/${this.issues.length + 1}`,
      };
      this.issues.push(issue);
      return [201, issue];
    }
    const match = /^\/repos\/example\/ops\/issues\/(\d+)(\/comments)?$/.exec(url.pathname);
    const issue = match ? this.issues.find((entry) => entry.number === Number(match[1])) : undefined;
    if (!issue) return [404, { message: 'Not Found' }];
    if (request.method === 'PATCH' && !match![2]) {
      Object.assign(issue, input);
      return [200, issue];
    }
    if (request.method === 'POST' && match![2]) {
      this.comments.push({ issue: issue.number, body: String(input.body) });
      return [201, { id: this.comments.length, body: input.body }];
    }
    return [405, { message: 'not in this fake' }];
  }
}

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
