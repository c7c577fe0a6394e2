import * as core from '@actions/core';
import { actionIO } from './action-io.js';
import { Outputs, State } from './constants.js';
import { getErrorMessage } from './errors.js';
import { runFleetAndReport } from './fleet/run-fleet.js';
import { syncFailureIssue } from './report/failure-issue.js';
import { actionsArtifactUploader, actionsIO } from './report/publish.js';
import { actionInputSource } from './settings/action-inputs.js';
import { parseSettings, runContextFromEnv } from './settings/parse-settings.js';
import { runAndReport, runUrl } from './run-and-report.js';
import { secretsOf, type Settings } from './settings/settings.js';
import type { WindowResult } from './window/result.js';

/** Opens, updates or closes the host's failure issue; a problem with it is only a warning. */
async function syncIssue(result: WindowResult, settings: Settings): Promise<void> {
  if (!settings.openIssueOnFailure || !settings.githubToken || !['failed', 'succeeded'].includes(result.result)) return;
  await syncFailureIssue(result, {
    token: settings.githubToken,
    repository: settings.run.repository,
    apiUrl: process.env.GITHUB_API_URL,
    runUrl: runUrl(settings),
    secrets: secretsOf(settings),
  }).catch((error: unknown) => core.warning(`the failure issue could not be updated: ${getErrorMessage(error)}`));
}

/** Many hosts: one aggregate summary and artifact; the job fails when a host failed or was not started. */
async function runFleet(settings: Settings, cancel: AbortSignal): Promise<void> {
  const { fleet } = await runFleetAndReport({ settings, io: actionIO(), cancel, publish: actionsIO(), artifact: actionsArtifactUploader() });
  core.saveState(State.windowFinished, 'true');
  for (const host of fleet.hosts) if (host.result && host.status !== 'already-succeeded') await syncIssue(host.result, settings);
  if (fleet.result === 'failed') core.setFailed(fleet.failureMessage ?? `the ${settings.tier} window failed`);
}

/** The action's main step: inputs → window → reports, outputs, artifact; fails the job when the window failed. */
export async function run(): Promise<void> {
  const controller = new AbortController();
  // The runner sends SIGINT on cancel and SIGKILL 10 s later: wind down (app started again) in that time.
  const onSignal = (signal: string) => {
    core.warning(`received ${signal}: stopping the window; the app is started again if it was stopped`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const settings = parseSettings(actionInputSource(), runContextFromEnv());
    core.setOutput(Outputs.windowId, settings.windowId);
    if (settings.fleet) return await runFleet(settings, controller.signal);
    const reported = await runAndReport({
      settings,
      io: actionIO(),
      cancel: controller.signal,
      publish: actionsIO(),
      artifact: actionsArtifactUploader(),
      onLock: (token) => core.saveState(State.lockHeld, token ?? ''),
      onBracket: (open) => core.saveState(State.bracketOpen, String(open)),
    });
    core.saveState(State.windowFinished, 'true');
    await syncIssue(reported.result, settings);
    const { result, failureMessage } = reported.result;
    if (result === 'failed') core.setFailed(failureMessage ?? `the ${settings.tier} window failed`);
  } catch (error) {
    core.setOutput(Outputs.result, 'failed');
    core.setFailed(getErrorMessage(error));
  }
}
