/** The one place that turns an unknown thrown value into a message. */
export function getErrorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

/** Bad input: names the input, the value (unless secret) and what is accepted. Raised before the host is touched. */
export class InputError extends Error {
  constructor(
    readonly input: string,
    value: string | undefined,
    accepted: string,
    options: { secret?: boolean } = {},
  ) {
    const shown = options.secret ? '(secret, not shown)' : JSON.stringify(value ?? '');
    super(`Input '${input}' has an invalid value ${shown}: ${accepted}.`);
    this.name = 'InputError';
  }
}

/** Many problems found at once (config validation, plan building), each on its own line. */
export class ValidationError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n` + problems.map((p) => `  - ${p}`).join('\n'));
    this.name = 'ValidationError';
  }
}
