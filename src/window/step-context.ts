import type { Tier } from '../constants.js';
import { Database } from '../database/database.js';
import type { Target } from '../remote/target.js';
import type { MaintenanceConfig } from '../settings/config.js';
import type { Settings } from '../settings/settings.js';
import { createServiceManager } from '../steps/services/service-manager.js';
import type { Logger, StepContext, WindowFacts } from '../steps/step.js';

export interface ContextParts {
  target: Target;
  config: MaintenanceConfig;
  settings: Settings;
  tier: Tier;
  log: Logger;
  facts?: WindowFacts;
  saveFacts?: (update: Partial<WindowFacts>) => Promise<void>;
  now?: () => Date;
}

/** Shared per window: one database pool through one tunnel, opened on first use. */
export class WindowResources {
  private database?: Promise<Database>;

  constructor(private readonly parts: ContextParts) {}

  db(): Promise<Database> {
    const { config, settings, target } = this.parts;
    this.database ??= Database.open(
      target,
      {
        host: config.database.host,
        port: config.database.port,
        name: config.database.name,
        user: config.database.user,
        password: settings.databasePassword,
        lockTimeoutMs: config.database.lockTimeoutMs,
        statementTimeoutMs: config.database.statementTimeoutMs,
        // PostgreSQL keeps 63 bytes of it; the leftover-session match compares what it keeps.
        applicationName: `maintenance-window ${settings.windowId}`.slice(0, 63),
      },
      Math.max(2, config.database.vacuumJobs + 1),
    )
      .then(async (database) => {
        await this.endLeftoverSessions(database);
        return database;
      })
      .catch((error: unknown) => {
        this.database = undefined;
        throw error;
      });
    return this.database;
  }

  /**
   * A runner that died or lost its connection can leave its statement (a VACUUM FULL, a REINDEX) running on the
   * server, holding locks. Sessions of this same window are ours: end them before starting again.
   */
  private async endLeftoverSessions(database: Database): Promise<void> {
    const rows = await database
      .query<{ pid: number }>( // Materialized first: the filter must run before pg_terminate_backend sees any other session.
        `with mine as materialized (select pid from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()) select pid from mine where pg_terminate_backend(pid)`,
        [database.options.applicationName],
      )
      .catch(() => []);
    if (rows.length > 0)
      this.parts.log.warn(
        `ended ${rows.length} database session(s) an earlier attempt of this window left running (pid ${rows.map((row) => row.pid).join(', ')})`,
      );
  }

  /** Drops the pool so the next db() reconnects (after a connection loss). */
  async resetDatabase(): Promise<void> {
    const current = this.database;
    this.database = undefined;
    if (current) await (await current.catch(() => undefined))?.close();
  }

  async close(): Promise<void> {
    await this.resetDatabase();
  }

  context(signal: AbortSignal): StepContext {
    const { parts } = this;
    const facts = parts.facts ?? {};
    return {
      target: parts.target,
      config: parts.config,
      settings: parts.settings,
      tier: parts.tier,
      db: () => this.db(),
      services: createServiceManager(parts.target, parts.config),
      log: parts.log,
      facts,
      saveFacts:
        parts.saveFacts ??
        (async (update) => {
          Object.assign(facts, update);
        }),
      signal,
      now: parts.now ?? (() => new Date()),
      databaseEnv: (): Record<string, string> => (parts.settings.databasePassword ? { PGPASSWORD: parts.settings.databasePassword } : {}),
    };
  }
}
