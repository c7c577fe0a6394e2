import * as core from '@actions/core';
import { actionIO } from './action-io.js';
import { Outputs, State } from './constants.js';
import { getErrorMessage } from './errors.js';
import { syncFailureIssue } from './report/failure-issue.js';
import { actionsArtifactUploader, actionsIO } from './report/publish.js';
import { actionInputSource } from './settings/action-inputs.js';
import { parseSettings, runContextFromEnv } from './settings/parse-settings.js';
import { runAndReport, runUrl } from './run-and-report.js';
import { secretsOf } from './settings/settings.js';

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
    if (settings.openIssueOnFailure && settings.githubToken && ['failed', 'succeeded'].includes(reported.result.result)) {
      await syncFailureIssue(reported.result, {
        token: settings.githubToken,
        repository: settings.run.repository,
        apiUrl: process.env.GITHUB_API_URL,
        runUrl: runUrl(settings),
        secrets: secretsOf(settings),
      }).catch((error: unknown) => core.warning(`the failure issue could not be updated: ${getErrorMessage(error)}`));
    }
    const { result, failureMessage } = reported.result;
    if (result === 'failed') core.setFailed(failureMessage ?? `the ${settings.tier} window failed`);
  } catch (error) {
    core.setOutput(Outputs.result, 'failed');
    core.setFailed(getErrorMessage(error));
  }
}

