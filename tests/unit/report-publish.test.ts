import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Outputs } from '../../src/constants.js';
import { ANNOTATIONS_PER_LEVEL, artifactName, cliIO, publishReport, type ArtifactUploader, type PublishIO } from '../../src/report/publish.js';
import { writeReport } from '../../src/report/write-report.js';
import type { WindowResult } from '../../src/window/result.js';
import { deferralResult, failureResult, successResult } from '../support/report-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'mw-report-publish-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Records what publishing sent through the PublishIO interface (the action wires core.* behind it). */
function recordingIO() {
  const summaries: string[] = [];
  const outputs: Record<string, string> = {};
  const annotations: { level: string; title?: string; message: string }[] = [];
  const io: PublishIO = {
    summary: { write: async (markdown) => void summaries.push(markdown) },
    setOutput: (name, value) => void (outputs[name] = value),
    annotate: (level, message, title) => void annotations.push({ level, title, message }),
  };
  return { io, summaries, outputs, annotations };
}

function recordingUploader(fail?: Error) {
  const uploads: { name: string; files: string[]; rootDir: string }[] = [];
  const uploader: ArtifactUploader = {
    upload: async (name, files, rootDir) => {
      if (fail) throw fail;
      uploads.push({ name, files, rootDir });
      return { id: 1 };
    },
  };
  return { uploader, uploads };
}

async function written(result: WindowResult, name: string) {
  return writeReport(result, join(root, name), [], { artifactName: artifactName(result) });
}

