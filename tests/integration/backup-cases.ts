/** Shared by the backup / preflight / verify / rollback tests: per-case backup directories on a sandbox. */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { StepFactory, StepOutcome, WindowFacts } from '../../src/steps/step.js';
import { WindowResources } from '../../src/window/step-context.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { sandboxConfig, sandboxSettings } from '../support/sandbox-config.js';
import { memoryLogger, sandboxTarget } from '../support/step-harness.js';

let cases = 0;

/** A new backup directory holding copies of the given files (and their sidecars, when present). */
export function caseDir(sandbox: Sandbox, files: string[] = []): string {
  const dir = join(sandbox.root, 'cases', `case-${++cases}`);
  mkdirSync(dir, { recursive: true });
  for (const file of files) {
    copyFileSync(file, join(dir, basename(file)));
    try {
      copyFileSync(`${file}.sha256`, join(dir, `${basename(file)}.sha256`));
    } catch {
      // no sidecar to copy
    }
  }
  return dir;
}

/** The sandbox's own backups of a kind, found by extension. */
export function sandboxBackups(sandbox: Sandbox, extension: '.sql.gz' | '.dump'): string[] {
  return readdirSync(sandbox.backupsDir)
    .filter((name) => name.endsWith(extension))
    .map((name) => join(sandbox.backupsDir, name));
}

/** Rewrites file's sha256sum sidecar to match its current content (a backup job that checksummed a bad file). */
export function resign(file: string): void {
  const sum = createHash('sha256').update(readFileSync(file)).digest('hex');
  writeFileSync(`${file}.sha256`, `${sum}  ${basename(file)}\n`);
}

export async function rowCount(sandbox: Sandbox, table: string, database: string = sandbox.postgres.database): Promise<number> {
  return Number(await sandbox.psql(`select count(*) from ${table}`, database));
}

export interface CaseResult {
  outcome: StepOutcome;
  facts: WindowFacts;
  log: string[];
}

/**
 * Like stepHarness, but one SSH connection for a whole test file and a config per case (each case builds its
 * own WindowResources: its own database pool, facts and log).
 */
export function caseRunner(sandbox: Sandbox) {
  const target = sandboxTarget(sandbox);
  return {
    target,
    async run(factory: StepFactory, config: Record<string, unknown> = {}, facts: WindowFacts = {}, signal = new AbortController().signal): Promise<CaseResult> {
      const settings = sandboxSettings(sandbox);
      const log = memoryLogger();
      const resources = new WindowResources({ target, config: sandboxConfig(sandbox, config), settings, tier: settings.tier, log, facts });
      try {
        const context = resources.context(signal);
        const outcome = await factory(context.config).run(context);
        return { outcome, facts, log: log.lines };
      } finally {
        await resources.close();
      }
    },
    close: () => target.close(),
  };
}

/** Watches every process's command line (what `ps` shows) until stopped; returns those containing secret. */
export function watchCommandLines(secret: string): { stop(): string[] } {
  const seen = new Set<string>();
  const timer = setInterval(() => {
    for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      try {
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
        if (args.includes(secret)) seen.add(args);
      } catch {
        // the process ended
      }
    }
  }, 15);
  return {
    stop: () => {
      clearInterval(timer);
      return [...seen];
    },
  };
}
