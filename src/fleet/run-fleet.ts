import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { getErrorMessage } from '../errors.js';
import { shouldRunOn } from '../plan/only-on.js';
import { ANNOTATIONS_PER_LEVEL, type ArtifactUploader, type PublishIO } from '../report/publish.js';
import { maskText, secretForms } from '../report/secret-mask.js';
import { runUrl } from '../run-and-report.js';
import { loadConfig } from '../settings/load-config.js';
import { secretsOf, type Settings } from '../settings/settings.js';
import type { RunnerIO } from '../window/runner-io.js';
import { resolveWorkspacePath } from '../workspace.js';
import { fleetFailureMessage, fleetOutcome, type FleetResult } from './fleet-result.js';
import { renderFleetSummary } from './fleet-markdown.js';
import { FLEET_JSON, FLEET_SUMMARY, fleetAnnotations, fleetArtifactName, fleetJson, fleetOutputs } from './fleet-report.js';
import { describeLimit, resolveLimit } from './limits.js';
import { runPool } from './pool.js';
import { runHost, type HostRun, type HostRunContext } from './run-host.js';

export interface FleetRunOptions {
  /** Settings with `fleet` set. */
  settings: Settings;
  io: RunnerIO;
  publish: PublishIO;
  /** Absent in the CLI: the reports stay in report-dir. */
  artifact?: ArtifactUploader;
  cancel?: AbortSignal;
  now?: () => Date;
  env?: NodeJS.ProcessEnv;
  /** Tests hand in their own targets. */
  connect?: HostRunContext['connect'];
}

export interface FleetReport {
  fleet: FleetResult;
  /** fleet.json, fleet.md and every host's report files. */
  files: string[];
  summary: string;
}

/** Runs the hosts of this job (its shard) a few at a time within the error budget; never throws for a host. */
async function runHosts(options: FleetRunOptions, context: HostRunContext, concurrency: number, errorBudget: number) {
  const { hosts } = options.settings.fleet!;
  const pool = await runPool(hosts, {
    concurrency,
    maxErrors: errorBudget,
    cancel: options.cancel,
    run: (host) => runHost(context, host),
    onThrow: (error, host): HostRun => ({ host, status: 'failed', error: getErrorMessage(error) }),
    isError: (run) => run.status === 'failed',
  });
  const runs = pool.entries.map((entry, index): HostRun =>
    entry.started ? entry.result : { host: hosts[index], status: 'not-started', notStarted: entry.reason },
  );
  return { runs, pool };
}

async function publishFleet(report: FleetReport, options: FleetRunOptions): Promise<void> {
  const io = options.publish;
  const { fleet } = report;
  try {
    await io.summary.write(report.summary);
  } catch (error) {
    io.annotate(
      'warning',
      `writing the job summary failed: ${getErrorMessage(error)}; it is in ${path.join(fleet.reportDir, FLEET_SUMMARY)}`,
      'Job summary not written',
    );
  }
  for (const [name, value] of Object.entries(fleetOutputs(fleet))) io.setOutput(name, value);
  const annotations = fleetAnnotations(fleet);
  for (const level of ['error', 'warning'] as const) {
    const ofLevel = annotations.filter((annotation) => annotation.level === level);
    for (const annotation of ofLevel.slice(0, ANNOTATIONS_PER_LEVEL)) io.annotate(level, annotation.message, annotation.title);
    if (ofLevel.length > ANNOTATIONS_PER_LEVEL)
      io.annotate('notice', `${ofLevel.length - ANNOTATIONS_PER_LEVEL} more ${level}s are in the job summary and the host reports.`, `More ${level}s`);
  }
  const env = options.env ?? process.env;
  if (options.artifact && !env.ACTIONS_RUNTIME_TOKEN) {
    io.annotate(
      'notice',
      `Not running in GitHub Actions (ACTIONS_RUNTIME_TOKEN is not set): the reports stay in ${fleet.reportDir}.`,
      'Artifact upload skipped',
    );
  } else if (options.artifact) {
    try {
      await options.artifact.upload(fleet.artifactName, report.files, fleet.reportDir);
    } catch (error) {
      io.annotate(
        'warning',
        `uploading artifact ${fleet.artifactName} failed: ${getErrorMessage(error)}; the reports are in ${fleet.reportDir} on the runner`,
        'Artifact upload failed',
      );
    }
  }
}

