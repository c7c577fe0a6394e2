import http from 'node:http';
import https from 'node:https';
import type { Target } from './target.js';

export interface ProbeResult {
  ok: boolean;
  status?: number;
  ms: number;
  body?: string;
  error?: string;
}

/** GETs a URL as seen from the target (through an SSH tunnel), with the original Host header and SNI. */
export async function probeUrl(target: Target, url: string, timeoutMs = 10_000): Promise<ProbeResult> {
  const parsed = new URL(url);
  const secure = parsed.protocol === 'https:';
  const port = Number(parsed.port || (secure ? 443 : 80));
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const tunnel = await target.tunnel(host === 'localhost' ? '127.0.0.1' : host, port);
  const started = performance.now();
  try {
    return await new Promise<ProbeResult>((resolve) => {
      const request = (secure ? https : http).request(
        {
          host: '127.0.0.1',
          port: tunnel.localPort,
          path: parsed.pathname + parsed.search,
          method: 'GET',
          headers: { host: parsed.host, 'user-agent': 'maintenance-window' },
          servername: secure ? host : undefined,
          rejectUnauthorized: false,
          timeout: timeoutMs,
          agent: false,
        },
        (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            if (body.length < 4096) body += chunk;
          });
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            resolve({ ok: status >= 200 && status < 300, status, ms: performance.now() - started, body });
          });
        },
      );
      request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      request.on('error', (error) => resolve({ ok: false, ms: performance.now() - started, error: error.message }));
      request.end();
    });
  } finally {
    await tunnel.close();
  }
}

export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
