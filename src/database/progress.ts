import type { Database, Row } from './database.js';

/** The progress views a maintenance statement reports to (PostgreSQL 13+ for all three). */
export type ProgressView = 'pg_stat_progress_vacuum' | 'pg_stat_progress_cluster' | 'pg_stat_progress_create_index';

export interface ProgressPoller {
  /** Stops polling and waits for a poll in flight; safe to call twice. */
  stop(): Promise<void>;
  /** The rows seen, oldest first (one per poll that found the pid in the view). */
  readonly samples: Row[];
}

export interface ProgressOptions {
  view: ProgressView;
  /** The backend running the statement (Session.pid). */
  pid: number;
  intervalMs: number;
  onSample(row: Row): void;
}

/**
 * Polls a pg_stat_progress_* view for one backend through the pool (so on another connection than
 * the statement's), every intervalMs, like `vacuumdb --verbose` / pg_repack keep operators informed.
 * A failed poll is ignored: progress is for the log, never a reason to stop the work.
 */
export function pollProgress(db: Pick<Database, 'query'>, options: ProgressOptions): ProgressPoller {
  const samples: Row[] = [];
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const poll = async () => {
    try {
      const [row] = await db.query(`SELECT * FROM ${options.view} WHERE pid = $1`, [options.pid]);
      if (row && !stopped) {
        samples.push(row);
        options.onSample(row);
      }
    } catch {
      // the pool may be busy or the connection gone; the statement's own result says what matters
    }
  };
  const schedule = () => {
    timer = setTimeout(() => {
      inFlight = poll().finally(() => {
        if (!stopped) schedule();
      });
    }, options.intervalMs);
    timer.unref();
  };
  schedule();

  return {
    samples,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight;
    },
  };
}

function percent(done: unknown, total: unknown): string {
  const d = Number(done);
  const t = Number(total);
  return t > 0 ? ` ${d}/${t} (${Math.round((100 * d) / t)}%)` : '';
}

/** One log line for a progress row: the phase and how far it got. */
export function describeProgress(view: ProgressView, row: Row): string {
  switch (view) {
    case 'pg_stat_progress_vacuum':
      return `${String(row.phase)}, heap blocks scanned${percent(row.heap_blks_scanned, row.heap_blks_total)}`;
    case 'pg_stat_progress_cluster':
      return `${String(row.phase)}, heap blocks scanned${percent(row.heap_blks_scanned, row.heap_blks_total)}, tuples written ${Number(row.heap_tuples_written)}`;
    case 'pg_stat_progress_create_index':
      return `${String(row.phase)}, blocks${percent(row.blocks_done, row.blocks_total)}, tuples${percent(row.tuples_done, row.tuples_total)}`;
  }
}
