import { probeUrl } from '../../remote/http-probe.js';
import { quote } from '../../remote/shell.js';
import type { ExecResult, Target } from '../../remote/target.js';
import type { MaintenanceConfig } from '../../settings/config.js';

export interface ServiceStatus {
  running: boolean;
  detail: string;
}

/** Stops, starts and checks the app services, however the host manages them. */
export interface ServiceManager {
  readonly kind: MaintenanceConfig['services']['manager'];
  stop(): Promise<void>;
  start(): Promise<void>;
  status(): Promise<ServiceStatus>;
  /** Polls the health URLs until they answer 2xx or the timeout passes. */
  waitHealthy(timeoutMs?: number): Promise<{ healthy: boolean; waitedMs: number; detail: string }>;
  /** Shell prelude exporting the configured environment (for docker commands). */
  readonly prelude: string;
}

export function environmentPrelude(environment: Record<string, string>): string {
  return Object.entries(environment)
    .map(([name, value]) => `export ${name}=${quote(value)}; `)
    .join('');
}

function check(result: ExecResult, what: string): void {
  if (result.code !== 0) {
    throw new Error(`${what} failed (exit ${result.code ?? result.signal}): ${result.stderr.trim().split('\n').slice(-3).join(' ')}`);
  }
}

/** `docker compose` when the plugin exists, else `docker-compose`. */
export const COMPOSE_DETECT = `if docker compose version >/dev/null 2>&1; then compose() { docker compose "$@"; }; else compose() { docker-compose "$@"; }; fi; `;

export function composeArgs(config: MaintenanceConfig): string {
  const file = config.services.composeFile ? ` -f ${quote(config.services.composeFile)}` : '';
  return file;
}

export function createServiceManager(target: Target, config: MaintenanceConfig): ServiceManager {
  const services = config.services;
  const prelude = environmentPrelude(services.environment);
  const apps = services.app.map(quote).join(' ');
  const cwd = services.projectDir;
  const run = (script: string, timeoutMs = 300_000) => target.exec(prelude + script, { cwd, timeoutMs });
  const compose = (args: string) => run(`${COMPOSE_DETECT}compose${composeArgs(config)} ${args}`);

  const waitHealthy: ServiceManager['waitHealthy'] = async (timeoutMs = config.health.timeoutMs) => {
    const urls = [config.health.url, config.health.databaseUrl].filter((url): url is string => Boolean(url));
    const started = Date.now();
    let delay = 250;
    let detail = 'no health URL configured';
    for (;;) {
      const results = await Promise.all(urls.map((url) => probeUrl(target, url, 5000)));
      const failing = results.map((result, index) => ({ result, url: urls[index] })).filter((entry) => !entry.result.ok);
      if (failing.length === 0) return { healthy: true, waitedMs: Date.now() - started, detail: urls.length ? `${urls.join(', ')} answered 2xx` : detail };
      detail = failing.map(({ url, result }) => `${url}: ${result.status ?? result.error}`).join('; ');
      if (Date.now() - started + delay > timeoutMs) return { healthy: false, waitedMs: Date.now() - started, detail };
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 2000);
    }
  };

  switch (services.manager) {
    case 'compose':
      return {
        kind: 'compose',
        prelude,
        stop: async () => check(await compose(`stop ${apps}`), `stopping ${services.app.join(', ')}`),
        start: async () => check(await compose(`start ${apps}`), `starting ${services.app.join(', ')}`),
        status: async () => {
          const result = await compose(`ps ${apps}`);
          const lines = result.stdout
            .split('\n')
            .slice(1)
            .filter((line) => line.trim() && !/^-+$/.test(line.trim()));
          const running = result.code === 0 && lines.length > 0 && lines.every((line) => /\bUp\b|running/i.test(line));
          return { running, detail: result.code === 0 ? lines.join('\n') : result.stderr.trim() };
        },
        waitHealthy,
      };
    case 'systemd':
      return {
        kind: 'systemd',
        prelude,
        stop: async () => check(await run(`systemctl stop ${apps}`), `systemctl stop ${services.app.join(' ')}`),
        start: async () => check(await run(`systemctl start ${apps}`), `systemctl start ${services.app.join(' ')}`),
        status: async () => {
          const result = await run(`systemctl is-active ${apps}`);
          return { running: result.code === 0, detail: result.stdout.trim().replace(/\n/g, ', ') };
        },
        waitHealthy,
      };
    case 'command':
      return {
        kind: 'command',
        prelude,
        stop: async () => check(await run(services.stopCommand!), 'the stop command'),
        start: async () => check(await run(services.startCommand!), 'the start command'),
        status: async () => {
          const result = await run(services.statusCommand!);
          return { running: result.code === 0, detail: (result.stdout || result.stderr).trim() || `exit ${result.code}` };
        },
        waitHealthy,
      };
    case 'none':
      return {
        kind: 'none',
        prelude,
        stop: async () => undefined,
        start: async () => undefined,
        status: async () => ({ running: true, detail: 'services are not managed (manager: none)' }),
        waitHealthy,
      };
  }
}
