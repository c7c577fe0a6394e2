import type { Finding } from '../steps/step.js';
import type { Journal, StepRecord } from '../window/journal.js';
import type { WindowResult } from '../window/result.js';
import { asSnapshot, diffSnapshots, type Change, type SnapshotDiff } from './diff.js';
import { escapeHtml, formatPercent, historySeries, lineChart, sizeBarsChart, timelineChart } from './html-charts.js';
import { formatBytes, formatBytesDelta, formatDuration } from './human-size.js';
import { windowDurationMs } from './markdown.js';
import { planToJson } from './plan-json.js';
import type { Snapshot } from './snapshot-types.js';

export interface HtmlOptions {
  /** Earlier snapshots of this host (loadHistory), for the trend charts. */
  history?: Snapshot[];
  diff?: SnapshotDiff;
  artifactName?: string;
  runUrl?: string;
  /** When the page was made (tests pin it). */
  generatedAt?: Date;
}

const STYLE = `
:root { --bg:#f6f7f9; --card:#fff; --text:#1f2328; --muted:#8b949e; --line:#d8dee4; --ok:#2da44e; --warn:#d4a72c; --bad:#cf222e; --defer:#8250df; --info:#0969da;
  --before:#afb8c1; --after:#0969da; --series-0:#0969da; --series-1:#bf3989; --series-2:#1a7f37; --series-3:#bc4c00; --series-4:#8250df; --series-5:#57606a; }
@media (prefers-color-scheme: dark) { :root { --bg:#0d1117; --card:#161b22; --text:#e6edf3; --muted:#7d8590; --line:#30363d; --before:#484f58; --after:#4493f8; --series-0:#4493f8; } }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--text); font:14px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width:1040px; margin:0 auto; padding:24px; }
header.result { border-radius:10px; padding:20px 24px; color:#fff; margin-bottom:16px; }
header.succeeded { background:linear-gradient(135deg,#1a7f37,#2da44e); } header.failed { background:linear-gradient(135deg,#a40e26,#cf222e); }
header.deferred { background:linear-gradient(135deg,#6639ba,#8250df); } header.planned, header.skipped { background:linear-gradient(135deg,#424a53,#6e7781); }
header h1 { margin:0 0 6px; font-size:24px; display:flex; align-items:center; gap:10px; } header h1 svg { width:28px; height:28px; flex:none; } header p { margin:0; opacity:.92; }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(140px,1fr)); gap:12px; margin-bottom:16px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.card .k { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; } .card .v { font-size:20px; font-weight:600; } .card .s { color:var(--muted); font-size:12px; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:16px 20px; margin-bottom:16px; overflow-x:auto; }
section h2 { font-size:17px; margin:0 0 12px; } section.next { border:2px solid var(--bad); }
table { border-collapse:collapse; width:100%; font-size:13px; } th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:600; } td.num, th.num { text-align:right; white-space:nowrap; } td.icon { width:24px; text-align:center; }
code { font:12px ui-monospace, SFMono-Regular, Menlo, monospace; background:rgba(127,127,127,.12); padding:1px 4px; border-radius:4px; }
pre { font:12px ui-monospace, SFMono-Regular, Menlo, monospace; background:rgba(127,127,127,.1); padding:10px; border-radius:6px; white-space:pre-wrap; word-break:break-word; }
.good { color:var(--ok); } .bad { color:var(--bad); } .muted, .note { color:var(--muted); } .tag { font-size:11px; border:1px solid var(--line); border-radius:10px; padding:0 6px; margin-left:4px; color:var(--muted); }
svg.chart { width:100%; height:auto; display:block; }
svg text { fill:var(--text); font:12px -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; } svg text.axis { fill:var(--muted); font-size:11px; } svg text.unstarted { fill:var(--muted); font-style:italic; }
svg .grid { stroke:var(--line); stroke-width:1; } svg .bracket { fill:var(--bad); opacity:.12; } svg .deadline { stroke:var(--defer); stroke-width:2; stroke-dasharray:6 4; }
svg .before { fill:var(--before); } svg .after { fill:var(--after); } svg .value { fill:var(--muted); }
.legend span { display:inline-block; margin-right:14px; font-size:12px; color:var(--muted); } .legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:4px; vertical-align:middle; }
ul.findings { list-style:none; padding:0; margin:0; } ul.findings li { padding:8px 0; border-bottom:1px solid var(--line); } ul.findings li:last-child { border-bottom:0; }
details summary { cursor:pointer; color:var(--info); }
.pill { display:inline-block; font-size:11px; font-weight:600; border-radius:10px; padding:1px 8px; color:#fff; white-space:nowrap; }
.p-succeeded { background:var(--ok); } .p-warning, .p-warning-sev { background:var(--warn); color:#1f2328; } .p-failed, .p-critical { background:var(--bad); }
.p-deferred { background:var(--defer); } .p-skipped, .p-not-run, .p-pending { background:var(--muted); } .p-running, .p-info { background:var(--info); }
footer { color:var(--muted); font-size:12px; text-align:center; padding:8px 0 24px; }
`;

