import { parse as parseYaml } from 'yaml';
import { quote } from '../../remote/shell.js';
import { MINUTES, type Finding, type StepContext, type StepFactory, type StepOutcome } from '../step.js';
import { composeShown, lastLines, probeDocker, runCompose, runDocker } from './docker-cli.js';

/** The image each compose service runs now. */
export interface ServiceImage {
  service: string;
  imageId: string;
  /** The reference the container was created from (compose's `image:` or its build tag). */
  ref: string;
  running: boolean;
}

/** What a rollback needs besides `previousImages` (kept in the journal under this key). */
export interface ImageRollbackFacts {
  refs: Record<string, string>;
  /** Services that were running before the update: the only ones recreated, then and on rollback. */
  recreate: string[];
}

const INSPECT_FORMAT = `{{index .Config.Labels "com.docker.compose.service"}}\t{{.Image}}\t{{.Config.Image}}\t{{.State.Running}}`;
/** A tag per service keeps the previous image alive: once untagged it is dangling and a prune could take it. */
export const ROLLBACK_REPOSITORY = 'maintenance-window/rollback';

export function parseServiceImages(text: string): ServiceImage[] {
  const byService = new Map<string, ServiceImage>();
  for (const line of text.split('\n')) {
    const [service, imageId, ref, running] = line.split('\t').map((field) => field.trim());
    if (!service || !imageId || !ref) continue;
    const entry = { service, imageId, ref, running: running === 'true' };
    const known = byService.get(service);
    if (!known || (!known.running && entry.running)) byService.set(service, entry);
  }
  return [...byService.values()].sort((a, b) => a.service.localeCompare(b.service));
}

async function currentImages(ctx: StepContext): Promise<ServiceImage[]> {
  const result = await runCompose(ctx, `ps -q`);
  if (result.code !== 0)
    throw new Error(
      `${composeShown(ctx.config, 'ps -q')} in ${ctx.config.services.projectDir ?? 'the login directory'} failed (exit code ${result.code}): ${lastLines(result.stderr)}`,
    );
  const ids = result.stdout
    .split('\n')
    .map((id) => id.trim())
    .filter(Boolean);
  if (ids.length === 0) return [];
  const inspect = await runDocker(ctx, `docker inspect --format ${quote(INSPECT_FORMAT)} ${ids.map(quote).join(' ')}`);
  if (inspect.code !== 0) throw new Error(`docker inspect of the compose containers failed (exit code ${inspect.code}): ${lastLines(inspect.stderr)}`);
  return parseServiceImages(inspect.stdout);
}

/** Services of `compose config`: which have an image to pull and which are built here. */
export function parseComposeServices(yamlText: string): { service: string; image?: string; build: boolean }[] {
  const doc = parseYaml(yamlText) as { services?: Record<string, { image?: string; build?: unknown }> } | null;
  return Object.entries(doc?.services ?? {}).map(([service, definition]) => ({
    service,
    image: definition?.image,
    build: definition?.build !== undefined,
  }));
}

