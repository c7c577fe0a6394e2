/** Inline SVG charts for the HTML report: no scripts, no fonts, no network. Every datum also sits in data-* attributes. */
import type { Journal, StepState } from '../window/journal.js';
import { formatBytes, formatDuration } from './human-size.js';
import type { Snapshot } from './snapshot-types.js';

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!);
}

const WIDTH = 960;
/** Rows drawn in the timeline; a longer window lists the rest in the steps table only. */
export const TIMELINE_MAX_ROWS = 150;

const round = (value: number) => Math.round(value * 10) / 10;

export const STATE_COLOR: Record<StepState, string> = {
  succeeded: 'var(--ok)',
  warning: 'var(--warn)',
  failed: 'var(--bad)',
  skipped: 'var(--muted)',
  deferred: 'var(--defer)',
  'not-run': 'var(--muted)',
  pending: 'var(--muted)',
  running: 'var(--info)',
};

function clock(ms: number, withSeconds: boolean): string {
  return new Date(ms).toISOString().slice(11, withSeconds ? 19 : 16);
}

const TIME_STEPS_MS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600].map((seconds) => seconds * 1000);

/** Clock-aligned ticks (every 5 min, 15 min, 1 h …) over [t0, t1], about `count` of them. */
function timeTicks(t0: number, t1: number, count = 6): number[] {
  const step = TIME_STEPS_MS.find((candidate) => (t1 - t0) / candidate <= count) ?? TIME_STEPS_MS[TIME_STEPS_MS.length - 1]!;
  const ticks: number[] = [];
  for (let at = Math.ceil(t0 / step) * step; at <= t1; at += step) ticks.push(at);
  return ticks;
}

/** Round tick values from at or below min to at or above max. */
function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= raw) ?? raw;
  const ticks: number[] = [];
  for (let value = Math.floor(min / step) * step; value < max + step; value += step) ticks.push(value);
  return ticks;
}

/** Gantt-like bars from each step's start and duration, with the downtime bracket and the deadline. */
export function timelineChart(journal: Journal): string {
  const all = journal.steps;
  const steps = all.slice(0, TIMELINE_MAX_ROWS);
  const starts = all.filter((step) => step.startedAt).map((step) => Date.parse(step.startedAt!));
  const ends = all.filter((step) => step.startedAt).map((step) => Date.parse(step.startedAt!) + (step.durationMs ?? 0));
  const t0 = Math.min(Date.parse(journal.startedAt), ...starts);
  const t1 = Math.max(t0 + 1000, Date.parse(journal.endedAt ?? journal.updatedAt), ...ends);
  const label = 250;
  const right = 20;
  const row = 22;
  const top = 28;
  const height = top + steps.length * row + 10;
  const x = (ms: number) => round(label + ((ms - t0) / (t1 - t0)) * (WIDTH - label - right));
  const parts: string[] = [];
  const ticks = timeTicks(t0, t1, 7);
  const withSeconds = ticks.some((at) => at % 60_000 !== 0);
  for (const at of ticks) {
    parts.push(
      `<line class="grid" x1="${x(at)}" x2="${x(at)}" y1="${top - 6}" y2="${height - 6}"/>`,
      `<text class="axis" x="${x(at)}" y="${top - 12}" text-anchor="middle">${clock(at, withSeconds)}</text>`,
    );
  }
  const bracket = journal.bracket;
  if (bracket?.stoppedAt) {
    const from = Date.parse(bracket.stoppedAt);
    const to = bracket.startedAt ? Date.parse(bracket.startedAt) : t1;
    const seconds = bracket.downtimeSeconds ?? Math.round((to - from) / 1000);
    parts.push(
      `<rect class="bracket" data-downtime-seconds="${seconds}" x="${x(from)}" y="${top - 6}" width="${Math.max(2, round(x(to) - x(from)))}" height="${height - top}"><title>downtime ${escapeHtml(formatDuration(seconds * 1000))}</title></rect>`,
    );
  }
  if (journal.deadline) {
    const deadline = Date.parse(journal.deadline);
    if (deadline >= t0 && deadline <= t1)
      parts.push(
        `<line class="deadline" data-deadline="${escapeHtml(journal.deadline)}" x1="${x(deadline)}" x2="${x(deadline)}" y1="${top - 6}" y2="${height - 6}"><title>deadline ${escapeHtml(journal.deadline)}</title></line>`,
      );
  }
  steps.forEach((step, index) => {
    const y = top + index * row;
    parts.push(
      `<text class="label" x="${label - 8}" y="${y + 15}" text-anchor="end">${escapeHtml(step.id.length > 34 ? `${step.id.slice(0, 33)}…` : step.id)}</text>`,
    );
    const attrs = `data-step="${escapeHtml(step.id)}" data-status="${step.status}"`;
    if (step.startedAt) {
      const start = Date.parse(step.startedAt);
      const width = Math.max(2, round(x(start + (step.durationMs ?? 0)) - x(start)));
      const title = `${step.id}: ${step.status}, ${formatDuration(step.durationMs ?? 0)}`;
      parts.push(
        `<rect class="bar" ${attrs} data-start="${escapeHtml(step.startedAt)}" data-duration-ms="${step.durationMs ?? 0}" x="${x(start)}" y="${y + 4}" width="${width}" height="${row - 8}" rx="3" fill="${STATE_COLOR[step.status]}"><title>${escapeHtml(title)}</title></rect>`,
      );
    } else {
      parts.push(`<text class="unstarted" ${attrs} x="${label + 6}" y="${y + 15}">${escapeHtml(step.status)}</text>`);
    }
  });
  const more = all.length > steps.length ? `<p class="note">${all.length - steps.length} more steps are in the table below.</p>` : '';
  return `<svg class="chart" data-chart="timeline" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="Step timeline">${parts.join('')}</svg>${more}`;
}

