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
        applicationName: `maintenance-window ${settings.windowId}`,
      },
      Math.max(2, config.database.vacuumJobs + 1),
    ).catch((error: unknown) => {
      this.database = undefined;
      throw error;
    });
    return this.database;
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
