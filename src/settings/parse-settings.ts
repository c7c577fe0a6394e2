import { Inputs, Tiers, type Tier } from '../constants.js';
import { InputError } from '../errors.js';
import { parseFleetInputs } from '../fleet/fleet-inputs.js';
import { parseKnownHosts } from '../remote/known-hosts.js';
import type { InputSource } from './input-source.js';
import { ONLY_ON_VALUES, type ResumeMode, type RunContext, type Settings } from './settings.js';
import {
  STEP_ID,
  parseEndpoint,
  requireBoolean,
  requireChoice,
  requireDuration,
  requireFingerprint,
  requireHost,
  requirePath,
  requirePort,
  requirePrivateKey,
  requireSecretLine,
  requireStepIds,
  requireUsername,
  requireWindowId,
} from './validators.js';

const MINUTE = 60_000;

function secretInput(source: InputSource, name: string): string | undefined {
  const value = source.get(name);
  if (value === '') return undefined;
  source.markSecret(value);
  return value;
}

function parseResume(value: string): ResumeMode {
  if (value === '' || value === 'auto') return { kind: 'auto' };
  if (value === 'restart') return { kind: 'restart' };
  if (STEP_ID.test(value)) return { kind: 'from', stepId: value };
  throw new InputError(Inputs.resume, value, 'expected auto, restart or a step id such as db.reindex');
}

