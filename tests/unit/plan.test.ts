import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { windowDeadline } from '../../src/plan/deadline.js';
import { diffPlans, renderPlanDiffMarkdown } from '../../src/report/plan-diff.js';
import { planToJson } from '../../src/report/plan-json.js';
import { parseConfig } from '../../src/settings/load-config.js';
import type { Tier } from '../../src/constants.js';

const NOW = new Date('2026-12-06T02:00:00Z');
function plan(tier: Tier, yaml = '', extra: { steps?: string[]; skip?: string[] } = {}) {
  return buildPlan({ tier, config: parseConfig(yaml, 'maintenance.yml'), windowId: `${tier}-1`, host: 'db', now: NOW, ...extra });
}
const ids = (p: ReturnType<typeof plan>) => p.steps.map((entry) => entry.step.id);

describe('buildPlan', () => {
  it('frames every tier with the baseline and checklist before, verification after', () => {
    for (const tier of ['weekly', 'monthly', 'quarterly'] as const) {
      const steps = ids(plan(tier));
      expect(steps.slice(0, 2)).toEqual(['snapshot.baseline', 'preflight']);
      expect(steps.slice(-2)).toEqual(['verify', 'snapshot.post']);
    }
  });

  it('builds the runbook weekly tier in order', () => {
    expect(ids(plan('weekly')).slice(2, -2)).toEqual([
      'db.vacuum-analyze',
      'docker.cleanup',
      'logs.rotate',
      'backup.verify',
      'system.security-check',
      'metrics.review',
    ]);
  });

  it('makes the larger tiers include the weekly steps, with a fresh backup before anything destructive', () => {
    const monthly = ids(plan('monthly'));
    for (const id of ids(plan('weekly'))) expect(monthly).toContain(id);
    expect(monthly.indexOf('backup.fresh')).toBeLessThan(monthly.indexOf('db.vacuum-full'));
  });

  it('groups all downtime steps into one bracket where the first stood', () => {
    const p = plan(
      'monthly',
      'database:\n  vacuum-full-mode: downtime\ntiers:\n  monthly:\n    add:\n      - id: custom.migrate\n        run: ./migrate.sh\n        impact: downtime\n        after: tls.expiry\n',
    );
    const inBracket = p.steps.filter((entry) => entry.inBracket).map((entry) => entry.step.id);
    expect(inBracket).toEqual(['db.vacuum-full', 'custom.migrate']);
    const first = p.steps.findIndex((entry) => entry.inBracket);
    expect(p.steps[first + 1].inBracket).toBe(true);
    expect(p.bracketServices).toEqual(['api']);
  });

  it('places custom steps after the step they name, chained', () => {
    const p = plan(
      'weekly',
      'tiers:\n  weekly:\n    add:\n      - id: custom.b\n        run: "true"\n        after: custom.a\n      - id: custom.a\n        run: "true"\n        after: logs.rotate\n',
    );
    const steps = ids(p);
    expect(steps.slice(steps.indexOf('logs.rotate'), steps.indexOf('logs.rotate') + 3)).toEqual(['logs.rotate', 'custom.a', 'custom.b']);
  });

  it('honours steps and skip-steps inputs, and leaves the checklist out of a read-only selection', () => {
    expect(ids(plan('weekly', '', { steps: ['disk.check'] }))).toEqual(['disk.check']);
    expect(ids(plan('weekly', '', { skip: ['docker.cleanup'] }))).not.toContain('docker.cleanup');
    expect(ids(plan('monthly', '', { steps: ['backup.fresh', 'db.vacuum-full'] }))).toEqual([
      'snapshot.baseline',
      'preflight',
      'backup.fresh',
      'db.vacuum-full',
      'verify',
      'snapshot.post',
    ]);
  });

  it.each([
    ['an unknown step id', '', { steps: ['db.vacuum-everything'] }, /unknown step id db\.vacuum-everything/],
    ['an unknown skip id', '', { skip: ['nope.nope'] }, /unknown step id nope\.nope/],
    [
      'a custom step after an unknown step',
      'tiers:\n  weekly:\n    add:\n      - id: custom.a\n        run: "true"\n        after: db.nothing\n',
      {},
      /after: db\.nothing is not a step/,
    ],
    [
      'a cycle in after',
      'tiers:\n  weekly:\n    add:\n      - id: custom.a\n        run: "true"\n        after: custom.b\n      - id: custom.b\n        run: "true"\n        after: custom.a\n',
      {},
      /cycle/,
    ],
    ['a custom id taken by a built-in step', 'tiers:\n  weekly:\n    add:\n      - id: db.reindex\n        run: "true"\n', {}, /taken by a built-in step/],
    [
      'a destructive step with no backup before it',
      'tiers:\n  weekly:\n    add:\n      - id: custom.drop\n        sql: drop table x\n        destructive: true\n        after: db.vacuum-analyze\n',
      {},
      /custom\.drop is destructive but no backup step/,
    ],
    ['a destructive built-in step selected alone', '', { steps: ['db.vacuum-full'] }, /db\.vacuum-full is destructive/],
  ])('refuses %s at plan time', (_name, yaml, extra, message) => {
    expect(() => plan('weekly', yaml, extra)).toThrow(ValidationError);
    expect(() => plan('weekly', yaml, extra)).toThrow(message);
  });
});

