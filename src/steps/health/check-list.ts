import { getErrorMessage } from '../../errors.js';
import type { Finding, Severity, StepOutcome } from '../step.js';

/** One line of a checklist: severity says what a failure means (critical fails the step, warning warns). */
export interface Check {
  name: string;
  ok: boolean;
  severity: Severity;
  detail: string;
}

export class CheckList {
  readonly checks: Check[] = [];

  add(name: string, ok: boolean, severity: Severity, detail: string): Check {
    const check = { name, ok, severity, detail };
    this.checks.push(check);
    return check;
  }

  /** Runs a check; an exception fails it (with the message) instead of skipping the checks after it. */
  async attempt<T>(name: string, severity: Severity, work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (error) {
      this.add(name, false, severity, getErrorMessage(error));
      return undefined;
    }
  }

  failed(severity: Severity): Check[] {
    return this.checks.filter((check) => !check.ok && check.severity === severity);
  }

  status(): StepOutcome['status'] {
    if (this.failed('critical').length > 0) return 'failed';
    return this.failed('warning').length > 0 ? 'warning' : 'succeeded';
  }

  findings(actions: Record<string, string> = {}): Finding[] {
    return this.checks
      .filter((check) => !check.ok && check.severity !== 'info')
      .map((check) => ({ severity: check.severity, title: `${check.name}: ${check.detail}`, ...(actions[check.name] ? { action: actions[check.name] } : {}) }));
  }

  /** "name: detail; name: detail" of the failed checks of a severity. */
  describeFailed(severity: Severity): string {
    return this.failed(severity)
      .map((check) => `${check.name}: ${check.detail}`)
      .join('; ');
  }
}
