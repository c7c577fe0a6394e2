import { SshTarget } from '../../src/remote/ssh-target.js';
import type { MaintenanceConfig } from '../../src/settings/config.js';
import type { Settings } from '../../src/settings/settings.js';
import type { Logger, StepContext, StepDefinition, StepOutcome, WindowFacts } from '../../src/steps/step.js';
import { WindowResources } from '../../src/window/step-context.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { sandboxConfig, sandboxSettings } from './sandbox-config.js';

export function sandboxTarget(sandbox: Sandbox): SshTarget {
  return new SshTarget({
    host: sandbox.ssh.host,
    port: sandbox.ssh.port,
    username: sandbox.ssh.username,
    privateKey: sandbox.ssh.privateKey,
    connectTimeoutMs: 10_000,
    hostKeys: { strict: true, knownHosts: sandbox.ssh.knownHosts, warn: () => undefined },
  });
}

/** A logger that keeps every line, for assertions. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => void lines.push(`info: ${m}`),
    warn: (m) => void lines.push(`warn: ${m}`),
    error: (m) => void lines.push(`error: ${m}`),
    debug: (m) => void lines.push(`debug: ${m}`),
  };
}

export interface StepHarness {
  target: SshTarget;
  config: MaintenanceConfig;
  settings: Settings;
  facts: WindowFacts;
  log: ReturnType<typeof memoryLogger>;
  context(): StepContext;
  run(step: StepDefinition): Promise<StepOutcome>;
  close(): Promise<void>;
}

/** Runs single steps against a sandbox over real SSH and PostgreSQL, outside the runner. */
export function stepHarness(
  sandbox: Sandbox,
  options: { config?: Record<string, unknown>; settings?: Partial<Settings>; facts?: WindowFacts } = {},
): StepHarness {
  const target = sandboxTarget(sandbox);
  const config = sandboxConfig(sandbox, options.config);
  const settings = sandboxSettings(sandbox, options.settings);
  const facts: WindowFacts = options.facts ?? {};
  const log = memoryLogger();
  const resources = new WindowResources({ target, config, settings, tier: settings.tier, log, facts });
  const context = () => resources.context(new AbortController().signal);
  return {
    target,
    config,
    settings,
    facts,
    log,
    context,
    run: (step) => step.run(context()),
    close: async () => {
      await resources.close();
      await target.close();
    },
  };
}