export interface SizePair {
  name: string;
  before?: number;
  after?: number;
}

/** Before / after bars per table, the largest first. */
export function sizeBarsChart(pairs: SizePair[]): string {
  const label = 220;
  const valueColumn = 190;
  const row = 34;
  const top = 24;
  const max = Math.max(1, ...pairs.flatMap((pair) => [pair.before ?? 0, pair.after ?? 0]));
  const barWidth = (value: number) => round((value / max) * (WIDTH - label - valueColumn));
  const parts: string[] = [
    `<rect class="swatch before" x="${label}" y="4" width="12" height="10"/><text class="axis" x="${label + 16}" y="13">before</text>`,
    `<rect class="swatch after" x="${label + 80}" y="4" width="12" height="10"/><text class="axis" x="${label + 96}" y="13">after</text>`,
  ];
  pairs.forEach((pair, index) => {
    const y = top + index * row;
    parts.push(`<g class="pair" data-table="${escapeHtml(pair.name)}" data-before="${pair.before ?? ''}" data-after="${pair.after ?? ''}">`);
    parts.push(
      `<text class="label" x="${label - 8}" y="${y + 18}" text-anchor="end">${escapeHtml(pair.name.length > 30 ? `${pair.name.slice(0, 29)}…` : pair.name)}</text>`,
    );
    if (pair.before !== undefined)
      parts.push(
        `<rect class="before" x="${label}" y="${y + 3}" width="${Math.max(1, barWidth(pair.before))}" height="12" rx="2"><title>before ${escapeHtml(formatBytes(pair.before))}</title></rect>`,
      );
    if (pair.after !== undefined)
      parts.push(
        `<rect class="after" x="${label}" y="${y + 16}" width="${Math.max(1, barWidth(pair.after))}" height="12" rx="2"><title>after ${escapeHtml(formatBytes(pair.after))}</title></rect>`,
      );
    const values = `${pair.before === undefined ? '—' : formatBytes(pair.before)} → ${pair.after === undefined ? '—' : formatBytes(pair.after)}`;
    parts.push(`<text class="value" x="${WIDTH - valueColumn + 10}" y="${y + 20}">${escapeHtml(values)}</text></g>`);
  });
  const height = top + pairs.length * row + 6;
  return `<svg class="chart" data-chart="table-sizes" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="Table sizes before and after">${parts.join('')}</svg>`;
}

export interface Series {
  name: string;
  points: { at: string; value: number }[];
}

