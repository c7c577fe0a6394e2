import type { Finding } from '../steps/step.js';
import type { Journal, StepRecord, StepState } from '../window/journal.js';
import type { WindowResult } from '../window/result.js';
import { asSnapshot, diffSnapshots, type Change, type IntegrityRow, type SnapshotDiff } from './diff.js';
import { formatBytes, formatBytesDelta, formatDuration } from './human-size.js';
import { code, codeBlock, details, fitToLimit, number, SUMMARY_LIMIT_BYTES, table, text, truncate, utc } from './md.js';
import { renderPlanMarkdown } from './plan-markdown.js';

export const STATUS_ICON: Record<StepState, string> = {
  succeeded: '✅',
  warning: '⚠️',
  failed: '❌',
  skipped: '⏭️',
  deferred: '⏸️',
  'not-run': '▫️',
  pending: '▫️',
  running: '🔄',
};

const RESULT_HEADING: Record<WindowResult['result'], { icon: string; verb: string }> = {
  succeeded: { icon: '✅', verb: 'succeeded' },
  failed: { icon: '❌', verb: 'failed' },
  deferred: { icon: '⏸️', verb: 'finished with deferred steps' },
  planned: { icon: '📋', verb: 'planned (dry run)' },
  skipped: { icon: '⏭️', verb: 'skipped' },
};

export const SEVERITY_ICON: Record<Finding['severity'], string> = { critical: '🔴', warning: '🟠', info: '🔵' };
const SEVERITY_ORDER: Finding['severity'][] = ['critical', 'warning', 'info'];

export interface SummaryOptions {
  /** Byte limit (GitHub's job summary: 1 MiB; an issue body is smaller). */
  maxBytes?: number;
  /** Name of the uploaded artifact holding the full report. */
  artifactName?: string;
  /** Link to the workflow run. */
  runUrl?: string;
}

/** How much each level keeps; level 0 keeps everything readable. */
const DETAIL = [
  { summary: 400, error: 6000, details: 20_000, evidence: 1000, tables: 12, findings: 200, warnings: 200, steps: Infinity },
  { summary: 160, error: 2000, details: 2000, evidence: 300, tables: 5, findings: 100, warnings: 50, steps: Infinity },
  { summary: 60, error: 1000, details: 0, evidence: 0, tables: 3, findings: 50, warnings: 20, steps: Infinity },
  { summary: 60, error: 1000, details: 0, evidence: 0, tables: 3, findings: 30, warnings: 20, steps: 200 },
] as const;
type Detail = (typeof DETAIL)[number];

