import type { CustomStepConfig } from '../settings/config.js';
import type { StepDefinition } from '../steps/step.js';

const OUTPUT_LINES = 20;

/** A user's `run:` (shell on the host) or `sql:` step from the config, reviewed in pull requests. */
export function customStep(spec: CustomStepConfig): StepDefinition {
  return {
    id: spec.id,
    title: spec.title,
    description: spec.run ? 'custom shell step' : 'custom SQL step',
    commands: [spec.run ?? spec.sql!],
    impact: spec.impact,
    destructive: spec.destructive,
    idempotent: spec.idempotent,
    timeoutMs: spec.timeoutMs,
    retries: 0,
    async run(ctx) {
      if (spec.run !== undefined) {
        const result = await ctx.target.exec(spec.run, {
          timeoutMs: spec.timeoutMs,
          signal: ctx.signal,
          onLine: (_stream, line) => ctx.log.info(line),
        });
        const tail = (result.stdout.trim() || result.stderr.trim()).split('\n').slice(-OUTPUT_LINES).join('\n');
        if (result.code !== 0) {
          const why = result.timedOut ? `timed out after ${spec.timeoutMs / 1000} s` : `exit code ${result.code ?? result.signal}`;
          return { status: 'failed', summary: `${spec.id} failed (${why})`, details: { output: tail } };
        }
        return { status: 'succeeded', summary: tail.split('\n').pop() || 'done', details: { output: tail } };
      }
      const db = await ctx.db();
      const rows = await db.query(spec.sql!);
      return { status: 'succeeded', summary: `${rows.length} row${rows.length === 1 ? '' : 's'}`, details: { rows: rows.slice(0, 50) } };
    },
  };
}
