import { parseConfig } from '../../src/settings/load-config.js';
import type { Settings } from '../../src/settings/settings.js';
import { executeWindow } from '../../src/window/execute.js';
import type { WindowResult } from '../../src/window/result.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { sandboxConfigYaml, sandboxSettings } from './sandbox-config.js';
import { memoryLogger, sandboxTarget } from './step-harness.js';

export const FRAME_STEPS = ['snapshot.baseline', 'preflight', 'verify', 'snapshot.post'];

/** Runs a whole window (plan + runner) against a sandbox over real SSH, like the action does. */
export async function runSandboxWindow(
  sandbox: Sandbox,
  options: { config?: Record<string, unknown>; settings?: Partial<Settings>; now?: () => Date } = {},
): Promise<WindowResult & { lines: string[] }> {
  const config = parseConfig(sandboxConfigYaml(sandbox, options.config), 'sandbox.yml');
  const settings = sandboxSettings(sandbox, options.settings);
  const target = sandboxTarget(sandbox);
  const log = memoryLogger();
  const io = { ...log, group: async <T>(name: string, work: () => Promise<T>) => (log.info(`group: ${name}`), work()) };
  try {
    const result = await executeWindow({ settings, config, io, target, now: options.now });
    return { ...result, lines: log.lines };
  } finally {
    await target.close();
  }
}
