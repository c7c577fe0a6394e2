import type { MaintenanceConfig } from '../settings/config.js';
import { backupSteps } from '../steps/backup/index.js';
import { capacitySteps } from '../steps/capacity/index.js';
import { databaseSteps } from '../steps/database/index.js';
import { dockerSteps } from '../steps/docker/index.js';
import { healthSteps } from '../steps/health/index.js';
import { logsSteps } from '../steps/logs/index.js';
import { reviewSteps } from '../steps/review/index.js';
import type { StepDefinition, StepFactory } from '../steps/step.js';
import { systemSteps } from '../steps/system/index.js';
import { tlsSteps } from '../steps/tls/index.js';
import { snapshotSteps } from '../report/snapshot-steps.js';

const FACTORIES: StepFactory[] = [
  ...snapshotSteps,
  ...healthSteps,
  ...backupSteps,
  ...databaseSteps,
  ...dockerSteps,
  ...logsSteps,
  ...systemSteps,
  ...tlsSteps,
  ...capacitySteps,
  ...reviewSteps,
];

/** Every built-in step, built for this config, by id. */
export function buildCatalogue(config: MaintenanceConfig): Map<string, StepDefinition> {
  const catalogue = new Map<string, StepDefinition>();
  for (const factory of FACTORIES) {
    const step = factory(config);
    if (catalogue.has(step.id)) throw new Error(`two built-in steps share the id ${step.id}`);
    catalogue.set(step.id, step);
  }
  return catalogue;
}
