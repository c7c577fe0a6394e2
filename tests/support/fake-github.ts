import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Issue {
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
export class FakeGitHub {
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
    this.requests.push(`${request.method} ${url.pathname}${url.search}`);
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
