import { appendFile } from 'node:fs/promises';
import * as core from '@actions/core';
import { DefaultArtifactClient } from '@actions/artifact';
import { Outputs } from '../constants.js';
import { getErrorMessage } from '../errors.js';
import type { WindowResult } from '../window/result.js';
import { asSnapshot } from './diff.js';
import type { WrittenReport } from './write-report.js';

/** Where the job summary goes: core.summary in the action, a file or stdout in the CLI. */
export interface SummarySink {
  write(markdown: string): Promise<void>;
}

export type AnnotationLevel = 'error' | 'warning' | 'notice';

/** The host process's reporting doors (GitHub Actions, or the CLI's stdout). */
export interface PublishIO {
  summary: SummarySink;
  setOutput(name: string, value: string): void;
  annotate(level: AnnotationLevel, message: string, title?: string): void;
}

export interface ArtifactUploader {
  upload(name: string, files: string[], rootDir: string): Promise<{ id?: number; size?: number }>;
}

/** GitHub shows at most 10 annotations of a level per step: keep the rest for the summary. */
export const ANNOTATIONS_PER_LEVEL = 10;

export function actionsIO(): PublishIO {
  return {
    summary: {
      write: async (markdown) => {
        await core.summary.addRaw(markdown, true).write();
      },
    },
    setOutput: (name, value) => core.setOutput(name, value),
    annotate: (level, message, title) => core[level](message, title ? { title } : undefined),
  };
}

/** The CLI: the summary to a file (appended) or to `write`, outputs and annotations as plain lines. */
export function cliIO(options: { summaryFile?: string; write?: (line: string) => void } = {}): PublishIO {
  const write = options.write ?? ((line: string) => void process.stdout.write(line + '\n'));
  return {
    summary: {
      write: async (markdown) => {
        if (options.summaryFile) await appendFile(options.summaryFile, markdown);
        else write(markdown);
      },
    },
    setOutput: (name, value) => write(`${name}=${value}`),
    annotate: (level, message, title) => write(`${level}: ${title ? `${title}: ` : ''}${message}`),
  };
}

export function actionsArtifactUploader(): ArtifactUploader {
  const client = new DefaultArtifactClient();
  return {
    upload: async (name, files, rootDir) => client.uploadArtifact(name, files, rootDir, { retentionDays: 90 }),
  };
}

/** `user@host:22` → `host`; other ports stay, they tell hosts apart. */
export function hostLabel(host: string): string {
  return host.replace(/^[^@]*@/, '').replace(/:22$/, '');
}

/** Unique per host, window and run attempt; only the characters artifact names accept. */
export function artifactName(result: WindowResult): string {
  const { journal } = result;
  const raw = `maintenance-${hostLabel(journal.host)}-${journal.windowId}-attempt${journal.runAttempt}`;
  return raw
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .slice(0, 200);
}

/** The action's outputs: names from constants, values as strings (empty when unknown). */
export function reportOutputs(result: WindowResult, reportDir: string): Record<string, string> {
  const before = asSnapshot(result.baseline)?.database?.sizeBytes;
  const after = asSnapshot(result.post)?.database?.sizeBytes;
  const value = (number: number | undefined) => (number === undefined ? '' : String(number));
  return {
    [Outputs.result]: result.result,
    [Outputs.windowId]: result.journal.windowId,
    [Outputs.failedStep]: result.journal.failedStep ?? '',
    [Outputs.reportDir]: reportDir,
    [Outputs.downtimeSeconds]: String(result.journal.bracket?.downtimeSeconds ?? 0),
    [Outputs.dbSizeBefore]: value(before),
    [Outputs.dbSizeAfter]: value(after),
    [Outputs.reclaimedBytes]: before !== undefined && after !== undefined ? String(before - after) : '',
  };
}

export interface Annotation {
  level: AnnotationLevel;
  title: string;
  message: string;
}

