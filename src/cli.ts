import { Tiers, type Tier } from './constants.js';
import { getErrorMessage, InputError, ValidationError } from './errors.js';
import { runFleetAndReport } from './fleet/run-fleet.js';
import { buildPlan } from './plan/build-plan.js';
import { diffPlans, renderPlanDiffMarkdown } from './report/plan-diff.js';
import { planToJson } from './report/plan-json.js';
import { cliIO } from './report/publish.js';
import { renderPlanMarkdown } from './report/plan-markdown.js';
import { parseCliArgs } from './settings/cli-flags.js';
import { mapInputSource } from './settings/input-source.js';
import { loadConfig } from './settings/load-config.js';
import { parseSettings, runContextFromEnv } from './settings/parse-settings.js';
import { runAndReport } from './run-and-report.js';
import { consoleIO } from './window/runner-io.js';

const USAGE = `maintenance-window — run a maintenance window on a host over SSH

  maintenance-window run  --host HOST --private-key-file FILE --known-hosts-file FILE [--tier weekly] [--config FILE] ...
  maintenance-window run  --inventory FILE [--max-concurrency 25%] [--max-errors 1] [--shard 1/4] --private-key-file FILE ...
  maintenance-window plan --config FILE [--tier weekly] [--format markdown|json] [--steps a,b] [--skip-steps c]
  maintenance-window plan-diff --base FILE --head FILE [--tier weekly|all]

Flags are the action's inputs (--port, --username, --dry-run, --resume, --window-id, --report-dir, ...).
Secrets are read from files (--private-key-file, --password-file, --database-password-file) or the environment
(MW_PRIVATE_KEY, MW_PASSWORD, MW_PASSPHRASE, PGPASSWORD, GITHUB_TOKEN), never from flags.
--summary-file FILE writes the job summary there (default: printed to stdout).`;

function requireTier(value: string | undefined): Tier {
  const tier = value || 'weekly';
  if (!(Tiers as readonly string[]).includes(tier)) throw new InputError('--tier', tier, `expected one of ${Tiers.join(', ')}`);
  return tier as Tier;
}

function planCommand(values: Record<string, string>, extra: Record<string, string>): void {
  const settings = parseSettings(mapInputSource({ ...values, 'dry-run': 'true' }), runContextFromEnv());
  const config = loadConfig(settings.configPath, { required: settings.configPathExplicit });
  const plan = buildPlan({
    tier: settings.tier,
    config,
    windowId: settings.windowId,
    host: values.host ?? '(host from the workflow)',
    steps: settings.steps,
    skip: settings.skipSteps,
    now: new Date(),
    maxDurationMs: settings.maxDurationMs,
  });
  const format = extra.format ?? 'markdown';
  if (format !== 'markdown' && format !== 'json') throw new InputError('--format', format, 'expected markdown or json');
  process.stdout.write(format === 'json' ? JSON.stringify(planToJson(plan), null, 2) + '\n' : renderPlanMarkdown(plan));
}

function planDiffCommand(extra: Record<string, string>): void {
  if (!extra.base || !extra.head) throw new InputError('--base/--head', '', 'both config files are needed (a missing base file means the runbook defaults)');
  const tiers = !extra.tier || extra.tier === 'all' ? [...Tiers] : [requireTier(extra.tier)];
  const now = new Date();
  const base = loadConfig(extra.base, { required: false });
  const head = loadConfig(extra.head, { required: true });
  const parts = tiers.map((tier) => {
    const plan = (config: typeof base) => planToJson(buildPlan({ tier, config, windowId: `${tier}-review`, host: '(review)', now }));
    return renderPlanDiffMarkdown(diffPlans(plan(base), plan(head)));
  });
  process.stdout.write(`## Maintenance plan review\n\n${parts.join('\n')}`);
}

export async function main(argv: string[]): Promise<number> {
  const { command, values, extra } = parseCliArgs(argv, process.env, ['base', 'head', 'format', 'summary-file']);
  switch (command) {
    case 'plan':
      planCommand(values, extra);
      return 0;
    case 'plan-diff':
      planDiffCommand(extra);
      return 0;
    case 'run': {
      const settings = parseSettings(mapInputSource(values), runContextFromEnv());
      const controller = new AbortController();
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        signals += 1;
        if (signals > 1) {
          process.stderr.write(`second ${signal}: exiting now; the app may be left stopped and the lock held until it expires\n`);
          process.exit(130);
        }
        process.stderr.write(`${signal}: winding the window down (the app is started again); press again to exit at once\n`);
        controller.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const publish = cliIO({ summaryFile: extra['summary-file'] });
      if (settings.fleet) {
        const { fleet } = await runFleetAndReport({ settings, io: consoleIO(), cancel: controller.signal, publish });
        return fleet.result === 'failed' ? 1 : 0;
      }
      const result = await runAndReport({ settings, io: consoleIO(), cancel: controller.signal, publish });
      return result.result.result === 'failed' ? 1 : 0;
    }
    case 'help':
    case '--help':
      process.stdout.write(USAGE + '\n');
      return 0;
    default:
      throw new InputError('command', command, 'expected run, plan, plan-diff or help');
  }
}

/** Runs the CLI and exits: 0 done, 1 the window failed, 2 bad input. */
export function runCli(argv: string[]): void {
  main(argv).then(
    (code) => process.exit(code),
    (error: unknown) => {
      const invalid = error instanceof InputError || error instanceof ValidationError;
      process.stderr.write(`${invalid ? '' : 'error: '}${getErrorMessage(error)}\n`);
      process.exit(invalid ? 2 : 1);
    },
  );
}
