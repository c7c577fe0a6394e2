import { formatBytes, formatDuration } from '../report/human-size.js';
import { code, details, fitToLimit, number, SUMMARY_LIMIT_BYTES, table, text, truncate } from '../report/md.js';
import type { FleetResult } from './fleet-result.js';
import { failedStepOf } from './fleet-result.js';
import { describeLimit } from './limits.js';
import type { HostRun, HostStatus } from './run-host.js';

const STATUS: Record<HostStatus, string> = {
  succeeded: '✅ succeeded',
  'already-succeeded': '✅ already succeeded',
  failed: '❌ failed',
  deferred: '⏸️ deferred steps',
  planned: '📋 planned',
  skipped: '⏭️ skipped',
  'not-started': '▫️ not started',
};

const HEADLINE: Record<FleetResult['result'], string> = {
  succeeded: '✅',
  failed: '❌',
  deferred: '⏸️',
  planned: '📋',
  skipped: '⏭️',
};

const capitalize = (value: string) => value.charAt(0).toUpperCase() + value.slice(1);
const plural = (count: number, word: string) => `${number(count)} ${word}${count === 1 ? '' : 's'}`;
const address = (run: HostRun) => `${run.host.endpoint.username}@${run.host.endpoint.host}:${run.host.endpoint.port}`;

function headline(fleet: FleetResult): string {
  const hosts = plural(fleet.hosts.length, 'host');
  const failed = fleet.hosts.filter((run) => run.status === 'failed' || run.status === 'not-started').length;
  const verb =
    fleet.result === 'failed'
      ? `failed on ${number(failed)} of ${hosts}`
      : fleet.result === 'planned'
        ? `planned (dry run) on ${hosts}`
        : fleet.result === 'skipped'
          ? `skipped on ${hosts}`
          : fleet.result === 'deferred'
            ? `finished with deferred steps on ${hosts}`
            : `succeeded on ${hosts}`;
  return `## ${HEADLINE[fleet.result]} ${capitalize(fleet.tier)} maintenance window ${verb}`;
}

function factsLine(fleet: FleetResult): string {
  const facts = [`Window ${code(fleet.windowId)} (each host's is ${code(`${fleet.windowId}-<label>`)})`];
  const shard = fleet.shard
    ? `shard ${fleet.shard.index}/${fleet.shard.count}: ${plural(fleet.hosts.length, 'host')} of ${number(fleet.inventorySize)}`
    : plural(fleet.hosts.length, 'host');
  facts.push(`${shard} from ${text(fleet.source)}`);
  facts.push(`at most ${number(fleet.concurrency)} at a time (max-concurrency ${describeLimit(fleet.maxConcurrency)}), peak ${number(fleet.peakInFlight)}`);
  facts.push(`error budget ${plural(fleet.errorBudget, 'failure')} (max-errors ${describeLimit(fleet.maxErrors)})`);
  facts.push(`took ${formatDuration(Date.parse(fleet.endedAt) - Date.parse(fleet.startedAt))}`);
  return facts.join(' · ');
}

function tally(fleet: FleetResult): string {
  const counts = new Map<HostStatus, number>();
  for (const run of fleet.hosts) counts.set(run.status, (counts.get(run.status) ?? 0) + 1);
  return [...counts].map(([status, count]) => `${STATUS[status]}: ${number(count)}`).join(' · ');
}

function resultCell(run: HostRun): string {
  if (run.status === 'already-succeeded') return `${STATUS[run.status]} (run attempt ${run.result?.journal.runAttempt ?? '?'})`;
  if (run.status === 'not-started') return `${STATUS[run.status]} (${run.notStarted ?? 'error budget'})`;
  return STATUS[run.status];
}

function downtimeCell(run: HostRun): string {
  const seconds = run.result?.journal.bracket?.downtimeSeconds;
  if (seconds !== undefined) return formatDuration(seconds * 1000);
  return run.result && run.status !== 'planned' && run.status !== 'skipped' ? 'none' : '—';
}