describe('publishReport', () => {
  test('a failed window: summary, every output, an error annotation titled with step and host, the artifact', async () => {
    const report = await written(failureResult(), 'failed');
    const { io, summaries, outputs, annotations } = recordingIO();
    const { uploader, uploads } = recordingUploader();
    const published = await publishReport(report, { io, artifact: uploader, env: { ACTIONS_RUNTIME_TOKEN: 'x' } });

    expect(summaries).toEqual([report.summary]);
    expect(outputs).toEqual({
      [Outputs.result]: 'failed',
      [Outputs.windowId]: 'monthly-7311892044',
      [Outputs.failedStep]: 'db.reindex',
      [Outputs.reportDir]: report.dir,
      [Outputs.downtimeSeconds]: '72',
      [Outputs.dbSizeBefore]: String(Math.round(4.87 * 1024 ** 3)),
      [Outputs.dbSizeAfter]: String(Math.round(3.42 * 1024 ** 3)),
      [Outputs.reclaimedBytes]: String(Math.round(4.87 * 1024 ** 3) - Math.round(3.42 * 1024 ** 3)),
    });
    expect(annotations[0]).toMatchObject({ level: 'error', title: 'Step db.reindex failed on db1.example.com' });
    expect(annotations[0]!.message).toContain('canceling statement due to lock timeout');
    expect(published).toEqual({ artifactName: 'maintenance-db1.example.com-monthly-7311892044-attempt1', uploaded: true, annotations: 1 });
    expect(uploads).toEqual([{ name: published.artifactName, files: report.files, rootDir: report.dir }]);
  });

  test('warnings for deferred steps, the expiring certificate and the reboot; info findings stay in the summary', async () => {
    const result = deferralResult();
    const report = await written(result, 'deferred');
    const { io, annotations, outputs } = recordingIO();
    await publishReport(report, { io });
    const titles = annotations.map((annotation) => `${annotation.level}: ${annotation.title}`);
    expect(titles).toEqual([
      'warning: Deferred on db1.example.com: db.vacuum-full',
      'warning: Deferred on db1.example.com: db.reindex',
      'warning: Deferred on db1.example.com: docker.update-images',
      'warning: Deferred on db1.example.com: system.package-updates',
      'warning: Deferred on db1.example.com: capacity.review',
      'warning: Certificate for api.example.com expires in 12 days (db1.example.com, tls.expiry)',
    ]);
    expect(outputs[Outputs.failedStep]).toBe('');
    expect(outputs[Outputs.downtimeSeconds]).toBe('0');

    const success = await written(successResult(), 'success');
    const recorded = recordingIO();
    await publishReport(success, { io: recorded.io });
    expect(recorded.annotations.map((annotation) => annotation.title)).toEqual([
      'Reboot required (db1.example.com, system.package-updates)',
      'Certificate for api.example.com expires in 12 days (db1.example.com, tls.expiry)',
    ]);
    expect(recorded.annotations.map((annotation) => annotation.title).join()).not.toContain('/backups grows');
  });

  test(`annotations are capped at ${ANNOTATIONS_PER_LEVEL} per level; the rest are counted in a notice`, async () => {
    const result = successResult();
    result.journal.steps[2]!.findings = Array.from({ length: 14 }, (_, index) => ({ severity: 'critical' as const, title: `problem ${index}` }));
    const { io, annotations } = recordingIO();
    const published = await publishReport(await written(result, 'many'), { io });
    expect(annotations.filter((annotation) => annotation.level === 'error')).toHaveLength(ANNOTATIONS_PER_LEVEL);
    expect(annotations).toContainEqual({ level: 'notice', title: 'More errors', message: '4 more errors are in the job summary.' });
    expect(published.annotations).toBe(ANNOTATIONS_PER_LEVEL + 2);
  });

  test('outside GitHub Actions the artifact is skipped with a notice; a failing upload is a warning, not a failure', async () => {
    const report = await written(successResult(), 'artifact');
    const skipped = recordingIO();
    const { uploader, uploads } = recordingUploader();
    expect(await publishReport(report, { io: skipped.io, artifact: uploader, env: {} })).toMatchObject({ uploaded: false });
    expect(uploads).toEqual([]);
    expect(skipped.annotations).toContainEqual({
      level: 'notice',
      title: 'Artifact upload skipped',
      message: `Not running in GitHub Actions (ACTIONS_RUNTIME_TOKEN is not set): the report stays in ${report.dir}.`,
    });

    const failing = recordingIO();
    const broken = recordingUploader(new Error('503 Service Unavailable'));
    expect(await publishReport(report, { io: failing.io, artifact: broken.uploader, env: { ACTIONS_RUNTIME_TOKEN: 'x' } })).toMatchObject({ uploaded: false });
    expect(failing.annotations.at(-1)).toMatchObject({ level: 'warning', title: 'Artifact upload failed' });
    expect(failing.annotations.at(-1)!.message).toContain('503 Service Unavailable');
    expect(failing.outputs[Outputs.result]).toBe('succeeded');
  });

  test('a summary sink that fails does not stop the outputs', async () => {
    const report = await written(successResult(), 'sink');
    const recorded = recordingIO();
    recorded.io.summary = { write: () => Promise.reject(new Error('EACCES: summary file')) };
    await publishReport(report, { io: recorded.io });
    expect(recorded.annotations[0]).toMatchObject({ level: 'warning', title: 'Job summary not written' });
    expect(recorded.outputs[Outputs.result]).toBe('succeeded');
  });

  test('the CLI appends the summary to a file and prints outputs and annotations as lines', async () => {
    const report = await written(failureResult(), 'cli');
    const lines: string[] = [];
    const summaryFile = join(root, 'summary.md');
    await publishReport(report, { io: cliIO({ summaryFile, write: (line) => void lines.push(line) }) });
    expect(readFileSync(summaryFile, 'utf8')).toBe(report.summary);
    expect(lines).toContain('result=failed');
    expect(lines).toContain('failed-step=db.reindex');
    expect(lines.find((line) => line.startsWith('error: Step db.reindex failed on db1.example.com: '))).toBeDefined();
  });
});

test.each([
  ['deploy@db1.example.com:22', 'monthly-7311892044', 1, 'maintenance-db1.example.com-monthly-7311892044-attempt1'],
  ['root@10.0.0.5:2222', 'weekly-1', 3, 'maintenance-10.0.0.5-2222-weekly-1-attempt3'],
  ['ops@db:22', 'manual "x"/y\\z:*?<>|', 2, 'maintenance-db-manual-x-y-z-attempt2'],
])('artifact name for %s, window %s, attempt %i', (host, windowId, attempt, expected) => {
  const result = successResult();
  Object.assign(result.journal, { host, windowId, runAttempt: attempt });
  expect(artifactName(result)).toBe(expected);
});