async function update(ctx: StepContext): Promise<StepOutcome> {
  if (ctx.config.services.manager !== 'compose') {
    return { status: 'skipped', summary: `image updates need services.manager compose (it is ${ctx.config.services.manager})` };
  }
  const probe = await probeDocker(ctx, 'docker ps -q >/dev/null', 'Docker image update');
  if (!probe.ok) return probe.outcome;

  const before = await currentImages(ctx);
  if (before.length === 0) {
    return {
      status: 'skipped',
      summary: `no containers of the compose project in ${ctx.config.services.projectDir ?? 'the login directory'}: nothing to update (check services.project-dir and COMPOSE_PROJECT_NAME)`,
    };
  }
  // A re-run of this window keeps the rollback point of the first attempt: by then the images (and which services
  // run: a bad image may be crash-looping) may be the new ones.
  if (ctx.facts.previousImages && ctx.facts.imageRollback) {
    ctx.log.info(`keeping the previous images recorded earlier in this window: ${JSON.stringify(ctx.facts.previousImages)}`);
  } else {
    const rollback: ImageRollbackFacts = {
      refs: Object.fromEntries(before.map((entry) => [entry.service, entry.ref])),
      recreate: before.filter((entry) => entry.running).map((entry) => entry.service),
    };
    await ctx.saveFacts({ previousImages: Object.fromEntries(before.map((entry) => [entry.service, entry.imageId])), imageRollback: rollback });
  }
  const previous = ctx.facts.previousImages!;
  const running = (ctx.facts.imageRollback as ImageRollbackFacts).recreate;
  for (const [service, imageId] of Object.entries(previous)) {
    const tag = await runDocker(ctx, `docker tag ${quote(imageId)} ${quote(`${ROLLBACK_REPOSITORY}:${service}`)}`);
    if (tag.code !== 0)
      ctx.log.warn(`could not tag the previous image of ${service} (${imageId}) as ${ROLLBACK_REPOSITORY}:${service}: ${lastLines(tag.stderr)}`);
  }

  const config = await runCompose(ctx, 'config');
  if (config.code !== 0) throw new Error(`${composeShown(ctx.config, 'config')} failed (exit code ${config.code}): ${lastLines(config.stderr)}`);
  const services = parseComposeServices(config.stdout);
  const pullable = services.filter((entry): entry is { service: string; image: string; build: boolean } => Boolean(entry.image) && !entry.build);
  const built = services.filter((entry) => entry.build).map((entry) => entry.service);

  // `docker pull` per image rather than `compose pull`: it fails visibly (compose v1 on Podman says "done" for
  // images no registry has), and one image known only on this host does not stop the others.
  const images = [...new Set(pullable.map((entry) => entry.image))];
  const pulled = new Map(
    await Promise.all(
      images.map(async (image) => {
        const result = await runDocker(ctx, `docker pull -q ${quote(image)}`);
        return [image, result.code === 0 ? undefined : `exit code ${result.code}: ${lastLines(result.stderr)}`] as const;
      }),
    ),
  );
  const pulls = pullable.map(({ service, image }) => ({ service, image, ok: pulled.get(image) === undefined, error: pulled.get(image) }));
  const pullFailures = pulls.filter((pull) => !pull.ok);
  for (const failure of pullFailures) ctx.log.warn(`pull of ${failure.image} (${failure.service}) failed, keeping the local image (${failure.error})`);

  if (built.length > 0) {
    const build = await runCompose(ctx, `build --pull ${built.map(quote).join(' ')}`);
    if (build.code !== 0) {
      return {
        status: 'failed',
        summary: `${composeShown(ctx.config, `build --pull ${built.join(' ')}`)} failed (exit code ${build.code}); no container was recreated`,
        details: { before, pulls, build: lastLines(build.stderr, 10) },
      };
    }
  }

  if (running.length > 0) {
    const up = await runCompose(ctx, `up -d ${running.map(quote).join(' ')}`);
    if (up.code !== 0) {
      return {
        status: 'failed',
        summary: `${composeShown(ctx.config, `up -d ${running.join(' ')}`)} failed (exit code ${up.code}): ${lastLines(up.stderr)}`,
        details: { before, pulls },
      };
    }
  }
  const after = await currentImages(ctx);
  const changed = after.filter((entry) => previous[entry.service] && previous[entry.service] !== entry.imageId).map((entry) => entry.service);
  const health = await ctx.services.waitHealthy();
  const findings: Finding[] = pullFailures.map((failure) => ({
    severity: 'info',
    title: `could not pull ${failure.image} (service ${failure.service})`,
    evidence: failure.error,
    action: 'Fine for images only built or loaded on this host; otherwise check the registry and credentials.',
  }));
  const details = {
    before,
    after,
    changed,
    pulls,
    built,
    recreated: running,
    rollbackTags: Object.keys(previous).map((service) => `${ROLLBACK_REPOSITORY}:${service}`),
    health,
  };
  const metrics = { servicesUpdated: changed.length, pullFailures: pullFailures.length, healthWaitMs: health.waitedMs };
  if (!health.healthy) {
    return {
      status: 'failed',
      summary: `the app is not healthy after recreating ${running.join(', ') || 'nothing'} with new images: ${health.detail}`,
      metrics,
      details,
      findings,
    };
  }
  const summary = changed.length
    ? `updated ${changed.join(', ')} to new images and the app is healthy`
    : `no image changed (${pulls.length} pulled, ${pullFailures.length} pull failure(s), ${built.length} built); the app is healthy`;
  return { status: pullFailures.length ? 'warning' : 'succeeded', summary, metrics, details, findings };
}