const RESULT_TITLE: Record<WindowResult['result'], string> = {
  succeeded: 'Maintenance window succeeded',
  failed: 'Maintenance window failed',
  deferred: 'Maintenance window finished with deferred steps',
  planned: 'Maintenance plan (dry run)',
  skipped: 'Maintenance window skipped',
};

/** Drawn, not emoji: the page reads the same without an emoji font. */
const RESULT_ICON: Record<WindowResult['result'], string> = {
  succeeded: '<path d="M7 12.5l3.2 3.2L17 9" />',
  failed: '<path d="M8 8l8 8M16 8l-8 8" />',
  deferred: '<path d="M10 8v8M14 8v8" />',
  planned: '<path d="M8 9h8M8 12h8M8 15h5" />',
  skipped: '<path d="M8 8l5 4-5 4M14 8v8" />',
};

const icon = (result: WindowResult['result']) =>
  `<svg viewBox="0 0 24 24" aria-hidden="true"><circle cx="12" cy="12" r="11" fill="rgba(255,255,255,.22)"/><g fill="none" stroke="#fff" stroke-width="2.4" stroke-linecap="round" stroke-linejoin="round">${RESULT_ICON[result]}</g></svg>`;

const pill = (state: string, label = state) => `<span class="pill p-${h(state)}">${h(label)}</span>`;

const h = escapeHtml;
const code = (value: unknown) => `<code>${h(value)}</code>`;
const bytes = (value: number | undefined) => (value === undefined ? '—' : formatBytes(value));
const utc = (iso: string | undefined) => (iso ? `${iso.slice(0, 19).replace('T', ' ')} UTC` : '—');

function tableHtml(header: string[], rows: string[][], numeric: number[] = []): string {
  const cell = (tag: string, value: string, index: number) => `<${tag}${numeric.includes(index) ? ' class="num"' : ''}>${value}</${tag}>`;
  return `<table><thead><tr>${header.map((value, index) => cell('th', value, index)).join('')}</tr></thead><tbody>${rows.map((row) => `<tr>${row.map((value, index) => cell('td', value, index)).join('')}</tr>`).join('')}</tbody></table>`;
}

function card(key: string, value: string, sub = ''): string {
  return `<div class="card"><div class="k">${h(key)}</div><div class="v">${value}</div><div class="s">${sub}</div></div>`;
}

function delta(change: Change, unit: 'bytes' | 'ms', lowerIsBetter: boolean): string {
  if (change.delta === undefined) return '—';
  const text =
    unit === 'bytes'
      ? formatBytesDelta(change.delta)
      : `${change.delta > 0 ? '+' : change.delta < 0 ? '−' : '±'}${Math.abs(Math.round(change.delta * 10) / 10)} ms`;
  const good = change.delta !== 0 && (lowerIsBetter ? change.delta < 0 : change.delta > 0);
  return `<span class="${good ? 'good' : change.delta === 0 ? 'muted' : ''}">${h(text)}</span>`;
}

