import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { withoutMaskCommands, type DoorExit } from './fault-dist.js';

export interface Secret {
  name: string;
  value: string;
}

/** The forms a secret takes when written into JSON, a URL or a workflow command. */
function formsOf(value: string): string[] {
  return [...new Set([value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value), value.replace(/%/g, '%25').replace(/\n/g, '%0A')])];
}

/**
 * Every 20-character run of a private key's base64 body, line by line and across lines, except the runs that
 * are structure shared with other keys (`public` holds other keys and public blobs: the format header, the key
 * type, and the public key, which the private file embeds, are not secret).
 */
export function keyFragments(privateKey: string, publicText: string): string[] {
  const lines = privateKey.split('\n').filter((line) => line && !line.startsWith('-----'));
  const runs = (text: string) => Array.from({ length: Math.max(0, text.length - 19) }, (_, index) => text.slice(index, index + 20));
  return [...new Set([...lines.flatMap(runs), ...runs(lines.join(''))])].filter((run) => !publicText.includes(run));
}

/** Names of the secrets found in `text` (with the first place each was found), for a readable failure. */
export function leaksIn(where: string, text: string, secrets: Secret[], keyRuns: string[]): string[] {
  const leaks: string[] = [];
  for (const secret of secrets) {
    const form = formsOf(secret.value).find((candidate) => text.includes(candidate));
    if (form) leaks.push(`${secret.name} in ${where}: …${text.slice(Math.max(0, text.indexOf(form) - 60), text.indexOf(form))}[here]`);
  }
  const run = keyRuns.find((candidate) => text.includes(candidate));
  if (run) leaks.push(`private key text in ${where}: …${text.slice(Math.max(0, text.indexOf(run) - 60), text.indexOf(run))}[here]`);
  return leaks;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? filesUnder(file) : [file];
  });
}

/**
 * Everything a run of the action leaves that a person or another job can read: its output (without the
 * ::add-mask:: commands GitHub consumes), the summary / output / state files, the report dir, the host's state dir.
 */
export function leaksOfRun(
  run: { exit: DoorExit; env: NodeJS.ProcessEnv; reportDir: string; hostStateDir: string },
  secrets: Secret[],
  keyRuns: string[],
): string[] {
  const sources: [string, string][] = [
    ['stdout', withoutMaskCommands(run.exit.stdout)],
    ['stderr', withoutMaskCommands(run.exit.stderr)],
    ...['GITHUB_STEP_SUMMARY', 'GITHUB_OUTPUT', 'GITHUB_STATE'].map((name): [string, string] => [name, readFileSync(run.env[name]!, 'utf8')]),
    ...[...filesUnder(run.reportDir), ...filesUnder(run.hostStateDir)].map((file): [string, string] => [file, readFileSync(file, 'latin1')]),
  ];
  return sources.flatMap(([where, text]) => leaksIn(where, text, secrets, keyRuns));
}

export interface RecordedRequest {
  method: string;
  url: string;
  authorization?: string;
  body: string;
}

/** GitHub's REST API for the failure issue, on loopback: no open issue, creates #1, records every request. */
export async function fakeGitHubApi(): Promise<{ url: string; requests: RecordedRequest[]; close(): Promise<void> }> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      requests.push({ method: request.method ?? '', url: request.url ?? '', authorization: request.headers.authorization, body });
      const created = request.method === 'POST' && /\/issues$/.test(request.url ?? '');
      response.writeHead(created ? 201 : 200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(request.method === 'GET' ? [] : { number: 1, html_url: 'http://github.invalid/demo/ner11/issues/1' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