function hostTable(fleet: FleetResult): string {
  const rows = fleet.hosts.map((run) => {
    const reclaimed = run.report?.diff.reclaimedBytes;
    const step = failedStepOf(run);
    return [
      text(run.host.label),
      code(address(run)),
      resultCell(run),
      run.durationMs !== undefined && run.status !== 'already-succeeded' ? formatDuration(run.durationMs) : '—',
      downtimeCell(run),
      reclaimed !== undefined ? formatBytes(reclaimed) : '—',
      step ? (step === 'did not start' ? 'did not start' : code(step)) : '—',
    ];
  });
  const downtime = fleet.hosts.reduce((sum, run) => sum + (run.result?.journal.bracket?.downtimeSeconds ?? 0), 0);
  const measured = fleet.hosts.map((run) => run.report?.diff.reclaimedBytes).filter((bytes): bytes is number => bytes !== undefined);
  const reclaimed = measured.length ? formatBytes(measured.reduce((sum, bytes) => sum + bytes, 0)) : '—';
  rows.push(['**All**', '', '', '', downtime ? formatDuration(downtime * 1000) : '—', reclaimed, '']);
  return table(['Host', 'Address', 'Result', 'Took', 'Downtime', 'Reclaimed', 'Failed step'], rows, ['l', 'l', 'l', 'r', 'r', 'r', 'l']);
}

function budgetNote(fleet: FleetResult): string {
  const notStarted = fleet.hosts.filter((run) => run.status === 'not-started').length;
  if (fleet.budgetSpent) {
    return `> [!CAUTION]\n> The error budget was spent: ${plural(fleet.errors, 'host')} failed, more than max-errors ${describeLimit(fleet.maxErrors)} (${number(fleet.errorBudget)}) allows, so ${plural(notStarted, 'host')} ${notStarted === 1 ? 'was' : 'were'} not started. Hosts already in flight finished.`;
  }
  if (notStarted) return `> [!WARNING]\n> The run was cancelled: ${plural(notStarted, 'host')} not started.`;
  return '';
}

function failuresSection(fleet: FleetResult, limit: number): string {
  const failed = fleet.hosts.filter((run) => run.status === 'failed');
  if (failed.length === 0) return '';
  const lines = failed.map(
    (run) => `- **${text(run.host.label)}**: ${text(truncate(run.result?.failureMessage ?? run.result?.journal.message ?? run.error ?? 'failed', limit))}`,
  );
  return `### Failures\n\n${lines.join('\n')}`;
}

function hostReports(fleet: FleetResult, onlyTrouble: boolean): string {
  const runs = fleet.hosts.filter((run) => run.report && (!onlyTrouble || !['succeeded', 'already-succeeded', 'planned', 'skipped'].includes(run.status)));
  if (runs.length === 0) return '';
  const blocks = runs.map((run) => details(`${text(run.host.label)} — ${resultCell(run)}`, run.report!.summary));
  const note = onlyTrouble ? '\n\n_Reports of the hosts that succeeded are in the artifact._' : '';
  return `### Host reports\n\n${blocks.join('\n\n')}${note}`;
}

/** Levels of detail, most first: every host's report; only the troubled hosts'; none; short failure lines. */
const LEVELS = 4;

/** The fleet's job summary: the aggregate at the top (a row per host), then each host's report folded. */
export function renderFleetSummary(fleet: FleetResult, maxBytes = SUMMARY_LIMIT_BYTES): string {
  const render = (level: number) => {
    const parts = [headline(fleet), factsLine(fleet)];
    if (fleet.skippedReason) parts.push(`Not running today: ${text(fleet.skippedReason)}. No host was contacted.`);
    if (fleet.hosts.length) parts.push(tally(fleet), hostTable(fleet));
    parts.push(budgetNote(fleet), failuresSection(fleet, level < 3 ? 2000 : 200));
    parts.push(
      `The artifact ${code(fleet.artifactName)} holds every host's report (${code('<label>/report.html')}, ${code('report.md')}, ${code('window.json')}, …) and ${code('fleet.json')}.`,
    );
    if (level < 2) parts.push(hostReports(fleet, level === 1));
    return parts.filter(Boolean).join('\n\n') + '\n';
  };
  return fitToLimit(render, LEVELS, maxBytes);
}