function header(result: WindowResult): string {
  const { journal } = result;
  const duration = windowDurationMs(journal);
  const facts = [`${h(journal.tier)} window ${code(journal.windowId)}`, `on <strong>${h(journal.host)}</strong>`, `started ${h(utc(journal.startedAt))}`];
  if (duration !== undefined) facts.push(`took ${h(formatDuration(duration))}`);
  if (journal.failedStep) facts.push(`failed at ${code(journal.failedStep)}`);
  return `<header class="result ${result.result}" data-result="${result.result}"><h1>${icon(result.result)}${h(RESULT_TITLE[result.result])}</h1><p>${facts.join(' · ')}</p></header>`;
}

function cards(result: WindowResult, diff: SnapshotDiff): string {
  const { journal } = result;
  const list: string[] = [];
  const bracket = journal.bracket;
  const downtime = bracket?.downtimeSeconds;
  list.push(
    card(
      'Downtime',
      downtime === undefined ? 'none' : h(formatDuration(downtime * 1000)),
      bracket ? (bracket.healthy === false ? '<span class="bad">app not healthy after it</span>' : 'app healthy again') : 'no bracket',
    ),
  );
  if (diff.databaseSize.before !== undefined) {
    const reclaimed = diff.reclaimedBytes;
    list.push(
      card(
        'Database',
        h(bytes(diff.databaseSize.after ?? diff.databaseSize.before)),
        reclaimed !== undefined
          ? reclaimed >= 0
            ? `<span class="good">${h(formatBytes(reclaimed))} reclaimed</span>`
            : `${h(formatBytes(-reclaimed))} grown`
          : 'no post snapshot',
      ),
    );
  }
  const fullest = [...diff.disks].sort((a, b) => (b.usedPercent.after ?? b.usedPercent.before ?? 0) - (a.usedPercent.after ?? a.usedPercent.before ?? 0))[0];
  if (fullest)
    list.push(
      card(
        `Disk ${fullest.mount}`,
        h(formatPercent(fullest.usedPercent.after ?? fullest.usedPercent.before ?? 0)) + ' used',
        `free ${h(bytes(fullest.free.after ?? fullest.free.before))} (${delta(fullest.free, 'bytes', false)})`,
      ),
    );
  if (diff.responseP50Ms.before !== undefined || diff.responseP50Ms.after !== undefined) {
    list.push(
      card(
        'Response p50',
        `${h(diff.responseP50Ms.after ?? diff.responseP50Ms.before)} ms`,
        `before ${h(diff.responseP50Ms.before ?? '—')} ms (${delta(diff.responseP50Ms, 'ms', true)})`,
      ),
    );
  }
  const findings = journal.steps.flatMap((step) => step.findings ?? []);
  const critical = findings.filter((finding) => finding.severity === 'critical').length;
  const warnings = findings.filter((finding) => finding.severity === 'warning').length;
  list.push(
    card(
      'Findings',
      `${critical ? `<span class="bad">${critical} critical</span> ` : ''}${warnings} warning${warnings === 1 ? '' : 's'}`,
      `${findings.length} in total`,
    ),
  );
  const done = journal.steps.filter((step) => ['succeeded', 'warning', 'skipped'].includes(step.status)).length;
  list.push(card('Steps', `${done} / ${journal.steps.length}`, `done${journal.steps.some((step) => step.status === 'deferred') ? ', some deferred' : ''}`));
  return `<div class="cards">${list.join('')}</div>`;
}