async function rollbackFromContainers(ctx: StepContext, previous: Record<string, string>): Promise<ImageRollbackFacts> {
  const current = (await currentImages(ctx)).filter((entry) => previous[entry.service]);
  return { refs: Object.fromEntries(current.map((entry) => [entry.service, entry.ref])), recreate: current.map((entry) => entry.service) };
}

/** Rollback of docker.update-images: points each service's image reference back at the recorded id and recreates. */
export async function restorePreviousImages(ctx: StepContext): Promise<StepOutcome> {
  const previous = ctx.facts.previousImages;
  if (!previous) return { status: 'skipped', summary: 'no previous images were recorded in this window' };
  // Without the recorded references (a journal from before they were kept), the containers' own ones serve.
  const rollback = (ctx.facts.imageRollback as ImageRollbackFacts | undefined) ?? (await rollbackFromContainers(ctx, previous));
  const problems: string[] = [];
  for (const [service, imageId] of Object.entries(previous)) {
    const ref = rollback.refs[service];
    if (!ref) continue;
    const tag = await runDocker(ctx, `docker tag ${quote(imageId)} ${quote(ref)}`);
    if (tag.code !== 0) problems.push(`docker tag ${imageId} ${ref} failed (exit code ${tag.code}): ${lastLines(tag.stderr)}`);
  }
  if (problems.length) return { status: 'failed', summary: `could not restore the previous images: ${problems.join('; ')}`, details: { previous, rollback } };
  if (rollback.recreate.length > 0) {
    const up = await runCompose(ctx, `up -d ${rollback.recreate.map(quote).join(' ')}`);
    if (up.code !== 0) {
      return {
        status: 'failed',
        summary: `${composeShown(ctx.config, `up -d ${rollback.recreate.join(' ')}`)} failed (exit code ${up.code}): ${lastLines(up.stderr)}`,
        details: { previous, rollback },
      };
    }
  }
  const restored = await currentImages(ctx);
  const mismatched = restored.filter(
    (entry) => previous[entry.service] && rollback.recreate.includes(entry.service) && previous[entry.service] !== entry.imageId,
  );
  const health = await ctx.services.waitHealthy();
  const details = { previous, restored, health };
  if (mismatched.length)
    return { status: 'failed', summary: `after the rollback ${mismatched.map((entry) => entry.service).join(', ')} still run(s) other images`, details };
  if (!health.healthy) return { status: 'failed', summary: `previous images restored, but the app is not healthy: ${health.detail}`, details };
  return { status: 'succeeded', summary: `restored the previous images of ${Object.keys(previous).join(', ')}; the app is healthy`, details };
}

export const dockerUpdateImages: StepFactory = (config) => ({
  id: 'docker.update-images',
  title: 'Docker image updates',
  description: 'Records the running image ids (rollback point), pulls and rebuilds images, recreates the running services and waits until the app is healthy.',
  commands: [
    composeShown(config, 'ps -q'),
    `docker inspect --format '${INSPECT_FORMAT}' <containers>`,
    `docker tag <image id> ${ROLLBACK_REPOSITORY}:<service>`,
    composeShown(config, 'config'),
    'docker pull -q <image>   # each image of a service without a build',
    composeShown(config, 'build --pull <services with a build>'),
    composeShown(config, 'up -d <running services>'),
    `wait for ${[config.health.url, config.health.databaseUrl].filter(Boolean).join(', ') || 'health'}`,
  ],
  impact: 'degraded',
  destructive: true,
  idempotent: true,
  timeoutMs: 45 * MINUTES,
  retries: 0,
  run: update,
});
