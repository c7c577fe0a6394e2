import type { RunnerIO } from '../window/runner-io.js';

/**
 * A host's log lines prefixed with its label. Hosts run side by side, so their lines interleave and log
 * groups (which cannot nest or overlap) become a marked line instead.
 */
export function hostIO(io: RunnerIO, label: string): RunnerIO {
  const tag = (message: string) => `[${label}] ${message}`;
  return {
    info: (message) => io.info(tag(message)),
    warn: (message) => io.warn(tag(message)),
    error: (message) => io.error(tag(message)),
    debug: (message) => io.debug(tag(message)),
    group: async (name, work) => {
      io.info(tag(`▶ ${name}`));
      return work();
    },
  };
}