function nextSteps(result: WindowResult): string {
  const { journal } = result;
  if (result.result !== 'failed') return '';
  const failed = journal.steps.find((step) => step.id === journal.failedStep) ?? journal.steps.find((step) => step.status === 'failed');
  const parts = ['<h2>What to do next</h2>'];
  if (journal.bracket?.healthy === false)
    parts.push('<p class="bad"><strong>The app did not answer healthy after the downtime bracket. Check it first.</strong></p>');
  if (result.failureMessage ?? journal.message) parts.push(`<p><strong>Why:</strong> ${h(result.failureMessage ?? journal.message)}</p>`);
  if (failed?.error) parts.push(`<pre>${h(failed.error)}</pre>`);
  if (journal.facts.backup)
    parts.push(
      `<p><strong>Rollback point:</strong> ${code(journal.facts.backup.path)} (${h(journal.facts.backup.kind)}, ${h(formatBytes(journal.facts.backup.sizeBytes))}, made ${h(utc(journal.facts.backup.createdAt))})</p>`,
    );
  if (journal.rollback) parts.push(`<p><strong>Rollback:</strong> ${h(journal.rollback.status)} — ${h(journal.rollback.summary)}</p>`);
  parts.push(
    `<ol><li>Fix the cause, then re-run the failed job of this workflow run: window ${code(journal.windowId)} resumes${failed ? ` at ${code(failed.id)}` : ''}.</li>` +
      `<li>Or run the manual workflow with ${code(`window-id: ${journal.windowId}`)} and ${code(`resume: ${failed?.id ?? 'auto'}`)}.</li><li>To start over: ${code('resume: restart')}.</li></ol>`,
  );
  if (failed && !failed.idempotent)
    parts.push(`<p><strong>Careful:</strong> ${code(failed.id)} is not safe to run twice: check on the host what it did before resuming at it.</p>`);
  return `<section class="next">${parts.join('')}</section>`;
}

function stepRow(step: StepRecord): string[] {
  const tags = [
    step.inBracket ? 'downtime' : '',
    step.destructive ? 'destructive' : '',
    step.attempts > 1 ? `${step.attempts} attempts` : '',
    step.resumedFrom ? 'earlier run' : '',
  ].filter(Boolean);
  const summary = step.status === 'failed' && step.error ? `<span class="bad">${h(step.error)}</span>` : h(step.summary ?? '');
  return [
    pill(step.status),
    `${code(step.id)} ${h(step.title)}${tags.map((tag) => `<span class="tag">${h(tag)}</span>`).join('')}`,
    h(step.phase),
    h(step.startedAt ? step.startedAt.slice(11, 19) : '—'),
    h(step.durationMs === undefined ? '—' : formatDuration(step.durationMs)),
    summary,
  ];
}

function beforeAfter(diff: SnapshotDiff): string {
  const rows: string[][] = [];
  if (diff.databaseSize.before !== undefined || diff.databaseSize.after !== undefined)
    rows.push(['Database size', bytes(diff.databaseSize.before), bytes(diff.databaseSize.after), delta(diff.databaseSize, 'bytes', true)]);
  for (const disk of diff.disks)
    rows.push([
      `Disk free ${code(disk.mount)}`,
      `${bytes(disk.free.before)} <span class="muted">(${h(disk.usedPercent.before ?? '—')}%)</span>`,
      `${bytes(disk.free.after)} <span class="muted">(${h(disk.usedPercent.after ?? '—')}%)</span>`,
      delta(disk.free, 'bytes', false),
    ]);
  if (diff.dockerBytes.before !== undefined || diff.dockerBytes.after !== undefined)
    rows.push(['Docker space', bytes(diff.dockerBytes.before), bytes(diff.dockerBytes.after), delta(diff.dockerBytes, 'bytes', true)]);
  const ms = (value: number | undefined) => (value === undefined ? '—' : `${value} ms`);
  if (diff.responseP50Ms.before !== undefined || diff.responseP50Ms.after !== undefined) {
    rows.push(['Response p50', ms(diff.responseP50Ms.before), ms(diff.responseP50Ms.after), delta(diff.responseP50Ms, 'ms', true)]);
    rows.push(['Response p95', ms(diff.responseP95Ms.before), ms(diff.responseP95Ms.after), delta(diff.responseP95Ms, 'ms', true)]);
  }
  if (rows.length === 0) return '';
  const tableRows = diff.tables.map((row) => [
    code(row.table),
    bytes(row.size.before),
    bytes(row.size.after),
    delta(row.size, 'bytes', true),
    h(row.deadTuples.before?.toLocaleString('en-US') ?? '—'),
    h(row.deadTuples.after?.toLocaleString('en-US') ?? '—'),
  ]);
  const perTable = tableRows.length
    ? `<details${tableRows.length <= 15 ? ' open' : ''}><summary>Per table (${tableRows.length})</summary>${tableHtml(['Table', 'Size before', 'Size after', 'Change', 'Dead before', 'Dead after'], tableRows, [1, 2, 3, 4, 5])}</details>`
    : '';
  return `<section><h2>Before / after</h2>${tableHtml(['', 'Before', 'After', 'Change'], rows, [1, 2, 3])}${perTable}</section>`;
}