describe('windowDeadline', () => {
  const window = { timezone: 'Europe/Berlin', start: '02:00', end: '05:00', cutoffMs: 15 * 60_000 };
  it('ends at the window end minus the cutoff, in the window time zone', () => {
    // 02:30 Berlin in winter is 01:30 UTC; 05:00 Berlin is 04:00 UTC; minus 15 min.
    expect(windowDeadline(window, new Date('2026-12-06T01:30:00Z')).deadline?.toISOString()).toBe('2026-12-06T03:45:00.000Z');
  });
  it('follows daylight saving time', () => {
    expect(windowDeadline(window, new Date('2026-07-05T00:30:00Z')).deadline?.toISOString()).toBe('2026-07-05T02:45:00.000Z');
  });
  it('handles a window across midnight', () => {
    const night = { timezone: 'UTC', start: '23:00', end: '01:00', cutoffMs: 0 };
    expect(windowDeadline(night, new Date('2026-12-05T23:30:00Z')).deadline?.toISOString()).toBe('2026-12-06T01:00:00.000Z');
  });
  it('takes the earlier of the window end and max-duration', () => {
    expect(windowDeadline(window, new Date('2026-12-06T01:30:00Z'), 30 * 60_000).deadline?.toISOString()).toBe('2026-12-06T02:00:00.000Z');
  });
  it('has no deadline outside the window without max-duration, and says so', () => {
    const outside = windowDeadline(window, new Date('2026-12-06T12:00:00Z'));
    expect(outside.deadline).toBeUndefined();
    expect(outside.reason).toMatch(/outside the window/);
  });
});

describe('plan diff for pull requests', () => {
  it('calls out a step added, a step made destructive and a step removed', () => {
    const base = planToJson(
      plan(
        'weekly',
        'tiers:\n  weekly:\n    add:\n      - id: custom.report\n        run: ./report.sh\n      - id: custom.cleanup\n        run: ./cleanup.sh\n',
      ),
    );
    const head = planToJson(
      plan(
        'weekly',
        'tiers:\n  weekly:\n    skip: [metrics.review]\n    add:\n      - id: custom.report\n        run: ./report.sh\n      - id: custom.cleanup\n        run: ./cleanup.sh --all\n        impact: downtime\n      - id: custom.warm\n        run: ./warm.sh\n'.replace(
          'custom.cleanup\n        run: ./cleanup.sh --all',
          'custom.cleanup\n        run: ./cleanup.sh --all',
        ),
      ),
    );
    const diff = diffPlans(base, head);
    expect(diff.added.map((s) => s.id)).toEqual(['custom.warm']);
    expect(diff.removed.map((s) => s.id)).toEqual(['metrics.review']);
    const cleanup = diff.changed.find((c) => c.id === 'custom.cleanup')!;
    expect(cleanup.riskier).toBe(true);
    expect(cleanup.changes).toEqual(expect.arrayContaining(['impact none → downtime', 'joins the downtime bracket', 'what it runs changed']));
    const markdown = renderPlanDiffMarkdown(diff);
    expect(markdown).toContain('| ➕ added | `custom.warm`');
    expect(markdown).toContain('| ➖ removed | `metrics.review`');
    expect(markdown).toMatch(/⚠️ riskier \| `custom.cleanup`/);
    expect(markdown).toContain('[!WARNING]');
  });

  it('says so when nothing changes', () => {
    const same = planToJson(plan('weekly'));
    expect(renderPlanDiffMarkdown(diffPlans(same, same))).toContain('No change');
  });
});
