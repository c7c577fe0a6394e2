import { SshTarget } from '../../src/remote/ssh-target.js';
import type { ExecOptions, Target } from '../../src/remote/target.js';
import { parseConfig } from '../../src/settings/load-config.js';
import type { Settings } from '../../src/settings/settings.js';
import { executeWindow } from '../../src/window/execute.js';
import type { WindowResult } from '../../src/window/result.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { sandboxConfigYaml, sandboxSettings } from './sandbox-config.js';
import { memoryLogger } from './step-harness.js';

/** A fault to inject once, right before the first remote command whose script contains `when`. */
export interface ExecFault {
  when: string;
  inject: () => Promise<void>;
}

/** The real SSH target, with faults injected at exact points (a real sshd really stopped, not a fake error). */
export function faultTarget(inner: Target, faults: ExecFault[]): Target {
  const pending = [...faults];
  return {
    description: inner.description,
    async exec(script: string, options?: ExecOptions) {
      const index = pending.findIndex((fault) => script.includes(fault.when));
      if (index >= 0) await pending.splice(index, 1)[0].inject();
      return inner.exec(script, options);
    },
    tunnel: (host, port) => inner.tunnel(host, port),
    readFile: (path) => inner.readFile(path),
    writeFileAtomic: (path, content, mode) => inner.writeFileAtomic(path, content, mode),
    close: () => inner.close(),
  };
}

/** runSandboxWindow with faults and the connect timeout under the test's control. */
export async function runFaultWindow(
  sandbox: Sandbox,
  options: { config?: Record<string, unknown>; settings?: Partial<Settings>; faults?: ExecFault[] } = {},
): Promise<WindowResult & { lines: string[] }> {
  const config = parseConfig(sandboxConfigYaml(sandbox, options.config), 'sandbox.yml');
  const settings = sandboxSettings(sandbox, options.settings);
  const log = memoryLogger();
  const ssh = new SshTarget({
    host: sandbox.ssh.host,
    port: sandbox.ssh.port,
    username: sandbox.ssh.username,
    privateKey: sandbox.ssh.privateKey,
    connectTimeoutMs: settings.connectTimeoutMs,
    hostKeys: { strict: true, knownHosts: sandbox.ssh.knownHosts, warn: log.warn },
    log: log.info,
  });
  const io = { ...log, group: async <T>(name: string, work: () => Promise<T>) => (log.info(`group: ${name}`), work()) };
  try {
    const result = await executeWindow({ settings, config, io, target: faultTarget(ssh, options.faults ?? []) });
    return { ...result, lines: log.lines };
  } finally {
    await ssh.close();
  }
}
