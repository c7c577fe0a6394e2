import type { PlanJson, PlannedStepJson as PlanStepJson } from './plan-json.js';

export interface StepChange {
  id: string;
  changes: string[];
  /** Impact went up, or the step became destructive or joined the downtime bracket. */
  riskier: boolean;
}

export interface PlanDiff {
  tier: string;
  added: PlanStepJson[];
  removed: PlanStepJson[];
  changed: StepChange[];
  orderChanged: boolean;
}

const IMPACT_RANK: Record<string, number> = { none: 0, degraded: 1, downtime: 2 };

function compareStep(base: PlanStepJson, head: PlanStepJson): StepChange | undefined {
  const changes: string[] = [];
  let riskier = false;
  if (base.impact !== head.impact) {
    changes.push(`impact ${base.impact} → ${head.impact}`);
    riskier ||= IMPACT_RANK[head.impact] > IMPACT_RANK[base.impact];
  }
  if (base.destructive !== head.destructive) {
    changes.push(head.destructive ? 'now destructive' : 'no longer destructive');
    riskier ||= head.destructive;
  }
  if (base.inBracket !== head.inBracket) {
    changes.push(head.inBracket ? 'joins the downtime bracket' : 'leaves the downtime bracket');
    riskier ||= head.inBracket;
  }
  if (base.idempotent !== head.idempotent) changes.push(head.idempotent ? 'now idempotent' : 'no longer idempotent');
  if (base.timeoutMs !== head.timeoutMs) changes.push(`timeout ${base.timeoutMs / 1000} s → ${head.timeoutMs / 1000} s`);
  if (JSON.stringify(base.commands) !== JSON.stringify(head.commands)) changes.push('what it runs changed');
  if (base.title !== head.title) changes.push(`title "${base.title}" → "${head.title}"`);
  return changes.length ? { id: head.id, changes, riskier } : undefined;
}

/** What a config change does to a tier's plan. */
export function diffPlans(base: PlanJson, head: PlanJson): PlanDiff {
  const baseIds = base.steps.map((step) => step.id);
  const headIds = head.steps.map((step) => step.id);
  const changed: StepChange[] = [];
  for (const step of head.steps) {
    const before = base.steps.find((other) => other.id === step.id);
    const change = before && compareStep(before, step);
    if (change) changed.push(change);
  }
  const common = headIds.filter((id) => baseIds.includes(id));
  return {
    tier: head.tier,
    added: head.steps.filter((step) => !baseIds.includes(step.id)),
    removed: base.steps.filter((step) => !headIds.includes(step.id)),
    changed,
    orderChanged: JSON.stringify(common) !== JSON.stringify(baseIds.filter((id) => headIds.includes(id))),
  };
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/\n/g, ' ');
}

export function renderPlanDiffMarkdown(diff: PlanDiff): string {
  const lines = [`### ${diff.tier} window: plan changes`];
  if (!diff.added.length && !diff.removed.length && !diff.changed.length && !diff.orderChanged) {
    lines.push('', 'No change to what this window runs.');
    return lines.join('\n') + '\n';
  }
  const flags = (step: PlanStepJson) =>
    [step.impact !== 'none' ? `**${step.impact}**` : 'no impact', step.destructive ? '⚠️ **destructive**' : ''].filter(Boolean).join(', ');
  lines.push('', '| change | step | impact | what it runs |', '| --- | --- | --- | --- |');
  for (const step of diff.added) lines.push(`| ➕ added | \`${step.id}\` | ${flags(step)} | ${cell(step.commands.join('; ')).slice(0, 300)} |`);
  for (const step of diff.removed) lines.push(`| ➖ removed | \`${step.id}\` | ${flags(step)} | |`);
  for (const change of diff.changed)
    lines.push(`| ${change.riskier ? '⚠️ riskier' : '✏️ changed'} | \`${change.id}\` | ${cell(change.changes.join('; '))} | |`);
  if (diff.orderChanged) lines.push('', 'The order of steps changed.');
  const risky = [
    ...diff.added.filter((s) => s.destructive || s.impact === 'downtime').map((s) => s.id),
    ...diff.changed.filter((c) => c.riskier).map((c) => c.id),
  ];
  if (risky.length) lines.push('', `> [!WARNING]\n> Review carefully: ${risky.map((id) => `\`${id}\``).join(', ')} can take the app down or change data.`);
  return lines.join('\n') + '\n';
}
