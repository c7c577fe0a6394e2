import { hostConfig } from './fleet/host-settings.js';
import { artifactName, publishReport, type ArtifactUploader, type PublishIO } from './report/publish.js';
import type { Snapshot } from './report/snapshot-types.js';
import { writeReport, type WrittenReport } from './report/write-report.js';
import { loadConfig } from './settings/load-config.js';
import { secretsOf, type Settings } from './settings/settings.js';
import { executeWindow } from './window/execute.js';
import type { RunnerIO } from './window/runner-io.js';
import { resolveWorkspacePath } from './workspace.js';

export interface RunAndReportOptions {
  settings: Settings;
  io: RunnerIO;
  /** Summary, outputs and annotations: GitHub Actions, or the CLI's stdout. */
  publish: PublishIO;
  /** Absent in the CLI: the report stays in report-dir. */
  artifact?: ArtifactUploader;
  cancel?: AbortSignal;
  onLock?: (token: string | undefined) => void;
  onBracket?: (open: boolean) => void;
}

export function runUrl(settings: Settings): string | undefined {
  const { serverUrl, repository, runId, runAttempt } = settings.run;
  return runId ? `${serverUrl}/${repository}/actions/runs/${runId}/attempts/${runAttempt}` : undefined;
}

/** The engine shared by the action and the CLI: config, window, report files, summary, outputs, artifact. */
export async function runAndReport(options: RunAndReportOptions): Promise<WrittenReport> {
  const { settings, io } = options;
  // A `{host}` in state-dir means the same in a single-host run as in a fleet: the host's own directory.
  const config = hostConfig(loadConfig(resolveWorkspacePath(settings.configPath), { required: settings.configPathExplicit }), settings.target?.host ?? 'local');
  const result = await executeWindow({ settings, config, io, cancel: options.cancel, onLock: options.onLock, onBracket: options.onBracket });
  const reportDir = resolveWorkspacePath(settings.reportDir);
  const report = await writeReport(result, reportDir, secretsOf(settings), {
    artifactName: artifactName(result),
    runUrl: runUrl(settings),
    history: result.history as Snapshot[] | undefined,
  });
  await publishReport(report, { io: options.publish, artifact: options.artifact });
  io.info(`report written to ${reportDir}`);
  return report;
}
