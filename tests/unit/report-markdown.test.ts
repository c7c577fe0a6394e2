import { describe, expect, test } from 'vitest';
import { renderSummary } from '../../src/report/markdown.js';
import { code, codeBlock, SUMMARY_LIMIT_BYTES, text } from '../../src/report/md.js';
import { renderPlanMarkdown } from '../../src/report/plan-markdown.js';
import type { Snapshot } from '../../src/report/snapshot-types.js';
import { deferralResult, dryRunResult, failureResult, fixturePlan, fixtureSnapshot, hugeResult, successResult } from '../support/report-fixtures.js';

const bytes = (value: string) => Buffer.byteLength(value);

describe('job summary snapshots (GitHub-flavoured Markdown)', () => {
  test.each([
    ['success', successResult],
    ['failure', failureResult],
    ['deferral', deferralResult],
    ['dry-run', dryRunResult],
  ])('%s', async (name, make) => {
    const markdown = renderSummary(make(), undefined, {
      artifactName: 'maintenance-db1.example.com-monthly-7311892044-attempt1',
      runUrl: 'https://github.com/example/ops/actions/runs/7311892044',
    });
    await expect(markdown).toMatchFileSnapshot(`./__snapshots__/report-summary-${name}.md`);
  });
});

describe('what the on-call engineer needs first', () => {
  test('a failure leads with what to do: the step, its error, the rollback point and how to resume', () => {
    const markdown = renderSummary(failureResult());
    const next = markdown.indexOf('### What to do next');
    expect(next).toBeGreaterThan(0);
    expect(next).toBeLessThan(markdown.indexOf('### Steps'));
    expect(markdown).toContain('**Failed step:** `db.reindex` REINDEX CONCURRENTLY');
    expect(markdown).toContain('canceling statement due to lock timeout (55P03)');
    expect(markdown).toContain('`resume: db.reindex`');
    expect(markdown).toContain('`window-id: monthly-7311892044`');
    expect(markdown).toContain('`resume: docker.update-images`');
    expect(markdown).toContain('**Rollback point:** `/backups/ner11/database/ner11_db_20261129_020020.dump`');
    expect(markdown).toContain('is not safe to run twice');
  });

  test('an app left unhealthy after the bracket is a caution at the top', () => {
    const result = failureResult();
    result.journal.bracket!.healthy = false;
    const markdown = renderSummary(result);
    expect(markdown).toContain('app NOT healthy after it');
    expect(markdown).toMatch(/### What to do next\n\n> \[!CAUTION\]\n> The app did not answer healthy/);
  });

  test('counts are judged only across the bracket: a difference there is a mismatch, outside it information', () => {
    const judged = failureResult();
    judged.journal.bracket!.countsAfter = { ...judged.journal.bracket!.countsAfter, vendor_equipment: 3_400_111 };
    expect(renderSummary(judged)).toMatch(
      /\| `vendor_equipment` \| 3,400,112 \| 3,400,112 \| 3,400,112 → 3,400,111 \| ❌ MISMATCH across the downtime bracket \|/,
    );

    const unjudged = deferralResult();
    const markdown = renderSummary(unjudged);
    expect(markdown).toContain('No downtime bracket in this window: counts are reported, not judged');
    expect(markdown).toMatch(/\| `threat_intelligence` \| 8,200,301 \| 8,200,344 \| — \| ℹ️ changed/);
  });

  test('without snapshots the summary still says what ran and the bracket counts, and leaves the before / after out', () => {
    const result = successResult();
    result.baseline = undefined;
    result.post = { not: 'a snapshot' };
    const markdown = renderSummary(result);
    expect(markdown).toContain('### Steps');
    expect(markdown).not.toContain('### Before / after');
    expect(markdown).toContain('| `vendor_equipment` | — | — | 3,400,112 → 3,400,112 | ✅ equal |');
  });
});

describe('values from the host stay inert', () => {
  test.each([
    ['a | b', 'a \\| b'],
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['**bold** _it_ `tick` [link](x)', '\\*\\*bold\\*\\* \\_it\\_ \\`tick\\` \\[link\\](x)'],
    ['line one\nline two', 'line one line two'],
    ['ping @octocat and me@example.com', 'ping &#64;octocat and me@example.com'],
    ['&amp; stays literal', '&amp;amp; stays literal'],
  ])('text(%j)', (input, expected) => {
    expect(text(input)).toBe(expected);
  });

  test('code spans and blocks outgrow the backticks inside them; pipes in spans are escaped for tables', () => {
    expect(code('a`b')).toBe('``a`b``');
    expect(code('x | y')).toBe('`x \\| y`');
    expect(codeBlock('echo ```', 'sh')).toBe('````sh\necho ```\n````');
  });

  test('a step summary with pipes, markup and newlines keeps the step table one row per step', () => {
    const result = successResult();
    const step = result.journal.steps.find((entry) => entry.id === 'logs.rotate')!;
    step.summary = 'rotated | app.log <b>\n| injected | row |';
    const markdown = renderSummary(result);
    const row = markdown.split('\n').find((line) => line.includes('`logs.rotate`'))!;
    expect(row).toBe('| ✅ | `logs.rotate` Log rotation and archival | 3.1 s | rotated \\| app.log &lt;b&gt; \\| injected \\| row \\| |');
    expect(markdown).not.toContain('<b>');
  });

  test('snapshot values (table names, mounts) are escaped too', () => {
    const result = successResult();
    const post = result.post as Snapshot;
    post.database!.tables[0]!.name = 'evil|`table`<x>';
    post.disks[0]!.mount = '/mnt/a|b';
    const markdown = renderSummary(result);
    expect(markdown).toContain('| ``evil\\|`table`<x>`` |');
    expect(markdown).toContain('Disk free `/mnt/a\\|b`');
  });
});

describe('the 1 MiB job summary limit', () => {
  test('10,000 steps with huge details fit, and the summary says what was cut', () => {
    const result = hugeResult(10_000, 20_000);
    const markdown = renderSummary(result);
    expect(bytes(markdown)).toBeLessThanOrEqual(SUMMARY_LIMIT_BYTES);
    expect(markdown).toContain('_Shortened to fit the size limit:');
    expect(markdown).toContain('only the steps that failed, warned or were deferred are listed');
    expect(markdown).toMatch(/Only the 104 steps that failed, warned or were deferred are listed \(of 10,000\)/);
    expect(markdown.split('\n').filter((line) => line.startsWith('| ⚠️ |'))).toHaveLength(104);
  });

  test('a failed step with a huge error and huge details is cut before anything else', () => {
    const result = failureResult();
    const failed = result.journal.steps.find((step) => step.id === 'db.reindex')!;
    failed.error = `ERROR: ${'x'.repeat(3_000_000)}`;
    failed.details = { output: 'y'.repeat(3_000_000) };
    const markdown = renderSummary(result);
    expect(bytes(markdown)).toBeLessThanOrEqual(SUMMARY_LIMIT_BYTES);
    expect(markdown).toContain('### What to do next');
    expect(markdown).toContain('### Before / after');
    expect(markdown).toContain('`resume: db.reindex`');
  });

  test('a smaller limit (an issue body) is honoured at every level, down to a hard cut at a line boundary', () => {
    for (const limit of [60_000, 8_000, 2_000]) {
      const markdown = renderSummary(hugeResult(500), undefined, { maxBytes: limit });
      expect(bytes(markdown), `limit ${limit}`).toBeLessThanOrEqual(limit);
    }
    const tiny = renderSummary(hugeResult(500), undefined, { maxBytes: 2_000 });
    expect(tiny).toContain('The report was cut here to fit the 1 KiB limit');
  });

  test.each([
    [300, 'Commands longer than 2,000 characters are cut'],
    [800, 'Commands left out to fit the size limit'],
  ])('the plan of a dry run with %i huge steps stays under the limit, cutting the commands first', (count, note) => {
    const plan = fixturePlan(
      'quarterly',
      Array.from({ length: count }, (_, index) => ({ id: `custom.s${index}`, title: `step ${index}`, phase: 'main' as const, commands: ['x'.repeat(5_000)] })),
    );
    const markdown = renderPlanMarkdown(plan);
    expect(bytes(markdown)).toBeLessThanOrEqual(SUMMARY_LIMIT_BYTES);
    expect(markdown.split('\n').filter((line) => /^\| \d+ \|/.test(line))).toHaveLength(count);
    expect(markdown).toContain(note);
  });
});

test('a database that grew says so instead of claiming reclaimed space', () => {
  const result = successResult();
  result.post = fixtureSnapshot('post', {});
  (result.post as Snapshot).database!.sizeBytes = (result.baseline as Snapshot).database!.sizeBytes + 1024 * 1024;
  const markdown = renderSummary(result);
  expect(markdown).toMatch(/\| Database size \| 4\.87 GiB \| 4\.87 GiB \| \+1\.00 MiB \|/);
  expect(markdown).not.toContain('reclaimed)');
});

test('a skipped window (only-on said not today) is a short note, not an empty report', () => {
  const result = successResult();
  result.result = 'skipped';
  result.baseline = undefined;
  result.post = undefined;
  result.journal.steps = [];
  result.journal.bracket = undefined;
  result.journal.message = 'only-on: first-sunday — 2026-11-29 is not the first Sunday of the month';
  const markdown = renderSummary(result);
  expect(markdown).toMatch(/^## ⏭️ Monthly maintenance window skipped on deploy@db1\.example\.com:22\n/);
  expect(markdown).toContain('> only-on: first-sunday — 2026-11-29 is not the first Sunday of the month');
  expect(markdown).toContain('no downtime');
  expect(markdown).not.toContain('### Before / after');
  expect(markdown).not.toContain('### Steps');
});
