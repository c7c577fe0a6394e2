import { quote } from '../../remote/shell.js';
import { RemoteCommandError } from '../../remote/target.js';
import { lastLines, runDocker } from '../docker/docker-cli.js';
import { MINUTES, type Finding, type StepContext, type StepFactory, type StepOutcome } from '../step.js';
import { archiveAppLogsScript, parseArchiveEvents, type ArchiveEvent } from './archive-app-logs.js';
import { rotateLiveFile, type LiveRotation } from './rotate-live-file.js';

const NO_DOCKER = '__mw_no_docker_cli__';
const LOG_FORMAT = `{{.Name}}\t{{.LogPath}}\t{{json .HostConfig.LogConfig.Config}}`;
const LIST_CONTAINER_LOGS = `command -v docker >/dev/null 2>&1 || { echo ${NO_DOCKER}; exit 0; }; ids=$(docker ps -q --no-trunc) || exit $?; [ -z "$ids" ] || docker inspect --format '${LOG_FORMAT}' $ids`;

interface ContainerLog {
  container: string;
  logPath: string;
  sizeBytes: number;
  /** The engine's own rotation options (max-size / max-file), if any. */
  logOptions: Record<string, string>;
}

export interface ContainerLogReport {
  checked: ContainerLog[];
  rotations: LiveRotation[];
  /** Over the limit, but the engine rotates them itself (max-size set). */
  engineRotated: string[];
  note?: string;
  error?: string;
}

function stamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

async function listContainerLogs(ctx: StepContext): Promise<ContainerLog[] | { note?: string; error?: string }> {
  const listed = await runDocker(ctx, LIST_CONTAINER_LOGS);
  if (listed.code === 0 && listed.stdout.includes(NO_DOCKER)) return { note: 'no docker CLI on the host: no container logs checked' };
  if (listed.code !== 0) {
    const problem = `the container engine does not answer (exit code ${listed.code}: ${lastLines(listed.stderr)})`;
    // Only a problem when the app runs on it; else there is simply no engine on this host.
    return ctx.config.services.manager === 'compose' ? { error: problem } : { note: `${problem}: no container logs checked` };
  }
  const entries = listed.stdout
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [name = '', logPath = '', options = 'null'] = line.split('\t');
      let logOptions: Record<string, string> = {};
      try {
        logOptions = (JSON.parse(options) as Record<string, string> | null) ?? {};
      } catch {
        // unparseable options: treated as none
      }
      return { container: name.replace(/^\//, ''), logPath, logOptions };
    })
    .filter((entry) => entry.logPath);
  if (entries.length === 0) return [];
  const sizes = await ctx.target.exec(`for p in ${entries.map((entry) => quote(entry.logPath)).join(' ')}; do stat -c %s -- "$p" 2>/dev/null || echo -1; done`);
  const values = sizes.stdout.split('\n').filter(Boolean).map(Number);
  return entries.map((entry, index) => ({ ...entry, sizeBytes: values[index] ?? -1 }));
}

async function rotateContainerLogs(ctx: StepContext): Promise<ContainerLogReport> {
  const listed = await listContainerLogs(ctx);
  if (!Array.isArray(listed)) return { checked: [], rotations: [], engineRotated: [], ...listed };
  const report: ContainerLogReport = { checked: listed, rotations: [], engineRotated: [] };
  for (const log of listed.filter((entry) => entry.sizeBytes > ctx.config.logs.containerLogMaxBytes)) {
    if (log.logOptions['max-size']) {
      report.engineRotated.push(log.container);
      continue;
    }
    const safeName = log.container.replace(/[^A-Za-z0-9_.-]/g, '_');
    const archivePath = `${ctx.config.logs.archiveDir}/containers/${safeName}-${stamp(ctx.now())}.log.gz`;
    const rotation = await rotateLiveFile(ctx.target, log.logPath, archivePath, ctx.signal);
    ctx.log.info(
      `container ${log.container}: ${rotation.status}${rotation.status === 'rotated' ? `, ${rotation.archivedBytes} bytes moved to ${archivePath}` : ''}`,
    );
    report.rotations.push(rotation);
  }
  return report;
}

