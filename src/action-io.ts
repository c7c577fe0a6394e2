import * as core from '@actions/core';
import type { RunnerIO } from './window/runner-io.js';

/** Runner output through @actions/core: log groups per step, annotations for warnings and errors. */
export function actionIO(): RunnerIO {
  return {
    info: (message) => core.info(message),
    warn: (message) => core.warning(message),
    error: (message) => core.error(message),
    debug: (message) => core.debug(message),
    group: (name, work) => core.group(name, work),
  };
}
