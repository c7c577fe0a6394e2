import type { Logger } from '../steps/step.js';
import { isConnectionError, isLockTimeout, type Database, type Session } from './database.js';
import { describeProgress, pollProgress, type ProgressView } from './progress.js';

export const PROGRESS_INTERVAL_MS = 5000;

export type StatementResult =
  | { ok: true; durationMs: number }
  /** lock: the lock was not granted within lock_timeout; nothing changed, try again later. */
  | { ok: false; durationMs: number; reason: 'lock' | 'error'; message: string; code?: string; detail?: string };

export interface TrackedStatement {
  /** What it works on, for the log ("public.orders"). */
  label: string;
  sql: string;
  progressView: ProgressView;
  lockTimeoutMs: number;
  log: Logger;
  signal: AbortSignal;
  progressIntervalMs?: number;
}

export class CancelledError extends Error {
  constructor(label: string) {
    super(`cancelled while working on ${label} (the statement was cancelled on the server)`);
    this.name = 'CancelledError';
  }
}

/**
 * Runs one maintenance statement on a session with lock_timeout, logs its progress every few
 * seconds, and cancels it on the server when the step is aborted (so nothing keeps running after the
 * runner gave up). A lock timeout or SQL error comes back as a result; a lost connection or an abort throws.
 */
export async function runTracked(db: Database, session: Session, statement: TrackedStatement): Promise<StatementResult> {
  const { label, log, signal } = statement;
  if (signal.aborted) throw new CancelledError(label);
  await session.setLockTimeout(statement.lockTimeoutMs);
  const started = Date.now();
  const poller = pollProgress(db, {
    view: statement.progressView,
    pid: session.pid,
    intervalMs: statement.progressIntervalMs ?? PROGRESS_INTERVAL_MS,
    onSample: (row) => log.info(`${label}: ${describeProgress(statement.progressView, row)}`),
  });
  const cancel = () => void db.query('SELECT pg_cancel_backend($1)', [session.pid]).catch(() => undefined);
  signal.addEventListener('abort', cancel, { once: true });
  try {
    await session.query(statement.sql);
    return { ok: true, durationMs: Date.now() - started };
  } catch (error) {
    if (signal.aborted) throw new CancelledError(label);
    if (isConnectionError(error)) throw error;
    const { code, detail } = error as { code?: string; detail?: string };
    return {
      ok: false,
      durationMs: Date.now() - started,
      reason: isLockTimeout(error) ? 'lock' : 'error',
      message: (error as Error).message,
      ...(code ? { code } : {}),
      ...(detail ? { detail } : {}),
    };
  } finally {
    signal.removeEventListener('abort', cancel);
    await poller.stop();
  }
}
