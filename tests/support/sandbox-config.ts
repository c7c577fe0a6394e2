import { stringify } from 'yaml';
import { parseConfig } from '../../src/settings/load-config.js';
import type { MaintenanceConfig } from '../../src/settings/config.js';
import type { Settings } from '../../src/settings/settings.js';
import type { Sandbox } from '../sandbox/sandbox.js';

/** The maintenance config (as YAML) that points the product at a sandbox host. */
export function sandboxConfigObject(sandbox: Sandbox, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const app = sandbox.app;
  const base: Record<string, unknown> = {
    database: {
      host: '127.0.0.1',
      port: sandbox.postgres.port,
      name: sandbox.postgres.database,
      user: sandbox.postgres.user,
      'integrity-tables': ['vendor_equipment', 'threat_intelligence'],
      'lock-timeout': '2s',
      'min-relation-size': '64K',
      'data-directory': sandbox.postgres.dataDir,
    },
    services: app ? { manager: 'command', start: app.startCommand, stop: app.stopCommand, status: app.statusCommand } : { manager: 'none' },
    health: app ? { url: `${app.url}/api/v1/health`, 'database-url': `${app.url}/api/v1/db/health`, timeout: '30s', samples: 3 } : {},
    backups: { dir: sandbox.backupsDir, 'max-age': '26h' },
    logs: { dirs: [sandbox.logsDir], 'archive-dir': `${sandbox.logsDir}/archive` },
    activity: app ? { 'access-log': app.accessLog } : {},
    'state-dir': sandbox.stateDir,
  };
  for (const [key, value] of Object.entries(extra)) {
    base[key] = typeof value === 'object' && value !== null && !Array.isArray(value) ? { ...(base[key] as object), ...(value as object) } : value;
  }
  return base;
}

export function sandboxConfigYaml(sandbox: Sandbox, extra: Record<string, unknown> = {}): string {
  return stringify(sandboxConfigObject(sandbox, extra));
}

export function sandboxConfig(sandbox: Sandbox, extra: Record<string, unknown> = {}): MaintenanceConfig {
  return parseConfig(sandboxConfigYaml(sandbox, extra), 'sandbox.yml');
}

/** Settings for a run against the sandbox (what the action would have parsed from inputs). */
export function sandboxSettings(sandbox: Sandbox, overrides: Partial<Settings> = {}): Settings {
  return {
    target: { host: sandbox.ssh.host, port: sandbox.ssh.port, username: sandbox.ssh.username },
    privateKey: sandbox.ssh.privateKey,
    knownHosts: sandbox.ssh.knownHosts,
    strictHostKeyChecking: true,
    connectTimeoutMs: 10_000,
    tier: 'weekly',
    configPath: 'sandbox.yml',
    configPathExplicit: false,
    skipSteps: [],
    dryRun: false,
    resume: { kind: 'auto' },
    windowId: `test-${process.pid}-${Date.now()}`,
    onlyOn: 'any',
    onFailure: 'stop',
    databasePassword: sandbox.postgres.password,
    reportDir: `${sandbox.root}/report`,
    openIssueOnFailure: false,
    run: { repository: 'test/repo', runId: '1', runAttempt: 1, workflow: 'test', serverUrl: 'https://github.com', actor: 'tester' },
    ...overrides,
  };
}