/** The failed step, deferred steps, critical and warning findings, a count mismatch: each a titled annotation. */
export function reportAnnotations(result: WindowResult): Annotation[] {
  const { journal } = result;
  const host = hostLabel(journal.host);
  const list: Annotation[] = [];
  const failed = journal.steps.find((step) => step.id === journal.failedStep);
  if (failed)
    list.push({ level: 'error', title: `Step ${failed.id} failed on ${host}`, message: failed.error ?? result.failureMessage ?? failed.summary ?? 'failed' });
  else if (result.result === 'failed')
    list.push({ level: 'error', title: `Maintenance window failed on ${host}`, message: result.failureMessage ?? journal.message ?? 'failed' });
  if (journal.bracket?.healthy === false)
    list.push({
      level: 'error',
      title: `App not healthy after the downtime on ${host}`,
      message: 'The app did not answer healthy after the downtime bracket: check it first.',
    });
  if (journal.bracket?.countsEqual === false)
    list.push({
      level: 'error',
      title: `Row counts changed across the downtime on ${host}`,
      message: 'Integrity table counts differ before and after the downtime bracket; see the report.',
    });
  for (const step of journal.steps.filter((entry) => entry.status === 'deferred')) {
    list.push({ level: 'warning', title: `Deferred on ${host}: ${step.id}`, message: step.summary ?? 'not started before the window deadline' });
  }
  for (const step of journal.steps) {
    for (const finding of step.findings ?? []) {
      if (finding.severity === 'info') continue;
      const message = [finding.evidence, finding.action].filter(Boolean).join(' — ') || finding.title;
      list.push({ level: finding.severity === 'critical' ? 'error' : 'warning', title: `${finding.title} (${host}, ${step.id})`, message });
    }
  }
  return list;
}

export interface PublishOptions {
  io: PublishIO;
  /** Absent (the CLI): no upload. */
  artifact?: ArtifactUploader;
  env?: NodeJS.ProcessEnv;
}

export interface PublishResult {
  artifactName: string;
  uploaded: boolean;
  annotations: number;
}

/**
 * Publishes a written report: job summary, outputs, annotations (capped per level, the rest counted in a
 * notice), and the artifact. Never throws for a publishing problem: it becomes a warning, the window's result
 * stands.
 */
export async function publishReport(report: WrittenReport, options: PublishOptions): Promise<PublishResult> {
  const { io } = options;
  const env = options.env ?? process.env;
  const result = report.result;
  const name = artifactName(result);
  try {
    await io.summary.write(report.summary);
  } catch (error) {
    io.annotate('warning', `writing the job summary failed: ${getErrorMessage(error)}; the report is in ${report.dir}`, 'Job summary not written');
  }
  for (const [output, value] of Object.entries(reportOutputs(result, report.dir))) io.setOutput(output, value);

  const annotations = reportAnnotations(result);
  let shown = 0;
  for (const level of ['error', 'warning'] as const) {
    const ofLevel = annotations.filter((annotation) => annotation.level === level);
    for (const annotation of ofLevel.slice(0, ANNOTATIONS_PER_LEVEL)) io.annotate(level, annotation.message, annotation.title);
    shown += Math.min(ofLevel.length, ANNOTATIONS_PER_LEVEL);
    if (ofLevel.length > ANNOTATIONS_PER_LEVEL)
      io.annotate('notice', `${ofLevel.length - ANNOTATIONS_PER_LEVEL} more ${level}s are in the job summary.`, `More ${level}s`);
  }

  let uploaded = false;
  if (options.artifact && !env.ACTIONS_RUNTIME_TOKEN) {
    io.annotate('notice', `Not running in GitHub Actions (ACTIONS_RUNTIME_TOKEN is not set): the report stays in ${report.dir}.`, 'Artifact upload skipped');
  } else if (options.artifact) {
    try {
      await options.artifact.upload(name, report.files, report.dir);
      uploaded = true;
    } catch (error) {
      io.annotate(
        'warning',
        `uploading artifact ${name} failed: ${getErrorMessage(error)}; the report is in ${report.dir} on the runner`,
        'Artifact upload failed',
      );
    }
  }
  return { artifactName: name, uploaded, annotations: shown };
}
