import { MINUTES, type Finding, type StepContext, type StepFactory, type StepOutcome } from '../step.js';
import { lastLines, parsePruneOutput, parseSystemDf, probeDocker, runDocker } from './docker-cli.js';

const COMPOSE_LABEL = 'com.docker.compose.project';
const SYSTEM_DF = `docker system df --format '{{json .}}'`;
/** Stopped compose containers are kept: an operator may have stopped a service on purpose (`compose start` needs it). */
const LIST_KEPT_CONTAINERS = `docker ps -a --filter status=exited --filter status=created --filter label=${COMPOSE_LABEL} --format '{{.Names}}\t{{.Label "${COMPOSE_LABEL}"}}'`;

interface Prune {
  key: 'containers' | 'networks' | 'images' | 'buildCache';
  command: string;
  /** An engine without it (Podman has no BuildKit cache API) is reported, not failed. */
  optional?: boolean;
}

/** Containers first: the networks and images they held become prunable in the same run. */
const PRUNES: Prune[] = [
  { key: 'containers', command: `docker container prune -f --filter 'label!=${COMPOSE_LABEL}'` },
  { key: 'networks', command: `docker network prune -f --filter 'label!=${COMPOSE_LABEL}'` },
  { key: 'images', command: 'docker image prune -f --filter until=168h' },
  { key: 'buildCache', command: 'docker builder prune -f --filter until=168h', optional: true },
];

interface PruneResult {
  command: string;
  ok: boolean;
  removed: string[];
  reclaimedBytes: number;
  error?: string;
}

async function prune(ctx: StepContext, step: Prune): Promise<PruneResult> {
  const result = await runDocker(ctx, step.command);
  if (result.code !== 0) {
    return {
      command: step.command,
      ok: false,
      removed: [],
      reclaimedBytes: 0,
      error: `exit code ${result.code}: ${lastLines(result.stderr) || lastLines(result.stdout)}`,
    };
  }
  return { command: step.command, ok: true, ...parsePruneOutput(result.stdout) };
}

async function keptComposeContainers(ctx: StepContext): Promise<{ name: string; project: string }[]> {
  const result = await runDocker(ctx, LIST_KEPT_CONTAINERS);
  if (result.code !== 0) return [];
  return result.stdout
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [name = '', project = ''] = line.split('\t');
      return { name, project };
    });
}

async function run(ctx: StepContext): Promise<StepOutcome> {
  const probe = await probeDocker(ctx, SYSTEM_DF, 'Docker cleanup');
  if (!probe.ok) return probe.outcome;
  const before = parseSystemDf(probe.stdout);
  const kept = await keptComposeContainers(ctx);

  const results = {} as Record<Prune['key'], PruneResult>;
  for (const step of PRUNES) {
    results[step.key] = await prune(ctx, step);
    const result = results[step.key];
    if (result.ok) ctx.log.info(`${step.command}: removed ${result.removed.length}`);
    else ctx.log.warn(`${step.command} failed (${result.error})`);
  }
  const afterResult = await runDocker(ctx, SYSTEM_DF);
  const after = afterResult.code === 0 ? parseSystemDf(afterResult.stdout) : undefined;

  const failed = PRUNES.filter((step) => !step.optional && !results[step.key].ok);
  const buildCache = results.buildCache;
  const reclaimedBytes = Object.values(results).reduce((sum, result) => sum + result.reclaimedBytes, 0);
  const findings: Finding[] = failed.map((step) => ({
    severity: 'warning',
    title: `${step.command} failed`,
    evidence: results[step.key].error,
    action: 'Run it by hand on the host and read the engine error.',
  }));
  const notes = [
    kept.length
      ? `kept ${kept.length} stopped container(s) of compose project(s) ${[...new Set(kept.map((entry) => entry.project))].join(', ')} (filtered by label ${COMPOSE_LABEL}; they may be stopped on purpose)`
      : `stopped containers with label ${COMPOSE_LABEL} are never pruned`,
    buildCache.ok
      ? `build cache: removed ${buildCache.removed.length} record(s)`
      : `build cache not pruned: the engine does not support it (${buildCache.error})`,
  ];
  const summary =
    `removed ${results.images.removed.length} dangling image(s) older than 7 days, ${results.containers.removed.length} stopped container(s), ` +
    `${results.networks.removed.length} unused network(s); reclaimed ${reclaimedBytes} bytes` +
    (failed.length ? `; failed: ${failed.map((step) => step.command).join('; ')}` : '');

  return {
    status: failed.length ? 'failed' : 'succeeded',
    summary,
    metrics: {
      reclaimedBytes,
      imagesRemoved: results.images.removed.length,
      containersRemoved: results.containers.removed.length,
      networksRemoved: results.networks.removed.length,
      containersKept: kept.length,
      dockerBytesBefore: before.totalBytes,
      ...(after ? { dockerBytesAfter: after.totalBytes } : {}),
    },
    details: { before: before.rows, after: after?.rows, prunes: results, keptContainers: kept, notes },
    findings,
  };
}

export const dockerCleanup: StepFactory = () => ({
  id: 'docker.cleanup',
  title: 'Docker cleanup',
  description: 'Prunes stopped containers (never those of compose projects), unused networks, dangling images and build cache older than 7 days.',
  commands: [SYSTEM_DF, LIST_KEPT_CONTAINERS, ...PRUNES.map((step) => step.command), SYSTEM_DF],
  impact: 'none',
  destructive: false,
  idempotent: true,
  timeoutMs: 30 * MINUTES,
  retries: 1,
  run,
});
