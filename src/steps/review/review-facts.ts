/**
 * What the quarterly reviews keep in the window's facts for docs.review, which quotes them in the review issue.
 * Small on purpose: the full results are in the step outcomes and the report.
 */
export interface DrDrillFacts {
  backupPath: string;
  /** Scratch database created, backup restored, integrity tables counted. */
  recoveryMs: number;
  rtoTargetMs: number;
  backupAgeMs: number;
  rpoTargetMs: number;
}

export interface PerfBaselineFacts {
  quarter: string;
  p50Ms?: number;
  p95Ms?: number;
  cacheHitRatio?: number;
  /** Metrics worse than last quarter's baseline by more than perf.regression-percent. */
  regressions: number;
  comparedWith?: string;
}

export interface CapacityFacts {
  /** The mount forecast to fill first, if any is. */
  soonest?: { mount: string; daysUntilFull: number };
  databaseGrowthBytesPerDay?: number;
}

/** Keys in WindowFacts. */
export const ReviewFactKeys = { drDrill: 'drDrill', perfBaseline: 'perfBaseline', capacity: 'capacityReview' } as const;
