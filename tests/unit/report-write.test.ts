import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { escapeHtml } from '../../src/report/html-charts.js';
import { text as markdownText } from '../../src/report/md.js';
import { secretForms } from '../../src/report/secret-mask.js';
import type { Snapshot } from '../../src/report/snapshot-types.js';
import { ReportFiles, writeReport } from '../../src/report/write-report.js';
import { dryRunResult, failureResult, schemaValidator } from '../support/report-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'mw-report-write-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const KEY = [
  '-----BEGIN OPENSSH PRIVATE KEY-----',
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
  'QyNTUxOQAAACBfakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeAAAA',
  '-----END OPENSSH PRIVATE KEY-----',
].join('\n');
const PASSWORD = `pw_<Tr0ub4dor>|"&'*x`;
const TOKEN = 'ghp_FAKEfakeFAKEfakeFAKEfakeFAKEfake1234';
const SECRETS = [KEY, PASSWORD, TOKEN];

/** A failed window whose host output leaked every secret into every kind of field. */
function leakyResult() {
  const result = failureResult();
  const leak = `PGPASSWORD=${PASSWORD} token ${TOKEN} key ${KEY}`;
  const failed = result.journal.steps.find((step) => step.id === 'db.reindex')!;
  failed.error = `psql failed: ${leak}`;
  failed.details = { output: leak, nested: [{ env: { PGPASSWORD: PASSWORD } }], [TOKEN]: 'as a key' };
  failed.findings = [{ severity: 'critical', title: `token ${TOKEN} in the log`, evidence: leak, action: `rotate ${PASSWORD}` }];
  result.journal.steps[0]!.summary = `baseline with ${PASSWORD}`;
  result.journal.message = leak;
  result.failureMessage = `db.reindex failed: ${PASSWORD}`;
  result.warnings.push(`warning mentioning ${TOKEN}`);
  result.plan.steps[3]!.step.commands.push(`PGPASSWORD='${PASSWORD}' vacuumdb`);
  (result.baseline as Snapshot).services!.detail = `status printed ${KEY}`;
  const post = result.post as Snapshot;
  post.errors.push(`curl said ${TOKEN}`);
  post.database!.tables[0]!.name = `tbl_${PASSWORD}`;
  post.disks[0]!.mount = `/mnt/${PASSWORD}`;
  return result;
}

describe('writeReport', () => {
  test('writes the six files; every secret, in every escaped form, is masked in every one of them', async () => {
    const dir = join(root, 'leaky');
    const report = await writeReport(leakyResult(), dir, SECRETS, { artifactName: 'maintenance-db1-x-attempt1' });
    expect(readdirSync(dir).sort()).toEqual(Object.values(ReportFiles).sort());
    expect(report.files.map((file) => file.slice(dir.length + 1)).sort()).toEqual(Object.values(ReportFiles).sort());

    const forms = new Set([
      ...secretForms(SECRETS),
      PASSWORD,
      escapeHtml(PASSWORD),
      markdownText(PASSWORD),
      JSON.stringify(PASSWORD).slice(1, -1),
      ...KEY.split('\n').filter((line) => line.length >= 16),
    ]);
    for (const file of report.files) {
      const content = readFileSync(file, 'utf8');
      for (const form of forms) expect(content.includes(form), `${file} contains ${JSON.stringify(form)}`).toBe(false);
      for (const fragment of ['Tr0ub4dor', 'FAKEfakeFAKE', 'b3BlbnNzaC1rZXktdjEAAAAA']) expect(content, `${file} contains ${fragment}`).not.toContain(fragment);
      expect(content, file).toContain('***');
    }
    for (const fragment of ['Tr0ub4dor', 'FAKEfakeFAKE']) expect(report.summary).not.toContain(fragment);
    expect(JSON.stringify(report.result.journal)).not.toContain('Tr0ub4dor');
  });

  test('the JSON files are what machines read: the journal and the snapshots match their schemas, plan.json lists the steps', async () => {
    const dir = join(root, 'plain');
    const result = failureResult();
    await writeReport(result, dir, []);
    const read = (name: string): unknown => JSON.parse(readFileSync(join(dir, name), 'utf8'));
    expect(schemaValidator('journal')(read(ReportFiles.journal))).toEqual([]);
    expect(schemaValidator('snapshot')(read(ReportFiles.baseline))).toEqual([]);
    expect(schemaValidator('snapshot')(read(ReportFiles.post))).toEqual([]);
    const plan = read(ReportFiles.plan) as { steps: { id: string; commands: string[]; inBracket: boolean }[]; deadline: string };
    expect(plan.steps.map((step) => step.id)).toEqual(result.plan.steps.map((entry) => entry.step.id));
    expect(plan.steps.find((step) => step.id === 'db.vacuum-full')).toMatchObject({
      inBracket: true,
      commands: ['SET lock_timeout = 5000; VACUUM FULL public.threat_intelligence'],
    });
    expect(plan.deadline).toBe('2026-11-29T04:45:04.000Z');
    expect(readFileSync(join(dir, ReportFiles.markdown), 'utf8')).toContain('### What to do next');
    expect(readFileSync(join(dir, ReportFiles.html), 'utf8')).toMatch(/^<!doctype html>/);
  });

  test('a dry run has no snapshots: no baseline.json or post.json, and the plan in the summary', async () => {
    const dir = join(root, 'dry');
    const report = await writeReport(dryRunResult(), dir, []);
    expect(readdirSync(dir).sort()).toEqual(['plan.json', 'report.html', 'report.md', 'window.json']);
    expect(report.summary).toContain('Nothing was run on the host');
  });
});
