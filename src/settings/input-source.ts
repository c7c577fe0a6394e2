/** Where raw input strings come from: action inputs or CLI flags. */
export interface InputSource {
  /** The trimmed value, or '' when absent. */
  get(name: string): string;
  /** Called at once for every secret value so that loggers mask it. */
  markSecret(value: string): void;
  /** Debug log of a non-secret value. */
  debug(message: string): void;
}

/** A source backed by a plain map (CLI flags, tests). */
export function mapInputSource(values: Record<string, string | undefined>, secrets: string[] = []): InputSource {
  return {
    get: (name) => (values[name] ?? '').trim(),
    markSecret: (value) => {
      secrets.push(value);
    },
    debug: () => undefined,
  };
}