export function windowDurationMs(journal: Journal): number | undefined {
  const end = journal.endedAt ?? journal.updatedAt;
  const ms = Date.parse(end) - Date.parse(journal.startedAt);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

function headline(result: WindowResult): string {
  const { journal } = result;
  const { icon, verb } = RESULT_HEADING[result.result];
  const failed = result.result === 'failed' && journal.failedStep ? ` at ${code(journal.failedStep)}` : '';
  return `## ${icon} ${text(capitalize(journal.tier))} maintenance window ${verb} on ${text(journal.host)}${failed}`;
}

const capitalize = (value: string) => value.charAt(0).toUpperCase() + value.slice(1);

function factsLine(result: WindowResult): string {
  const { journal } = result;
  const duration = windowDurationMs(journal);
  const facts = [`Window ${code(journal.windowId)}`, `started ${utc(journal.startedAt)}`];
  if (duration !== undefined) facts.push(`took ${formatDuration(duration)}`);
  const bracket = journal.bracket;
  if (bracket?.downtimeSeconds !== undefined) {
    const health = bracket.healthy === false ? ' — ⚠️ app NOT healthy after it' : bracket.healthy ? ', app healthy again' : '';
    facts.push(`downtime ${formatDuration(bracket.downtimeSeconds * 1000)}${health}`);
  } else if (bracket?.stoppedAt) {
    facts.push(`⚠️ app stopped at ${utc(bracket.stoppedAt)} and not recorded as started`);
  } else {
    facts.push('no downtime');
  }
  if (journal.runAttempt > 1 || journal.attempts.length > 1) facts.push(`attempt ${journal.runAttempt} (${journal.attempts.length} runs of this window)`);
  facts.push(`config ${code(result.plan.configSource)}`);
  return facts.join(' · ');
}

function stepName(step: StepRecord): string {
  const tags = [
    step.inBracket ? 'downtime' : '',
    step.destructive ? 'destructive' : '',
    step.attempts > 1 ? `${step.attempts} attempts` : '',
    step.resumedFrom ? `done in an earlier run` : '',
  ]
    .filter(Boolean)
    .map((tag) => `_${tag}_`);
  return [code(step.id), text(step.title), ...tags].join(' ');
}

function stepSummary(step: StepRecord, detail: Detail): string {
  const summary = step.status === 'failed' && step.error ? step.error : (step.summary ?? '');
  return text(truncate(summary, detail.summary)) || '—';
}

function stepsSection(journal: Journal, detail: Detail): string {
  if (journal.steps.length === 0) return '';
  const counts = new Map<string, number>();
  for (const step of journal.steps) counts.set(step.status, (counts.get(step.status) ?? 0) + 1);
  const tally = [...counts].map(([status, n]) => `${STATUS_ICON[status as StepState]} ${n} ${status}`).join(' · ');
  let steps = journal.steps;
  let omitted = '';
  if (steps.length > detail.steps) {
    const notable = steps.filter((step) => step.status !== 'succeeded' && step.status !== 'not-run' && step.status !== 'skipped');
    steps = notable.slice(0, detail.steps);
    omitted = `\n\n_Only the ${number(steps.length)} steps that failed, warned or were deferred are listed (of ${number(journal.steps.length)}); the full list is in window.json._`;
  }
  const rows = steps.map((step) => [
    STATUS_ICON[step.status],
    stepName(step),
    step.durationMs !== undefined ? formatDuration(step.durationMs) : '—',
    stepSummary(step, detail),
  ]);
  return `### Steps\n\n${tally}\n\n${table(['', 'Step', 'Took', 'Result'], rows, ['c', 'l', 'r', 'l'])}${omitted}`;
}

const bytes = (value: number | undefined) => (value === undefined ? '—' : formatBytes(value));
const ms = (value: number | undefined) => (value === undefined ? '—' : `${value} ms`);

function bytesChange(change: Change, positiveIsGood: boolean): string {
  if (change.delta === undefined) return '—';
  const good = positiveIsGood ? change.delta > 0 : change.delta < 0;
  return `${formatBytesDelta(change.delta)}${change.delta !== 0 && good ? ' ✓' : ''}`;
}

function msChange(change: Change): string {
  if (change.delta === undefined || change.before === undefined || change.after === undefined) return '—';
  const sign = change.delta > 0 ? '+' : change.delta < 0 ? '−' : '±';
  const slower = change.before > 0 && change.after > change.before * 1.5 && change.delta > 5;
  return `${sign}${Math.abs(Math.round(change.delta * 10) / 10)} ms${slower ? ' ⚠️ slower' : ''}`;
}

function beforeAfterSection(diff: SnapshotDiff, result: WindowResult, detail: Detail): string {
  const rows: string[][] = [];
  const reclaimed = diff.reclaimedBytes;
  if (diff.databaseSize.before !== undefined || diff.databaseSize.after !== undefined) {
    const note = reclaimed !== undefined && reclaimed > 0 ? ` (${formatBytes(reclaimed)} reclaimed)` : '';
    rows.push(['Database size', bytes(diff.databaseSize.before), bytes(diff.databaseSize.after), bytesChange(diff.databaseSize, false) + note]);
  }
  const dead = (key: 'before' | 'after') => diff.tables.reduce((sum, row) => sum + (row.deadTuples[key] ?? 0), 0);
  if (diff.tables.length) {
    const delta = dead('after') - dead('before');
    rows.push([
      'Dead tuples (all tables)',
      number(dead('before')),
      number(dead('after')),
      delta === 0 ? '±0' : `${delta > 0 ? '+' : '−'}${number(Math.abs(delta))}`,
    ]);
  }
  for (const disk of diff.disks) {
    const pct = (value: number | undefined) => (value === undefined ? '' : ` (${value}% used)`);
    rows.push([
      `Disk free ${code(disk.mount)}`,
      `${bytes(disk.free.before)}${pct(disk.usedPercent.before)}`,
      `${bytes(disk.free.after)}${pct(disk.usedPercent.after)}`,
      bytesChange(disk.free, true),
    ]);
  }
  if (diff.dockerBytes.before !== undefined || diff.dockerBytes.after !== undefined) {
    rows.push(['Docker space', bytes(diff.dockerBytes.before), bytes(diff.dockerBytes.after), bytesChange(diff.dockerBytes, false)]);
  }
  if (diff.responseP50Ms.before !== undefined || diff.responseP50Ms.after !== undefined) {
    rows.push(['Response p50', ms(diff.responseP50Ms.before), ms(diff.responseP50Ms.after), msChange(diff.responseP50Ms)]);
    rows.push(['Response p95', ms(diff.responseP95Ms.before), ms(diff.responseP95Ms.after), msChange(diff.responseP95Ms)]);
  }
  const baseline = asSnapshot(result.baseline);
  const post = asSnapshot(result.post);
  const backupAge = (age: number | undefined) => (age === undefined ? '—' : `${formatDuration(age * 1000)} old`);
  if (baseline?.backup || post?.backup)
    rows.push(['Newest backup', backupAge(baseline?.backup?.newest?.ageSeconds), backupAge(post?.backup?.newest?.ageSeconds), '']);
  if (rows.length === 0) return '';
  const parts = [`### Before / after\n\n${table(['', 'Before', 'After', 'Change'], rows, ['l', 'r', 'r', 'r'])}`];
  const changed = diff.tables.filter((row) => row.size.delta !== 0 || (row.deadTuples.delta ?? 0) !== 0);
  if (changed.length) {
    const shown = changed.slice(0, detail.tables);
    const tableRows = shown.map((row) => [
      code(row.table),
      bytes(row.size.before),
      bytes(row.size.after),
      bytesChange(row.size, false),
      `${row.deadTuples.before === undefined ? '—' : number(row.deadTuples.before)} → ${row.deadTuples.after === undefined ? '—' : number(row.deadTuples.after)}`,
    ]);
    const more = changed.length > shown.length ? `\n\n_${number(changed.length - shown.length)} more changed tables in baseline.json / post.json._` : '';
    parts.push(
      `**Tables that changed most**\n\n${table(['Table', 'Size before', 'Size after', 'Change', 'Dead tuples'], tableRows, ['l', 'r', 'r', 'r', 'r'])}${more}`,
    );
  }
  return parts.join('\n\n');
}

const VERDICT: Record<IntegrityRow['verdict'], string> = {
  equal: '✅ equal',
  changed: 'ℹ️ changed (the app was writing; not judged)',
  mismatch: '❌ MISMATCH across the downtime bracket',
  missing: '⚠️ table missing',
};

function integritySection(diff: SnapshotDiff, journal: Journal): string {
  if (diff.integrity.length === 0) {
    return journal.bracket?.countsEqual === false ? '### Integrity\n\n❌ Row counts of the integrity tables differed across the downtime bracket.' : '';
  }
  const n = (value: number | undefined) => (value === undefined ? '—' : number(value));
  const rows = diff.integrity.map((row) => [
    code(row.table),
    n(row.baseline),
    n(row.post),
    row.bracketBefore !== undefined || row.bracketAfter !== undefined ? `${n(row.bracketBefore)} → ${n(row.bracketAfter)}` : '—',
    VERDICT[row.verdict],
  ]);
  const judged = diff.judgedInBracket
    ? 'Counts are judged across the downtime bracket, when nothing may write.'
    : 'No downtime bracket in this window: counts are reported, not judged (the app kept writing).';
  return `### Integrity\n\n${judged}\n\n${table(['Table', 'Baseline', 'Post', 'Downtime bracket', 'Verdict'], rows, ['l', 'r', 'r', 'r', 'l'])}`;
}

function findingsSection(journal: Journal, detail: Detail): string {
  const all = journal.steps.flatMap((step) => (step.findings ?? []).map((finding) => ({ step: step.id, finding })));
  if (all.length === 0) return '';
  all.sort((a, b) => SEVERITY_ORDER.indexOf(a.finding.severity) - SEVERITY_ORDER.indexOf(b.finding.severity));
  const shown = all.slice(0, detail.findings);
  const lines = shown.map(({ step, finding }) => {
    let line = `- ${SEVERITY_ICON[finding.severity]} **${text(finding.title)}** (${code(step)})`;
    if (finding.evidence && detail.evidence > 0) line += ` — ${text(truncate(finding.evidence, detail.evidence))}`;
    if (finding.action) line += `\n  → ${text(truncate(finding.action, Math.max(detail.evidence, 200)))}`;
    return line;
  });
  if (all.length > shown.length) lines.push(`- _…and ${number(all.length - shown.length)} more in window.json_`);
  return `### Findings\n\n${lines.join('\n')}`;
}

function warningsSection(result: WindowResult, detail: Detail): string {
  const warnings = [...new Set([...result.plan.warnings, ...result.warnings])];
  if (warnings.length === 0) return '';
  const shown = warnings.slice(0, detail.warnings).map((warning) => `- ${text(truncate(warning, detail.summary * 2))}`);
  if (warnings.length > shown.length) shown.push(`- _…and ${number(warnings.length - shown.length)} more_`);
  return `### Warnings\n\n${shown.join('\n')}`;
}

function deferredSection(result: WindowResult): string {
  const deferred = result.journal.steps.filter((step) => step.status === 'deferred');
  if (deferred.length === 0) return '';
  const deadline = result.plan.deadline ? ` (${utc(result.plan.deadline)}: ${text(result.plan.deadlineReason ?? '')})` : '';
  const list = deferred.slice(0, 50).map((step) => `- ${code(step.id)} ${text(step.title)}${step.summary ? ` — ${text(truncate(step.summary, 200))}` : ''}`);
  if (deferred.length > 50) list.push(`- _…and ${number(deferred.length - 50)} more_`);
  return `### Deferred\n\nNot started because they could not finish before the deadline${deadline}; they run in the next window, or now with a manual window.\n\n${list.join('\n')}`;
}

function nextStepsSection(result: WindowResult, detail: Detail): string {
  const { journal } = result;
  const failedId = journal.failedStep;
  const failed = journal.steps.find((step) => step.id === failedId) ?? journal.steps.find((step) => step.status === 'failed');
  const lines: string[] = ['### What to do next'];
  if (journal.bracket?.healthy === false) {
    lines.push('> [!CAUTION]\n> The app did not answer healthy after the downtime bracket. Check it first: the services may be down.');
  }
  const reason = result.failureMessage ?? journal.message;
  if (reason) lines.push(`**Why:** ${text(truncate(reason, detail.error))}`);
  if (failed) {
    lines.push(
      `**Failed step:** ${code(failed.id)} ${text(failed.title)}${failed.attempts > 1 ? ` after ${failed.attempts} attempts` : ''}${failed.durationMs !== undefined ? `, after ${formatDuration(failed.durationMs)}` : ''}.`,
    );
    if (failed.error) lines.push(codeBlock(truncate(failed.error, detail.error), 'text'));
    if (failed.details !== undefined && detail.details > 0)
      lines.push(details('What the step reported', codeBlock(truncate(JSON.stringify(failed.details, null, 2), detail.details), 'json')));
  }
  if (journal.rollback) lines.push(`**Rollback:** ${journal.rollback.status} — ${text(journal.rollback.summary)}`);
  const backup = journal.facts.backup;
  if (backup) lines.push(`**Rollback point:** ${code(backup.path)} (${backup.kind}, ${formatBytes(backup.sizeBytes)}, made ${utc(backup.createdAt)}).`);
  const index = failed ? journal.steps.indexOf(failed) : -1;
  const next = index >= 0 ? journal.steps.slice(index + 1).find((step) => step.phase === 'main') : undefined;
  const how = [
    `1. Fix the cause above, then **re-run the failed job** of this workflow run: window ${code(journal.windowId)} resumes${failed ? ` at ${code(failed.id)}` : ''}; steps already done are skipped and say so.`,
    `2. Or start the manual maintenance workflow with ${code(`window-id: ${journal.windowId}`)} and ${code(`resume: ${failed?.id ?? 'auto'}`)}${next ? ` (or ${code(`resume: ${next.id}`)} to go on after it, once you checked what it did)` : ''}.`,
    `3. To start the window over from the beginning: ${code('resume: restart')}.`,
  ];
  lines.push(how.join('\n'));
  if (failed && !failed.idempotent) lines.push(`⚠️ ${code(failed.id)} is not safe to run twice: check on the host what it did before resuming at it.`);
  return lines.join('\n\n');
}

function footer(options: SummaryOptions): string {
  const where = options.artifactName ? `the artifact ${code(options.artifactName)}` : 'the report directory';
  const run = options.runUrl ? ` · [workflow run](${options.runUrl})` : '';
  return `<sub>Full report (HTML with charts, JSON snapshots, the journal) in ${where}${run}.</sub>`;
}

const CUT_NOTES = [
  '',
  'step details cut to 2,000 characters, summaries to 160, errors to 2,000, evidence to 300',
  'step details left out, summaries cut to 60 characters, finding evidence left out',
  'step details left out, only the steps that failed, warned or were deferred are listed, summaries cut to 60 characters, finding evidence left out',
];

function render(result: WindowResult, diff: SnapshotDiff, options: SummaryOptions, level: number): string {
  const detail = DETAIL[level]!;
  const { journal } = result;
  const sections = [headline(result), factsLine(result)];
  if (result.result === 'failed') sections.push(nextStepsSection(result, detail));
  else if (result.failureMessage ?? journal.message) sections.push(`> ${text(result.failureMessage ?? journal.message)}`);
  sections.push(stepsSection(journal, detail));
  sections.push(beforeAfterSection(diff, result, detail));
  sections.push(integritySection(diff, journal));
  sections.push(findingsSection(journal, detail));
  sections.push(deferredSection(result));
  sections.push(warningsSection(result, detail));
  if (level > 0) sections.push(`_Shortened to fit the size limit: ${CUT_NOTES[level]}. Everything is in the artifact._`);
  sections.push(footer(options));
  return sections.filter(Boolean).join('\n\n') + '\n';
}

/** The job summary: what happened, what changed, what needs a look — always under the size limit. */
export function renderSummary(result: WindowResult, diff?: SnapshotDiff, options: SummaryOptions = {}): string {
  const limit = options.maxBytes ?? SUMMARY_LIMIT_BYTES;
  if (result.result === 'planned') {
    const warnings = result.warnings.length ? `\n${result.warnings.map((warning) => `> [!NOTE]\n> ${text(warning)}`).join('\n\n')}\n` : '';
    const heading = `## 📋 Dry run: ${text(result.plan.tier)} maintenance plan for ${text(result.plan.host)}\n\nNothing was run on the host. This is what the window would do.${warnings}`;
    return renderPlanMarkdown(result.plan, { heading, maxBytes: limit });
  }
  const changes = diff ?? diffSnapshots(asSnapshot(result.baseline), asSnapshot(result.post), result.journal.bracket);
  return fitToLimit((level) => render(result, changes, options, level), DETAIL.length, limit);
}