function integrity(diff: SnapshotDiff): string {
  if (diff.integrity.length === 0) return '';
  const verdict = {
    equal: pill('succeeded', 'equal'),
    changed: `${pill('info', 'changed')} <span class="muted">app writing; not judged</span>`,
    mismatch: pill('failed', 'mismatch across the bracket'),
    missing: pill('warning', 'table missing'),
  };
  const n = (value: number | undefined) => h(value === undefined ? '—' : value.toLocaleString('en-US'));
  const rows = diff.integrity.map((row) => [
    code(row.table),
    n(row.baseline),
    n(row.post),
    row.bracketBefore !== undefined || row.bracketAfter !== undefined ? `${n(row.bracketBefore)} → ${n(row.bracketAfter)}` : '—',
    verdict[row.verdict],
  ]);
  const note = diff.judgedInBracket ? 'Judged across the downtime bracket, when nothing may write.' : 'No downtime bracket: counts are reported, not judged.';
  return `<section><h2>Integrity</h2><p class="note">${note}</p>${tableHtml(['Table', 'Baseline', 'Post', 'Bracket', 'Verdict'], rows, [1, 2, 3])}</section>`;
}

function findings(journal: Journal): string {
  const all = journal.steps.flatMap((step) => (step.findings ?? []).map((finding) => ({ step: step.id, finding })));
  if (all.length === 0) return '';
  const order: Finding['severity'][] = ['critical', 'warning', 'info'];
  all.sort((a, b) => order.indexOf(a.finding.severity) - order.indexOf(b.finding.severity));
  const items = all.map(
    ({ step, finding }) =>
      `<li data-severity="${finding.severity}">${pill(finding.severity === 'warning' ? 'warning-sev' : finding.severity, finding.severity)} <strong>${h(finding.title)}</strong> <span class="muted">(${code(step)})</span>` +
      `${finding.evidence ? `<div class="muted">${h(finding.evidence)}</div>` : ''}${finding.action ? `<div>→ ${h(finding.action)}</div>` : ''}</li>`,
  );
  return `<section><h2>Findings</h2><ul class="findings">${items.join('')}</ul></section>`;
}

function notes(result: WindowResult): string {
  const deferred = result.journal.steps.filter((step) => step.status === 'deferred');
  const warnings = [...new Set([...result.plan.warnings, ...result.warnings])];
  if (deferred.length === 0 && warnings.length === 0) return '';
  const parts: string[] = [];
  if (deferred.length) {
    const deadline = result.plan.deadline ? ` (deadline ${h(utc(result.plan.deadline.toISOString()))}: ${h(result.plan.deadlineReason ?? '')})` : '';
    parts.push(
      `<h2>Deferred</h2><p class="note">Not started: they could not finish before the deadline${deadline}.</p><ul>${deferred.map((step) => `<li>${code(step.id)} ${h(step.title)}${step.summary ? ` — ${h(step.summary)}` : ''}</li>`).join('')}</ul>`,
    );
  }
  if (warnings.length) parts.push(`<h2>Warnings</h2><ul>${warnings.map((warning) => `<li>${h(warning)}</li>`).join('')}</ul>`);
  return `<section>${parts.join('')}</section>`;
}

