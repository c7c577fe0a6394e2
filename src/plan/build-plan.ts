import type { Tier } from '../constants.js';
import { ValidationError } from '../errors.js';
import type { MaintenanceConfig } from '../settings/config.js';
import type { StepDefinition } from '../steps/step.js';
import { buildCatalogue } from './catalogue.js';
import { customStep } from './custom-step.js';
import { windowDeadline } from './deadline.js';
import type { Phase, Plan, PlannedStep } from './plan.js';
import { PREFLIGHT_STEPS, TIER_STEPS, VERIFY_STEPS } from './tiers.js';

export interface PlanRequest {
  tier: Tier;
  config: MaintenanceConfig;
  windowId: string;
  host: string;
  /** The `steps` input: replaces the tier's list. */
  steps?: string[];
  /** The `skip-steps` input. */
  skip?: string[];
  now: Date;
  maxDurationMs?: number;
}

const FRAME = new Set<string>([...PREFLIGHT_STEPS, ...VERIFY_STEPS]);

/** Orders custom steps after the step they name; reports unknown anchors and cycles. */
function placeCustomSteps(main: StepDefinition[], custom: { step: StepDefinition; after?: string }[], problems: string[]): StepDefinition[] {
  const ordered = [...main];
  const pending = [...custom];
  const customIds = new Set(custom.map((entry) => entry.step.id));
  for (const entry of custom) {
    if (entry.after && !customIds.has(entry.after) && !main.some((step) => step.id === entry.after)) {
      problems.push(`custom step ${entry.step.id}: after: ${entry.after} is not a step of this plan`);
    }
  }
  while (pending.length > 0) {
    const index = pending.findIndex((entry) => !entry.after || ordered.some((step) => step.id === entry.after) || !customIds.has(entry.after));
    if (index < 0) {
      problems.push(`custom steps form a cycle through after: ${pending.map((entry) => `${entry.step.id} → ${entry.after}`).join(', ')}`);
      break;
    }
    const [entry] = pending.splice(index, 1);
    const anchor = entry.after ? ordered.findIndex((step) => step.id === entry.after) : -1;
    if (anchor < 0) ordered.push(entry.step);
    else ordered.splice(anchor + 1, 0, entry.step);
  }
  return ordered;
}

/** Tier + config + inputs → an ordered, checked plan. Every problem is reported at once, at plan time. */
export function buildPlan(request: PlanRequest): Plan {
  const { config, tier } = request;
  const catalogue = buildCatalogue(config);
  const tierConfig = config.tiers[tier];
  const problems: string[] = [];
  const warnings: string[] = [];
  const explicit = request.steps ?? tierConfig.steps;
  const skip = new Set([...(request.skip ?? []), ...tierConfig.skip]);
  const custom = tierConfig.add.map((spec) => ({ step: customStep(spec), after: spec.after }));
  const customIds = new Set(custom.map((entry) => entry.step.id));

  for (const entry of custom) {
    if (catalogue.has(entry.step.id)) problems.push(`custom step ${entry.step.id}: the id is taken by a built-in step`);
  }
  if (customIds.size !== custom.length) problems.push(`tiers.${tier}.add: two custom steps share an id`);
  for (const id of [...(explicit ?? []), ...skip]) {
    if (!catalogue.has(id) && !customIds.has(id)) {
      problems.push(`unknown step id ${id} (known: ${[...catalogue.keys(), ...customIds].sort().join(', ')})`);
    }
  }

  let mainIds = (explicit ?? TIER_STEPS[tier]).filter((id) => !FRAME.has(id));
  if (!explicit) {
    const missing = mainIds.filter((id) => !catalogue.has(id));
    if (missing.length) warnings.push(`not available in this version, left out: ${missing.join(', ')}`);
    mainIds = mainIds.filter((id) => catalogue.has(id));
  }
  const mainBuiltIn = mainIds.filter((id) => !skip.has(id) && catalogue.has(id)).map((id) => catalogue.get(id)!);
  const customToAdd = explicit ? custom.filter((entry) => explicit.includes(entry.step.id)) : custom;
  let main = placeCustomSteps(
    mainBuiltIn,
    customToAdd.filter((entry) => !skip.has(entry.step.id)),
    problems,
  );
  main = main.filter((step, index) => main.findIndex((other) => other.id === step.id) === index);

  // A read-only selection (e.g. the six-hourly disk check) needs no checklist; anything that changes the host does.
  const changesHost = main.some((step) => step.impact !== 'none' || step.destructive);
  const frameWanted = (id: string) => !skip.has(id) && catalogue.has(id) && (!explicit || changesHost || explicit.includes(id));
  const preflight = PREFLIGHT_STEPS.filter(frameWanted).map((id) => catalogue.get(id)!);
  const verify = VERIFY_STEPS.filter(frameWanted).map((id) => catalogue.get(id)!);

  // One downtime bracket: all downtime steps together, where the first one stood.
  const firstDowntime = main.findIndex((step) => step.impact === 'downtime');
  if (firstDowntime >= 0) {
    const downtime = main.filter((step) => step.impact === 'downtime');
    const rest = main.filter((step) => step.impact !== 'downtime');
    const before = rest.filter((step) => main.indexOf(step) < firstDowntime);
    main = [...before, ...downtime, ...rest.filter((step) => main.indexOf(step) > firstDowntime)];
  }

  const planned: PlannedStep[] = [];
  const add = (steps: StepDefinition[], phase: Phase) => {
    for (const step of steps) planned.push({ step, phase, inBracket: step.impact === 'downtime', custom: customIds.has(step.id) });
  };
  add(preflight, 'preflight');
  add(main, 'main');
  add(verify, 'verify');

  // Destructive steps need a backup taken or verified earlier in this window.
  planned.forEach((entry, index) => {
    if (!entry.step.destructive) return;
    const backupBefore = planned.slice(0, index).some((earlier) => earlier.step.providesBackup);
    if (!backupBefore) {
      problems.push(`${entry.step.id} is destructive but no backup step (backup.fresh or backup.verify) runs before it in the ${tier} plan`);
    }
  });

  if (problems.length > 0) throw new ValidationError(`plan for the ${tier} window (${config.source})`, problems);
  const { deadline, reason } = windowDeadline(config.window, request.now, request.maxDurationMs);
  return {
    tier,
    windowId: request.windowId,
    host: request.host,
    configSource: config.source,
    steps: planned,
    deadline,
    deadlineReason: reason,
    bracketServices: firstDowntime >= 0 ? config.services.app : [],
    warnings,
  };
}
