import * as core from '@actions/core';
import { State } from './constants.js';
import { getErrorMessage } from './errors.js';
import { createSshTarget } from './remote/create-target.js';
import { actionInputSource } from './settings/action-inputs.js';
import { parseSettings, runContextFromEnv } from './settings/parse-settings.js';
import { createServiceManager } from './steps/services/service-manager.js';
import { loadConfig } from './settings/load-config.js';
import { releaseLockByToken } from './window/lock.js';
import { resolveWorkspacePath } from './workspace.js';

/** Cleans up after a main step that died: starts the app if a bracket left it down, releases the lock. Only warns. */
export async function post(): Promise<void> {
  const token = core.getState(State.lockHeld);
  if (core.getState(State.windowFinished) === 'true' || !token) return;
  core.warning('the main step did not finish: checking the host');
  const settings = parseSettings(actionInputSource(), runContextFromEnv());
  const config = loadConfig(resolveWorkspacePath(settings.configPath), { required: settings.configPathExplicit });
  const target = createSshTarget(settings, { info: core.info, warn: core.warning });
  try {
    if (core.getState(State.bracketOpen) === 'true') {
      const services = createServiceManager(target, config);
      core.info('the app was stopped for the downtime bracket: starting it again');
      await services.start().catch((error: unknown) => core.warning(`starting the app failed: ${getErrorMessage(error)}`));
      const health = await services.waitHealthy();
      if (health.healthy) core.info('the app is healthy again');
      else core.error(`the app is not healthy after the interrupted window: ${health.detail}`);
    }
    const released = await releaseLockByToken(target, config.stateDir, token);
    core.info(released ? 'released the window lock' : 'the window lock was already gone');
  } finally {
    await target.close();
  }
}