/**
 * A window across many hosts in one run: each host gets its own connection, lock, journal and report under
 * `<report-dir>/<label>/`; the job summary aggregates them (a row per host) and one artifact holds them all.
 */
export async function runFleetAndReport(options: FleetRunOptions): Promise<FleetReport> {
  const { settings, io } = options;
  const fleet = settings.fleet;
  if (!fleet) throw new Error('runFleetAndReport needs settings with hosts or an inventory');
  const now = options.now ?? (() => new Date());
  const config = loadConfig(resolveWorkspacePath(settings.configPath), { required: settings.configPathExplicit });
  const reportDir = resolveWorkspacePath(settings.reportDir);
  const startedAt = now().toISOString();
  const concurrency = resolveLimit(fleet.maxConcurrency, fleet.hosts.length, 1);
  const errorBudget = resolveLimit(fleet.maxErrors, fleet.hosts.length, 0);
  const artifactName = fleetArtifactName(settings);
  const context: HostRunContext = {
    settings,
    config,
    io,
    reportDir,
    artifactName,
    runUrl: runUrl(settings),
    cancel: options.cancel,
    now,
    connect: options.connect,
  };

  const guard = shouldRunOn(settings.onlyOn, now(), config.window.timezone);
  const shard = fleet.shard ? ` (shard ${fleet.shard.index}/${fleet.shard.count} of ${fleet.inventorySize})` : '';
  let runs: HostRun[];
  let pool = { errors: 0, budgetSpent: false, peakInFlight: 0 };
  if (!guard.run) {
    io.info(`not running today: ${guard.reason}`);
    runs = fleet.hosts.map((host) => ({ host, status: 'skipped' }));
  } else {
    if (fleet.hosts.length === 0) io.warn(`no hosts in this shard${shard}: nothing to do`);
    io.info(
      `fleet: ${fleet.hosts.length} host(s)${shard} from ${fleet.source}, at most ${concurrency} at a time (max-concurrency ${describeLimit(fleet.maxConcurrency)}), ` +
        `no new host after ${errorBudget + 1} failure(s) (max-errors ${describeLimit(fleet.maxErrors)})`,
    );
    ({ runs, pool } = await runHosts(options, context, concurrency, errorBudget));
  }
  for (const run of runs) if (run.status !== 'skipped') io.info(`[${run.host.label}] ${run.status}${run.notStarted ? ` (${run.notStarted})` : ''}`);

  const partial = { hosts: runs, errorBudget, maxErrors: fleet.maxErrors, budgetSpent: pool.budgetSpent, tier: settings.tier };
  const result: FleetResult = {
    result: fleetOutcome(runs, settings.dryRun),
    tier: settings.tier,
    windowId: settings.windowId,
    dryRun: settings.dryRun,
    source: fleet.source,
    inventorySize: fleet.inventorySize,
    shard: fleet.shard,
    maxConcurrency: fleet.maxConcurrency,
    concurrency,
    maxErrors: fleet.maxErrors,
    errorBudget,
    errors: pool.errors,
    budgetSpent: pool.budgetSpent,
    peakInFlight: pool.peakInFlight,
    startedAt,
    endedAt: now().toISOString(),
    skippedReason: guard.run ? undefined : guard.reason,
    hosts: runs,
    artifactName,
    reportDir,
    failureMessage: fleetFailureMessage(partial),
  };
  // The host reports are masked already; the aggregate is masked again as the last line of defence.
  const forms = secretForms(secretsOf(settings));
  const summary = maskText(renderFleetSummary(result), forms);
  await mkdir(reportDir, { recursive: true });
  const own = [path.join(reportDir, FLEET_JSON), path.join(reportDir, FLEET_SUMMARY)];
  await writeFile(own[0], maskText(JSON.stringify(fleetJson(result), null, 2) + '\n', forms));
  await writeFile(own[1], summary);
  const report: FleetReport = { fleet: result, files: [...own, ...runs.flatMap((run) => run.report?.files ?? [])], summary };
  await publishFleet(report, options);
  io.info(`fleet report written to ${reportDir}`);
  return report;
}