function findingsFor(events: ArchiveEvent[], containers: ContainerLogReport, maxBytes: number): Finding[] {
  const findings: Finding[] = [];
  for (const event of events) {
    if (event.kind === 'failed')
      findings.push({
        severity: 'warning',
        title: `could not archive ${event.path}`,
        evidence: event.detail,
        action: 'The log was left in place; check permissions and free space.',
      });
    if (event.kind === 'missing-dir')
      findings.push({ severity: 'warning', title: `log directory ${event.path} does not exist`, action: 'Fix logs.dirs in the maintenance config.' });
    if (event.kind === 'changed')
      findings.push({
        severity: 'info',
        title: `${event.source} changed while it was compressed`,
        evidence: 'it is still written to, so it was left in place',
      });
  }
  if (containers.error) findings.push({ severity: 'warning', title: 'container logs were not checked', evidence: containers.error });
  const byPath = new Map(containers.checked.map((log) => [log.logPath, log]));
  for (const rotation of containers.rotations) {
    const container = byPath.get(rotation.path)?.container ?? rotation.path;
    const evidence = `${rotation.path}: ${rotation.sizeBefore} bytes (limit ${maxBytes})${rotation.detail ? `; ${rotation.detail}` : ''}`;
    const engineOptions =
      'Set the engine log options max-size and max-file for it (compose `logging.options`, or daemon.json / containers.conf `log_size_max`).';
    if (rotation.status === 'rotated') {
      findings.push({ severity: 'info', title: `container ${container} has no log size limit`, evidence, action: engineOptions });
    } else if (rotation.status === 'unsupported') {
      findings.push({
        severity: 'warning',
        title: `the log of container ${container} is over the limit and its filesystem cannot cut it in place`,
        evidence,
        action: `${engineOptions} It was not truncated: truncating loses the lines written meanwhile.`,
      });
    } else {
      findings.push({
        severity: rotation.status === 'error' ? 'warning' : 'info',
        title: `the log of container ${container} was not rotated (${rotation.status})`,
        evidence,
        action: engineOptions,
      });
    }
  }
  return findings;
}

async function run(ctx: StepContext): Promise<StepOutcome> {
  const { logs } = ctx.config;
  const script = archiveAppLogsScript({
    dirs: logs.dirs,
    archiveDir: logs.archiveDir,
    compressAfterDays: logs.compressAfterDays,
    deleteAfterDays: logs.deleteAfterDays,
  });
  const archived = await ctx.target.exec(script, { timeoutMs: 60 * MINUTES, signal: ctx.signal });
  if (archived.code !== 0)
    throw new RemoteCommandError(ctx.target.description, `archiving the logs of ${logs.dirs.join(', ')} into ${logs.archiveDir}`, archived);
  const events = parseArchiveEvents(archived.stdout);
  const containers = await rotateContainerLogs(ctx);

  const compressed = events.filter((event) => event.kind === 'compressed');
  const deleted = events.filter((event) => event.kind === 'deleted');
  const rotated = containers.rotations.filter((rotation) => rotation.status === 'rotated');
  const bytesFreed =
    compressed.reduce((sum, event) => sum + event.sourceBytes - event.archiveBytes, 0) +
    deleted.reduce((sum, event) => sum + event.bytes, 0) +
    rotated.reduce((sum, rotation) => sum + rotation.archivedBytes - rotation.archiveBytes, 0);
  const findings = findingsFor(events, containers, logs.containerLogMaxBytes);
  const missingDirs = events.filter((event) => event.kind === 'missing-dir').length;
  const nothingToLookAt = missingDirs === logs.dirs.length && containers.checked.length === 0;
  const summary =
    `compressed ${compressed.length} log(s) older than ${logs.compressAfterDays} days into ${logs.archiveDir}, deleted ${deleted.length} archive(s) older than ${logs.deleteAfterDays} days, ` +
    `rotated ${rotated.length} of ${containers.checked.filter((log) => log.sizeBytes > logs.containerLogMaxBytes).length} container log(s) over ${logs.containerLogMaxBytes} bytes without losing lines; freed ${bytesFreed} bytes`;
  return {
    status: nothingToLookAt ? 'skipped' : findings.some((finding) => finding.severity !== 'info') ? 'warning' : 'succeeded',
    summary: nothingToLookAt ? `no log directory exists (${logs.dirs.join(', ')}) and no container runs: nothing to rotate` : summary,
    metrics: { filesCompressed: compressed.length, archivesDeleted: deleted.length, bytesFreed, containerLogsRotated: rotated.length },
    details: { appLogs: events, containerLogs: containers },
    findings,
  };
}

export const logsRotate: StepFactory = (config) => ({
  id: 'logs.rotate',
  title: 'Log rotation and archival',
  description: `Gzips app logs older than ${config.logs.compressAfterDays} days into ${config.logs.archiveDir}, deletes archives older than ${config.logs.deleteAfterDays} days, and moves the head of container logs over ${config.logs.containerLogMaxBytes} bytes into archives without losing a line.`,
  commands: [
    `find ${config.logs.dirs.map(quote).join(' ')} -name '*.log' -mmin +${config.logs.compressAfterDays * 1440}  → gzip -c > ${config.logs.archiveDir}/<path>.gz (mtime kept, never overwriting), then rm`,
    `find ${quote(config.logs.archiveDir)} -name '*.gz' -mmin +${config.logs.deleteAfterDays * 1440}  → rm`,
    LIST_CONTAINER_LOGS,
    `head -c N <log> | gzip > ${config.logs.archiveDir}/containers/<name>-<time>.log.gz; fallocate --collapse-range --offset 0 --length N <log>   # N: last block boundary ending a line`,
  ],
  impact: 'none',
  destructive: false,
  idempotent: true,
  timeoutMs: 60 * MINUTES,
  retries: 1,
  run,
});
