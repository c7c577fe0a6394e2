import * as core from '@actions/core';
import type { InputSource } from './input-source.js';

/** Action inputs through @actions/core: the only caller of core.getInput. */
export function actionInputSource(): InputSource {
  const masked = new Set<string>();
  const mask = (value: string) => {
    if (masked.has(value)) return;
    masked.add(value);
    core.setSecret(value);
  };
  return {
    get: (name) => core.getInput(name).trim(),
    markSecret: (value) => {
      mask(value);
      // Multi-line secrets (keys) are masked line by line too.
      if (value.includes('\n')) for (const line of value.split('\n')) if (line.trim().length >= 8) mask(line.trim());
    },
    debug: (message) => core.debug(message),
  };
}
