import type { Plan, PlannedStep } from '../plan/plan.js';
import { formatDuration } from './human-size.js';
import { code, codeBlock, details, fitToLimit, SUMMARY_LIMIT_BYTES, table, text, truncate, utc } from './md.js';

export const IMPACT_LABEL: Record<string, string> = { none: 'none', degraded: '🟡 degraded', downtime: '🔻 downtime' };

const SQL_START = /^\s*(select|with|vacuum|reindex|analyze|alter|create|drop|insert|update|delete|set|show|cluster|copy)\b/i;

function commandLanguage(command: string): string {
  return SQL_START.test(command) ? 'sql' : 'sh';
}

function stepRow(entry: PlannedStep, index: number): string[] {
  const { step } = entry;
  const name = `${code(step.id)} ${text(step.title)}${entry.custom ? ' _(custom)_' : ''}`;
  const impact = `${IMPACT_LABEL[step.impact] ?? text(step.impact)}${entry.inBracket ? ' (bracket)' : ''}`;
  const safety = [step.destructive ? '⚠️ destructive: needs this window’s backup' : '', step.providesBackup ? `💾 ${step.providesBackup} backup` : '']
    .filter(Boolean)
    .join(', ');
  return [String(index + 1), name, entry.phase, impact, safety || '—', step.idempotent ? 'yes' : 'no', formatDuration(step.timeoutMs)];
}

function bracketLine(plan: Plan): string | undefined {
  const bracketed = plan.steps.filter((entry) => entry.inBracket);
  if (bracketed.length === 0) return undefined;
  const services = plan.bracketServices.length ? plan.bracketServices.map(code).join(', ') : 'the app';
  return `**Downtime bracket:** stops ${services}, runs ${bracketed.map((entry) => code(entry.step.id)).join(', ')}, then always starts the app again and waits until it answers healthy. Integrity row counts must be equal across it.`;
}

/** Level 0: every command; 1: commands cut to 2,000 characters; 2: no commands. */
function commandsSection(plan: Plan, level: number): string {
  if (level >= 2) return '_Commands left out to fit the size limit; see plan.json in the artifact._';
  const limit = level === 0 ? Infinity : 2000;
  const note = level === 1 ? '_Commands longer than 2,000 characters are cut to fit the size limit; plan.json has them whole._\n\n' : '';
  return (
    note +
    plan.steps
      .map(({ step }) => {
        const body = [text(step.description), ...step.commands.map((command) => codeBlock(truncate(command, limit), commandLanguage(command)))].join('\n\n');
        const count = step.commands.length;
        return details(`<code>${text(step.id)}</code> — ${text(step.title)} (${count} command${count === 1 ? '' : 's'})`, body);
      })
      .join('\n')
  );
}

function render(plan: Plan, level: number, heading: string): string {
  const parts: string[] = [heading];
  const destructive = plan.steps.filter((entry) => entry.step.destructive).length;
  const facts = [
    `Window ${code(plan.windowId)}`,
    `${plan.steps.length} steps`,
    destructive ? `${destructive} destructive` : 'nothing destructive',
    `config ${code(plan.configSource)}`,
  ];
  parts.push(facts.join(' · '));
  parts.push(
    plan.deadline
      ? `**Deadline:** no step starts after ${utc(plan.deadline)} (${text(plan.deadlineReason ?? '')}).`
      : `**Deadline:** ${text(plan.deadlineReason ?? 'none')}.`,
  );
  const bracket = bracketLine(plan);
  if (bracket) parts.push(bracket);
  if (plan.warnings.length) parts.push(plan.warnings.map((warning) => `> [!WARNING]\n> ${text(warning)}`).join('\n\n'));
  parts.push(table(['#', 'Step', 'Phase', 'Impact', 'Safety', 'Idempotent', 'Timeout'], plan.steps.map(stepRow), ['r', 'l', 'l', 'l', 'l', 'l', 'r']));
  parts.push('### What each step runs');
  parts.push(commandsSection(plan, level));
  return parts.join('\n\n') + '\n';
}

/** The plan for a dry run or a pull request: each step, its impact and safety, its deadline, what it runs. */
export function renderPlanMarkdown(plan: Plan, options: { heading?: string; maxBytes?: number } = {}): string {
  const heading = options.heading ?? `## 📋 Maintenance plan: ${text(plan.tier)} window on ${text(plan.host)}`;
  return fitToLimit((level) => render(plan, level, heading), 3, options.maxBytes ?? SUMMARY_LIMIT_BYTES);
}