function hostFacts(snapshot: Snapshot | undefined): string {
  if (!snapshot) return '';
  const rows: string[][] = [];
  const system = snapshot.system;
  if (system) {
    rows.push(['Host', `${h(system.hostname)} <span class="muted">${h(system.kernel ?? '')}</span>`]);
    if (system.uptimeSeconds !== undefined) rows.push(['Uptime', h(formatDuration(system.uptimeSeconds * 1000))]);
    if (system.load) rows.push(['Load (1/5/15 min)', h(`${system.load.join(' / ')}${system.cpus ? ` on ${system.cpus} CPUs` : ''}`)]);
    if (system.memory) rows.push(['Memory available', h(`${formatBytes(system.memory.availableBytes)} of ${formatBytes(system.memory.totalBytes)}`)]);
  }
  if (snapshot.services)
    rows.push([
      'Services',
      `${snapshot.services.running ? pill('succeeded', 'running') : pill('failed', 'not running')} <span class="muted">(${h(snapshot.services.manager)})</span>`,
    ]);
  if (snapshot.backup)
    rows.push([
      'Newest backup',
      snapshot.backup.newest
        ? `${code(snapshot.backup.newest.path)} ${h(formatBytes(snapshot.backup.newest.sizeBytes))}, ${h(formatDuration(snapshot.backup.newest.ageSeconds * 1000))} old`
        : '<span class="bad">none found</span>',
    ]);
  if (snapshot.activity)
    rows.push([
      'Requests',
      h(
        `${snapshot.activity.requests} in the last ${formatDuration(snapshot.activity.windowSeconds * 1000)} (${snapshot.activity.serverErrors} server errors)`,
      ),
    ]);
  if (snapshot.database)
    rows.push([
      'Connections',
      h(snapshot.database.connections.map((entry) => `${entry.count} ${entry.state}`).join(', ') || 'none') +
        (snapshot.database.maxConnections ? ` <span class="muted">of ${snapshot.database.maxConnections}</span>` : ''),
    ]);
  const containers = snapshot.docker?.containers ?? [];
  const containerTable = containers.length
    ? tableHtml(
        ['Container', 'Image', 'Status', 'CPU', 'Memory'],
        containers.map((container) => [
          code(container.name),
          h(container.image ?? ''),
          h(container.status),
          h(container.cpuPercent === undefined ? '—' : `${container.cpuPercent}%`),
          h(container.memoryBytes === undefined ? '—' : formatBytes(container.memoryBytes)),
        ]),
        [3, 4],
      )
    : '';
  const errors = snapshot.errors.length ? `<p class="bad">Not gathered: ${h(snapshot.errors.join('; '))}</p>` : '';
  return `<section><h2>Host after the window</h2>${tableHtml(['', ''], rows)}${containerTable}${errors}</section>`;
}

