import type { Tier } from '../constants.js';

/** Steps every window runs before its main work: the baseline, then the runbook's checklist. */
export const PREFLIGHT_STEPS = ['snapshot.baseline', 'preflight'] as const;
/** Steps every window runs after its main work. */
export const VERIFY_STEPS = ['verify', 'snapshot.post'] as const;

const WEEKLY = ['db.vacuum-analyze', 'docker.cleanup', 'logs.rotate', 'backup.verify', 'system.security-check', 'metrics.review'];
const MONTHLY = [
  'backup.fresh',
  ...WEEKLY,
  'db.vacuum-full',
  'db.reindex',
  'docker.update-images',
  'system.package-updates',
  'tls.expiry',
  'capacity.review',
  'db.tune',
];
const QUARTERLY = [...MONTHLY, 'versions.review', 'security.audit', 'perf.baseline', 'schema.review', 'dr.drill', 'docs.review'];

/** The runbook's tiers: each larger tier includes the smaller one's steps. */
export const TIER_STEPS: Record<Tier, readonly string[]> = { weekly: WEEKLY, monthly: MONTHLY, quarterly: QUARTERLY };