/** Reads, validates and types every input. Throws InputError before anything connects. */
export function parseSettings(source: InputSource, run: RunContext, env: NodeJS.ProcessEnv = process.env): Settings {
  // Secrets first, so that they are masked before any message could quote them.
  const privateKey = secretInput(source, Inputs.privateKey);
  const passphrase = secretInput(source, Inputs.passphrase);
  const password = secretInput(source, Inputs.password);
  const jumpPrivateKey = secretInput(source, Inputs.jumpPrivateKey);
  const githubToken = secretInput(source, Inputs.githubToken);
  const databasePassword = secretInput(source, Inputs.databasePassword) ?? (env.PGPASSWORD ? env.PGPASSWORD : undefined);
  if (databasePassword) source.markSecret(databasePassword);

  const tier = requireChoice<Tier>(Inputs.tier, source.get(Inputs.tier) || 'weekly', Tiers);
  const dryRun = requireBoolean(Inputs.dryRun, source.get(Inputs.dryRun), false);
  const hostText = source.get(Inputs.host);
  const port = requirePort(Inputs.port, source.get(Inputs.port) || '22');
  const username = requireUsername(Inputs.username, source.get(Inputs.username) || 'root');
  const target = hostText === '' ? undefined : { host: requireHost(Inputs.host, hostText), port, username };
  const windowIdText = source.get(Inputs.windowId);
  const windowId = windowIdText ? requireWindowId(Inputs.windowId, windowIdText) : defaultWindowId(tier, run);
  const fleet = parseFleetInputs(source, { username, port, windowId });

  const knownHostsText = source.get(Inputs.knownHosts);
  if (knownHostsText) {
    try {
      parseKnownHosts(knownHostsText);
    } catch (error) {
      throw new InputError(Inputs.knownHosts, knownHostsText.split('\n')[0], `expected OpenSSH known_hosts lines (${(error as Error).message})`);
    }
  }
  const fingerprintText = source.get(Inputs.hostFingerprint);
  const hostFingerprint = fingerprintText ? requireFingerprint(Inputs.hostFingerprint, fingerprintText) : undefined;
  const strictHostKeyChecking = requireBoolean(Inputs.strictHostKeyChecking, source.get(Inputs.strictHostKeyChecking), true);

  if (privateKey) requirePrivateKey(Inputs.privateKey, privateKey);
  if (jumpPrivateKey) requirePrivateKey(Inputs.jumpPrivateKey, jumpPrivateKey);
  if (password) requireSecretLine(Inputs.password, password);
  if (databasePassword) requireSecretLine(Inputs.databasePassword, databasePassword);

  const jumpText = source.get(Inputs.jumpHost);
  const jumpHost = jumpText ? parseEndpoint(Inputs.jumpHost, jumpText, { username, port: 22 }) : undefined;

  if (target || fleet) {
    const hostNames = target ? target.host : `the hosts of ${fleet!.source}`;
    if (!privateKey && !password) {
      throw new InputError(Inputs.privateKey, undefined, `a private-key or a password is needed to log in to ${hostNames}`, { secret: true });
    }
    if (fleet && hostFingerprint) {
      throw new InputError(
        Inputs.hostFingerprint,
        fingerprintText,
        'a fingerprint pins one host key; pin the hosts of a fleet with known-hosts, a line per host',
      );
    }
    if (strictHostKeyChecking && !knownHostsText && !hostFingerprint) {
      throw new InputError(
        Inputs.knownHosts,
        '',
        `known-hosts or host-fingerprint is needed to pin the host key of ${hostNames} (set strict-host-key-checking: false only for throwaway hosts)`,
      );
    }
    if (jumpHost && !jumpPrivateKey && !privateKey && !password) {
      throw new InputError(Inputs.jumpHost, jumpText, 'the jump host needs credentials: jump-private-key, or the private-key / password of the target');
    }
  } else if (!dryRun) {
    throw new InputError(Inputs.host, '', 'a target host is needed: host, or hosts / inventory for a fleet (only a dry run renders the plan without one)');
  }

  const stepsText = source.get(Inputs.steps);
  const configText = source.get(Inputs.config);
  const maxDurationText = source.get(Inputs.maxDuration);
  const settings: Settings = {
    target,
    fleet,
    privateKey: privateKey ? requirePrivateKey(Inputs.privateKey, privateKey) : undefined,
    passphrase,
    password,
    knownHosts: knownHostsText || undefined,
    hostFingerprint,
    strictHostKeyChecking,
    jumpHost,
    jumpPrivateKey: jumpPrivateKey ? requirePrivateKey(Inputs.jumpPrivateKey, jumpPrivateKey) : undefined,
    connectTimeoutMs: requireDuration(Inputs.connectTimeout, source.get(Inputs.connectTimeout) || '30s', 1000, 10 * MINUTE),
    tier,
    configPath: requirePath(Inputs.config, configText || '.github/maintenance.yml'),
    configPathExplicit: configText !== '' && configText !== '.github/maintenance.yml',
    steps: stepsText ? requireStepIds(Inputs.steps, stepsText) : undefined,
    skipSteps: requireStepIds(Inputs.skipSteps, source.get(Inputs.skipSteps)),
    dryRun,
    resume: parseResume(source.get(Inputs.resume)),
    windowId,
    maxDurationMs: maxDurationText ? requireDuration(Inputs.maxDuration, maxDurationText, MINUTE, 24 * 60 * MINUTE) : undefined,
    onlyOn: requireChoice(Inputs.onlyOn, source.get(Inputs.onlyOn) || 'any', ONLY_ON_VALUES),
    onFailure: requireChoice(Inputs.onFailure, source.get(Inputs.onFailure) || 'stop', ['stop', 'rollback'] as const),
    databasePassword,
    reportDir: requirePath(Inputs.reportDir, source.get(Inputs.reportDir) || 'maintenance-report'),
    openIssueOnFailure: requireBoolean(Inputs.openIssueOnFailure, source.get(Inputs.openIssueOnFailure), false),
    githubToken,
    run,
  };
  for (const [name, value] of Object.entries(settings)) {
    if (!['privateKey', 'passphrase', 'password', 'jumpPrivateKey', 'databasePassword', 'githubToken'].includes(name)) {
      source.debug(`${name}: ${JSON.stringify(value)}`);
    }
  }
  return settings;
}

/** Stable across re-runs of one workflow run; a local run gets the day. */
export function defaultWindowId(tier: Tier, run: RunContext): string {
  return run.runId ? `${tier}-${run.runId}` : `${tier}-${new Date().toISOString().slice(0, 10)}`;
}

/** The workflow run as GitHub's environment describes it. */
export function runContextFromEnv(env: NodeJS.ProcessEnv = process.env): RunContext {
  return {
    repository: env.GITHUB_REPOSITORY ?? 'local',
    runId: env.GITHUB_RUN_ID ?? '',
    runAttempt: Number(env.GITHUB_RUN_ATTEMPT ?? '1') || 1,
    workflow: env.GITHUB_WORKFLOW ?? 'cli',
    serverUrl: env.GITHUB_SERVER_URL ?? 'https://github.com',
    actor: env.GITHUB_ACTOR ?? env.USER ?? 'unknown',
  };
}