/** Values over time, one line per series; y labels through `format`. */
export function lineChart(id: string, title: string, series: Series[], format: (value: number) => string, options: { minZero?: boolean } = {}): string {
  const points = series.flatMap((line) => line.points);
  if (points.length === 0) return `<p class="note" data-chart="${escapeHtml(id)}">No data yet for ${escapeHtml(title.toLowerCase())}.</p>`;
  const left = 90;
  const right = 20;
  const top = 16;
  const plotHeight = 200;
  const bottom = 46 + Math.ceil(series.length / 4) * 18;
  const height = top + plotHeight + bottom;
  const times = points.map((point) => Date.parse(point.at));
  const t0 = Math.min(...times);
  const t1 = Math.max(t0 + 60_000, ...times);
  const values = points.map((point) => point.value);
  const low = options.minZero ? 0 : Math.min(...values);
  const high = Math.max(...values);
  const pad = (high - low) * 0.05 || Math.abs(high) * 0.1 || 1;
  const ticks = niceTicks(options.minZero ? 0 : Math.max(0, low - pad), high + pad, 4);
  const v0 = ticks[0]!;
  const v1 = ticks[ticks.length - 1]!;
  const x = (ms: number) => round(left + ((ms - t0) / (t1 - t0)) * (WIDTH - left - right));
  const y = (value: number) => round(top + plotHeight - ((value - v0) / (v1 - v0 || 1)) * plotHeight);
  const parts: string[] = [];
  // A small change on a large value rounds every tick to one label: then show the base and the steps above it.
  const labels = ticks.map(format);
  const tickLabel = (tick: number, index: number) => (new Set(labels).size === labels.length || index === 0 ? labels[index]! : `+${format(tick - v0)}`);
  ticks.forEach((tick, index) =>
    parts.push(
      `<line class="grid" x1="${left}" x2="${WIDTH - right}" y1="${y(tick)}" y2="${y(tick)}"/><text class="axis" x="${left - 8}" y="${y(tick) + 4}" text-anchor="end">${escapeHtml(tickLabel(tick, index))}</text>`,
    ),
  );
  // Dates for weeks of history; minutes for a single window.
  const label = (at: number) =>
    new Date(at)
      .toISOString()
      .slice(0, t1 - t0 > 2 * 86_400_000 ? 10 : 16)
      .replace('T', ' ');
  for (const at of [t0, t1])
    parts.push(`<text class="axis" x="${x(at)}" y="${top + plotHeight + 18}" text-anchor="${at === t0 ? 'start' : 'end'}">${label(at)}</text>`);
  series.forEach((line, index) => {
    const color = `var(--series-${index % 6})`;
    const sorted = [...line.points].sort((a, b) => a.at.localeCompare(b.at));
    const path = sorted.map((point, i) => `${i === 0 ? 'M' : 'L'}${x(Date.parse(point.at))},${y(point.value)}`).join(' ');
    parts.push(`<g class="series" data-series="${escapeHtml(line.name)}">`);
    if (sorted.length > 1) parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const point of sorted) {
      parts.push(
        `<circle data-at="${escapeHtml(point.at)}" data-value="${point.value}" cx="${x(Date.parse(point.at))}" cy="${y(point.value)}" r="3.5" fill="${color}"><title>${escapeHtml(`${line.name} ${point.at.slice(0, 16).replace('T', ' ')}: ${format(point.value)}`)}</title></circle>`,
      );
    }
    const legendX = left + (index % 4) * 210;
    const legendY = top + plotHeight + 40 + Math.floor(index / 4) * 18;
    parts.push(
      `<rect x="${legendX}" y="${legendY - 9}" width="12" height="10" fill="${color}"/><text class="axis" x="${legendX + 16}" y="${legendY}">${escapeHtml(line.name.length > 28 ? `${line.name.slice(0, 27)}…` : line.name)}</text></g>`,
    );
  });
  return `<svg class="chart" data-chart="${escapeHtml(id)}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${escapeHtml(title)}">${parts.join('')}</svg>`;
}

/** Database size and disk use over time, from the kept history and this window's snapshots. */
export function historySeries(snapshots: Snapshot[]): { database: Series[]; disks: Series[] } {
  const byTime = [...snapshots].sort((a, b) => a.takenAt.localeCompare(b.takenAt));
  const database: Series = { name: 'database size', points: [] };
  const disks = new Map<string, Series>();
  for (const snapshot of byTime) {
    if (snapshot.database) database.points.push({ at: snapshot.takenAt, value: snapshot.database.sizeBytes });
    for (const disk of snapshot.disks) {
      const series = disks.get(disk.mount) ?? { name: disk.mount, points: [] };
      series.points.push({ at: snapshot.takenAt, value: disk.usedPercent });
      disks.set(disk.mount, series);
    }
  }
  return { database: database.points.length ? [database] : [], disks: [...disks.values()] };
}

export const formatPercent = (value: number) => `${round(value)}%`;
