import { getErrorMessage } from '../errors.js';
import { restoreWindowBackup } from '../steps/backup/restore-backup.js';
import { restorePreviousSettings } from '../steps/database/db-tune.js';
import { restorePreviousImages } from '../steps/docker/update-images.js';
import type { StepContext, StepDefinition, StepOutcome } from '../steps/step.js';

/** Steps whose failure PostgreSQL itself rolls back: restoring a backup would only lose the writes made since. */
const TRANSACTIONAL = new Set(['db.vacuum-full', 'db.reindex', 'db.vacuum-analyze']);
/** Steps that change no data: undoing them never needs the backup. */
const NO_DATA_CHANGE = new Set(['docker.update-images', 'db.tune', 'system.package-updates']);

/**
 * Undoes what a failed destructive step changed, and only that: previous images for an image update, previous
 * settings for db.tune, the window's own backup for a step that may have changed data (the live database is
 * kept under a new name).
 * The app is stopped while the database is swapped and started and checked after.
 */
export async function rollbackFailedStep(ctx: StepContext, failed: StepDefinition): Promise<StepOutcome> {
  const parts: string[] = [];
  let status: StepOutcome['status'] = 'succeeded';
  const note = (outcome: StepOutcome) => {
    parts.push(outcome.summary);
    if (outcome.status === 'failed') status = 'failed';
  };
  if (ctx.facts.previousImages) note(await restorePreviousImages(ctx));
  if (ctx.facts.previousSettings) note(await restorePreviousSettings(ctx));
  if (TRANSACTIONAL.has(failed.id)) {
    parts.push(`${failed.id} runs in PostgreSQL transactions, which rolled its unfinished work back: no restore needed`);
  } else if (NO_DATA_CHANGE.has(failed.id)) {
    if (failed.id === 'system.package-updates') parts.push('package updates cannot be rolled back automatically: see the step output for what was installed');
  } else {
    try {
      await ctx.services.stop();
      note(await restoreWindowBackup(ctx));
    } catch (error) {
      note({ status: 'failed', summary: `restoring the window's backup failed: ${getErrorMessage(error)}` });
    } finally {
      await ctx.services.start().catch((error: unknown) => parts.push(`starting the app failed: ${getErrorMessage(error)}`));
    }
    const health = await ctx.services.waitHealthy();
    if (!health.healthy) {
      status = 'failed';
      parts.push(`the app is not healthy after the rollback: ${health.detail}`);
    }
  }
  return { status, summary: parts.join('; ') || 'nothing to roll back' };
}
