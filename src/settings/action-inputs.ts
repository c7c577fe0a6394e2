import * as core from '@actions/core';
import type { InputSource } from './input-source.js';

/** Action inputs through @actions/core: the only caller of core.getInput. */
export function actionInputSource(): InputSource {
  return {
    get: (name) => core.getInput(name).trim(),
    markSecret: (value) => {
      core.setSecret(value);
      // Multi-line secrets (keys) are masked line by line too.
      for (const line of value.split('\n')) if (line.trim().length >= 8) core.setSecret(line.trim());
    },
    debug: (message) => core.debug(message),
  };
}
