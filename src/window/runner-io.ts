import type { Logger } from '../steps/step.js';

/** How the runner talks to its host process: log groups and lines (core.* in the action, stdout in the CLI). */
export interface RunnerIO extends Logger {
  group<T>(name: string, work: () => Promise<T>): Promise<T>;
}

export function consoleIO(write: (line: string) => void = (line) => process.stdout.write(line + '\n')): RunnerIO {
  return {
    info: (m) => write(m),
    warn: (m) => write(`warning: ${m}`),
    error: (m) => write(`error: ${m}`),
    debug: () => undefined,
    group: async (name, work) => {
      write(`▶ ${name}`);
      return work();
    },
  };
}
