import type { ExecOptions, ExecResult } from '../../remote/target.js';
import type { MaintenanceConfig } from '../../settings/config.js';
import { COMPOSE_DETECT, composeArgs } from '../services/service-manager.js';
import type { StepContext, StepOutcome } from '../step.js';
import { parseHumanSize } from '../../report/human-size.js';

/** Printed by the availability probe when the docker CLI is not installed. */
const NO_DOCKER = '__mw_no_docker_cli__';

/** Runs a docker script on the host with the configured environment (e.g. DOCKER_HOST) exported first. */
export function runDocker(ctx: StepContext, script: string, options: ExecOptions = {}): Promise<ExecResult> {
  return ctx.target.exec(ctx.services.prelude + script, { timeoutMs: 600_000, signal: ctx.signal, ...options });
}

/** Runs `compose …` (the v2 plugin or docker-compose v1) in the project dir with the configured compose file. */
export function runCompose(ctx: StepContext, args: string, options: ExecOptions = {}): Promise<ExecResult> {
  return runDocker(ctx, `${COMPOSE_DETECT}compose${composeArgs(ctx.config)} ${args}`, { cwd: ctx.config.services.projectDir, ...options });
}

/** The compose command line as shown in plans. */
export function composeShown(config: MaintenanceConfig, args: string): string {
  return `compose${composeArgs(config)} ${args}`;
}

export type DockerProbe = { ok: true; stdout: string } | { ok: false; outcome: StepOutcome };

/**
 * Runs a first docker command, telling "no docker here" (skipped) from "docker here but the engine does not
 * answer" (failed when the app runs on compose, since then the app depends on it; else skipped).
 */
export async function probeDocker(ctx: StepContext, firstCommand: string, what: string): Promise<DockerProbe> {
  const result = await runDocker(ctx, `command -v docker >/dev/null 2>&1 || { echo ${NO_DOCKER}; exit 0; }; ${firstCommand}`);
  if (result.code === 0 && result.stdout.includes(NO_DOCKER)) {
    return { ok: false, outcome: { status: 'skipped', summary: `${what} skipped: the docker CLI is not installed on ${ctx.target.description}` } };
  }
  if (result.code !== 0) {
    const error = lastLines(result.stderr) || `exit code ${result.code}`;
    const dependsOnDocker = ctx.config.services.manager === 'compose';
    return {
      ok: false,
      outcome: {
        status: dependsOnDocker ? 'failed' : 'skipped',
        summary: `${what} ${dependsOnDocker ? 'failed' : 'skipped'}: the container engine does not answer on ${ctx.target.description} (${error})`,
        details: { command: firstCommand, exitCode: result.code, stderr: error },
      },
    };
  }
  return { ok: true, stdout: result.stdout };
}

export function lastLines(text: string, count = 3): string {
  return text.trim().split('\n').slice(-count).join(' ').trim();
}

/** Docker's human sizes → bytes: one parser for the steps and the snapshot. */
export const parseDockerSize = parseHumanSize;

/** One JSON object per line, as printed by `--format '{{json .}}'`; other lines are ignored. */
export function parseJsonLines<T = Record<string, string>>(text: string): T[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as T];
      } catch {
        return [];
      }
    });
}

export interface DiskUsageRow {
  type: string;
  totalCount: number;
  active: number;
  sizeBytes?: number;
  reclaimableBytes?: number;
}

/** `docker system df --format '{{json .}}'` → rows and the total size of what docker knows about. */
export function parseSystemDf(text: string): { rows: DiskUsageRow[]; totalBytes: number } {
  const rows = parseJsonLines(text).map((row): DiskUsageRow => ({
    type: row.Type ?? '?',
    totalCount: Number(row.TotalCount ?? 0),
    active: Number(row.Active ?? 0),
    sizeBytes: parseDockerSize(row.Size ?? ''),
    reclaimableBytes: parseDockerSize(row.Reclaimable ?? ''),
  }));
  return { rows, totalBytes: rows.reduce((sum, row) => sum + (row.sizeBytes ?? 0), 0) };
}

/** A `docker … prune` report: what it removed ("deleted:" ids for images; untagged names are not removals). */
export function parsePruneOutput(text: string): { removed: string[]; reclaimedBytes: number } {
  const removed: string[] = [];
  let reclaimedBytes = 0;
  let inList = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const total = /^Total reclaimed space:\s*(.+)$/i.exec(line);
    if (total) {
      reclaimedBytes += parseDockerSize(total[1]!) ?? 0;
      inList = false;
    } else if (/^Deleted [A-Za-z ]+:$/.test(line)) {
      inList = true;
    } else if (!line) {
      inList = false;
    } else if (inList && !/^untagged:/i.test(line)) {
      removed.push(line.replace(/^deleted:\s*/i, ''));
    }
  }
  return { removed, reclaimedBytes };
}