function charts(result: WindowResult, diff: SnapshotDiff, history: Snapshot[]): string {
  const parts: string[] = [];
  if (result.journal.steps.length > 0)
    parts.push(
      `<section><h2>Timeline</h2><div class="legend"><span><i style="background:var(--ok)"></i>succeeded</span><span><i style="background:var(--warn)"></i>warning</span><span><i style="background:var(--bad)"></i>failed</span><span><i style="background:var(--muted)"></i>skipped</span><span><i style="background:var(--bad);opacity:.25"></i>downtime</span><span><i style="background:var(--defer)"></i>deadline</span></div>${timelineChart(result.journal)}</section>`,
    );
  const pairs = diff.tables
    .map((row) => ({ name: row.table, before: row.size.before, after: row.size.after }))
    .sort((a, b) => Math.max(b.before ?? 0, b.after ?? 0) - Math.max(a.before ?? 0, a.after ?? 0))
    .slice(0, 12);
  if (pairs.length) parts.push(`<section><h2>Table sizes (largest ${pairs.length})</h2>${sizeBarsChart(pairs)}</section>`);
  const current = [asSnapshot(result.baseline), asSnapshot(result.post)].filter((snapshot): snapshot is Snapshot => Boolean(snapshot));
  const seen = new Set(current.map((snapshot) => `${snapshot.windowId}/${snapshot.kind}`));
  const earlier = history.filter((snapshot) => !seen.has(`${snapshot.windowId}/${snapshot.kind}`));
  const series = historySeries([...earlier, ...current]);
  const source = earlier.length
    ? `${earlier.length} earlier snapshots kept on the host, and this window's`
    : "this window's snapshots only: the host keeps more with every window";
  parts.push(
    `<section><h2>History</h2><p class="note">From ${source}.</p>` +
      `<h3>Database size</h3>${lineChart('db-size-history', 'Database size', series.database, formatBytes)}` +
      `<h3>Disk used</h3>${lineChart('disk-history', 'Disk used', series.disks, formatPercent, { minZero: true })}</section>`,
  );
  return parts.join('');
}

/** The self-contained report page: inline CSS and SVG, no scripts, nothing fetched (the CSP forbids it). */
export function renderHtml(result: WindowResult, options: HtmlOptions = {}): string {
  const diff = options.diff ?? diffSnapshots(asSnapshot(result.baseline), asSnapshot(result.post), result.journal.bracket);
  const title = `${RESULT_TITLE[result.result]}: ${result.journal.tier} on ${result.journal.host}`;
  const body: string[] = [header(result)];
  if (result.result === 'planned') {
    const plan = planToJson(result.plan);
    const rows = plan.steps.map((step, index) => [
      String(index + 1),
      `${code(step.id)} ${h(step.title)}`,
      h(step.phase),
      h(step.impact) + (step.inBracket ? ' <span class="tag">bracket</span>' : ''),
      step.destructive ? pill('warning', 'destructive') : 'no',
      step.idempotent ? 'yes' : 'no',
      h(formatDuration(step.timeoutMs)),
    ]);
    body.push(`<section><h2>Plan</h2>${tableHtml(['#', 'Step', 'Phase', 'Impact', 'Destructive', 'Idempotent', 'Timeout'], rows, [0, 6])}</section>`);
    body.push(
      `<section><h2>What each step runs</h2>${plan.steps.map((step) => `<details><summary>${code(step.id)} ${h(step.title)}</summary><p>${h(step.description)}</p>${step.commands.map((command) => `<pre>${h(command)}</pre>`).join('')}</details>`).join('')}</section>`,
    );
  } else {
    body.push(cards(result, diff), nextSteps(result), charts(result, diff, options.history ?? []));
    body.push(`<section><h2>Steps</h2>${tableHtml(['', 'Step', 'Phase', 'Started', 'Took', 'Result'], result.journal.steps.map(stepRow), [4])}</section>`);
    body.push(beforeAfter(diff), integrity(diff), findings(result.journal), notes(result), hostFacts(asSnapshot(result.post) ?? asSnapshot(result.baseline)));
  }
  const generated = (options.generatedAt ?? new Date()).toISOString();
  const links = [
    options.runUrl && /^https?:\/\//.test(options.runUrl) ? `<a href="${h(options.runUrl)}">workflow run</a>` : '',
    options.artifactName ? `artifact ${code(options.artifactName)}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  body.push(`<footer>maintenance-window · generated ${h(utc(generated))}${links ? ` · ${links}` : ''}</footer>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${h(title)}</title><style>${STYLE}</style></head>
<body><main>${body.filter(Boolean).join('\n')}</main></body></html>
`;
}
