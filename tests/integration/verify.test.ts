import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckList, type Check } from '../../src/steps/health/check-list.js';
import type { ResponseTimes } from '../../src/steps/health/response-time.js';
import { preflight } from '../../src/steps/health/preflight.js';
import { responseCheck, verify, type CountChange } from '../../src/steps/health/verify.js';
import type { StepOutcome, WindowFacts } from '../../src/steps/step.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { caseRunner, rowCount } from './backup-cases.js';

let sandbox: Sandbox;
let runner: ReturnType<typeof caseRunner>;
let baseline: WindowFacts;

const QUIET = { activity: { 'warn-above': 100_000 } };

beforeAll(async () => {
  sandbox = await startSandbox();
  runner = caseRunner(sandbox);
  const { outcome, facts } = await runner.run(preflight, QUIET);
  if (outcome.status !== 'succeeded') throw new Error(`preflight: ${outcome.summary}`);
  baseline = facts;
});
afterAll(async () => {
  await runner?.close();
  await sandbox?.stop();
});

const runVerify = (facts: WindowFacts = { ...baseline }, config: Record<string, unknown> = {}) => runner.run(verify, { ...QUIET, ...config }, facts);
const check = (outcome: StepOutcome, name: string) => (outcome.details as { checks: Check[] }).checks.find((entry) => entry.name === name);
const changes = (outcome: StepOutcome) => (outcome.details as { counts: CountChange[] }).counts;

describe('verify', () => {
  it('passes when nothing changed, with response times against the baseline', async () => {
    // A generous baseline: on a loaded test machine the post sample may be slower than preflight's for no reason.
    const { outcome, log } = await runVerify({ ...baseline, baselineResponseMs: 1000 });
    expect(outcome.status, outcome.summary).toBe('succeeded');
    expect(changes(outcome).map((change) => change.state)).toEqual(['equal', 'equal']);
    expect(changes(outcome)[0]).toMatchObject({ baseline: baseline.baselineCounts!.vendor_equipment, post: await rowCount(sandbox, 'vendor_equipment') });
    expect(outcome.metrics?.responseP50Ms).toBeGreaterThan(0);
    expect(outcome.metrics?.responseP95Ms).toBeGreaterThanOrEqual(outcome.metrics!.responseP50Ms!);
    expect(typeof baseline.baselineResponseMs).toBe('number');
    expect(outcome.metrics?.baselineResponseMs).toBe(1000);
    expect((outcome.details as { postResponseMs: number }).postResponseMs).toBe(outcome.metrics?.responseP50Ms);
    expect(check(outcome, 'response time')?.detail).toMatch(/^p50 [\d.]+ ms, p95 [\d.]+ ms over 3 requests; baseline p50 1000 ms$/);
    expect(outcome.summary).toMatch(/^services healthy, 2 integrity tables equal to the baseline, p50 [\d.]+ ms$/);
    expect(log.join('\n')).not.toContain(sandbox.postgres.password);
  });

  it('fails when an integrity table is gone', async () => {
    await sandbox.psql('alter table threat_intelligence rename to threat_intelligence_hidden', 'ner11_db');
    try {
      const { outcome } = await runVerify();
      expect(outcome.status).toBe('failed');
      expect(changes(outcome)[1]).toMatchObject({ table: 'threat_intelligence', state: 'missing', baseline: baseline.baselineCounts!.threat_intelligence });
      expect(outcome.summary).toContain('rows threat_intelligence: table threat_intelligence is missing from ner11_db');
    } finally {
      await sandbox.psql('alter table threat_intelligence_hidden rename to threat_intelligence', 'ner11_db');
    }
  });

  it('warns (not fails) when counts changed: the app writes outside the downtime bracket', async () => {
    await sandbox.psql("insert into vendor_equipment (vendor, model, serial) values ('v', 'm', 'verify-test')", 'ner11_db');
    try {
      const { outcome } = await runVerify();
      expect(outcome.status).toBe('warning');
      expect(changes(outcome)[0]).toMatchObject({ state: 'changed', post: baseline.baselineCounts!.vendor_equipment + 1 });
      expect(check(outcome, 'rows vendor_equipment')?.detail).toContain('(+1) since the baseline');
      expect(outcome.findings?.[0]?.severity).toBe('warning');
    } finally {
      await sandbox.psql("delete from vendor_equipment where serial = 'verify-test'", 'ner11_db');
    }
  });

  it('reports counts without judging them when preflight recorded no baseline', async () => {
    const { outcome } = await runVerify({});
    expect(outcome.status, outcome.summary).toBe('succeeded');
    expect(changes(outcome).map((change) => change.state)).toEqual(['no baseline', 'no baseline']);
    expect(check(outcome, 'rows vendor_equipment')).toMatchObject({ ok: true, severity: 'info', detail: expect.stringContaining('no baseline recorded') });
    expect(check(outcome, 'response time')).toMatchObject({ ok: true, detail: expect.stringContaining('no baseline to compare with') });
  });

  it('fails when the app is down after the window', async () => {
    await sandbox.stopApp();
    try {
      const { outcome } = await runVerify(undefined, { health: { timeout: '2s' } });
      expect(outcome.status).toBe('failed');
      expect(check(outcome, 'services')?.ok).toBe(false);
      expect(check(outcome, 'app health')?.ok).toBe(false);
      expect(check(outcome, 'response time')).toMatchObject({ ok: false, severity: 'critical' });
      expect(outcome.findings?.some((finding) => finding.action?.includes('roll back'))).toBe(true);
    } finally {
      await sandbox.startApp();
    }
  });
});

describe('response time against the baseline', () => {
  const sample = (p50: number, ok = 5): ResponseTimes => ({ url: 'http://app/health', samples: 5, ok, p50, p95: p50 * 2, errors: ok < 5 ? ['HTTP 502'] : [] });
  it.each([
    ['well within the baseline', sample(12), 10, true, 'p50 12 ms, p95 24 ms over 5 requests; baseline p50 10 ms'],
    ['twice as slow but only by a few ms', sample(25), 10, true, 'baseline p50 10 ms'],
    ['much slower', sample(400), 100, false, 'baseline p50 100 ms: slower than before the window'],
    ['some requests failed', sample(10, 4), 10, false, '1 failed (HTTP 502)'],
    ['no baseline', sample(10), undefined, true, 'no baseline to compare with'],
  ])('%s', (_name, response, baselineMs, ok, detail) => {
    const checks = new CheckList();
    responseCheck(checks, response, baselineMs);
    expect(checks.checks[0]).toMatchObject({ name: 'response time', ok, severity: 'warning' });
    expect(checks.checks[0]!.detail).toContain(detail);
  });

  it('is critical when no request answered', () => {
    const checks = new CheckList();
    responseCheck(checks, { url: 'http://app/health', samples: 3, ok: 0, errors: ['connect ECONNREFUSED'] }, 10);
    expect(checks.checks[0]).toMatchObject({
      ok: false,
      severity: 'critical',
      detail: 'http://app/health: none of 3 requests answered 2xx (connect ECONNREFUSED)',
    });
  });
});
