import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WindowResult } from '../window/result.js';
import { asSnapshot, diffSnapshots, type SnapshotDiff } from './diff.js';
import { renderHtml } from './html.js';
import { renderSummary } from './markdown.js';
import { planToJson } from './plan-json.js';
import { maskText, maskValue, secretForms } from './secret-mask.js';
import type { Snapshot } from './snapshot-types.js';

export const ReportFiles = {
  baseline: 'baseline.json',
  post: 'post.json',
  journal: 'window.json',
  markdown: 'report.md',
  html: 'report.html',
  plan: 'plan.json',
} as const;

export interface ReportOptions {
  /** Earlier snapshots of the host, for the HTML trend charts. */
  history?: Snapshot[];
  artifactName?: string;
  runUrl?: string;
}

export interface WrittenReport {
  dir: string;
  /** Absolute paths of the files written. */
  files: string[];
  /** The job summary (masked). */
  summary: string;
  diff: SnapshotDiff;
  /** The result with every secret masked: publish from this, never from the original. */
  result: WindowResult;
}

const json = (value: unknown) => JSON.stringify(value, null, 2) + '\n';

/**
 * Writes the report files. Secrets are masked twice: in the data before rendering, and in every file's final
 * text (raw, JSON-, HTML- and Markdown-escaped forms) as the last line of defence.
 */
export async function writeReport(result: WindowResult, dir: string, secrets: readonly string[], options: ReportOptions = {}): Promise<WrittenReport> {
  const forms = secretForms(secrets);
  const masked = maskValue(result, forms);
  const history = maskValue(options.history ?? [], forms);
  const diff = diffSnapshots(asSnapshot(masked.baseline), asSnapshot(masked.post), masked.journal.bracket);
  const summary = maskText(renderSummary(masked, diff, { artifactName: options.artifactName, runUrl: options.runUrl }), forms);
  const contents = new Map<string, string>([
    [ReportFiles.journal, json(masked.journal)],
    [ReportFiles.plan, json(planToJson(masked.plan))],
    [ReportFiles.markdown, summary],
    [ReportFiles.html, renderHtml(masked, { history, diff, artifactName: options.artifactName, runUrl: options.runUrl })],
  ]);
  if (masked.baseline !== undefined) contents.set(ReportFiles.baseline, json(masked.baseline));
  if (masked.post !== undefined) contents.set(ReportFiles.post, json(masked.post));

  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const [name, content] of contents) {
    const path = join(dir, name);
    await writeFile(path, maskText(content, forms), { mode: 0o644 });
    files.push(path);
  }
  return { dir, files, summary, diff, result: masked };
}
