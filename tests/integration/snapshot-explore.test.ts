import { test } from 'vitest';
import { startContainerEngine, startComposeProject } from '../sandbox/container-engine.js';
import { hostFactsScript } from '../../src/report/host-facts-script.js';
import { parseConfig } from '../../src/settings/load-config.js';
import { LocalTarget } from '../../src/remote/local-target.js';
import { stringify } from 'yaml';
test('explore', async () => {
  const engine = await startContainerEngine();
  const p = await startComposeProject(engine);
  try {
    const config = parseConfig(stringify({ services: { manager: 'compose', 'project-dir': p.dir, app: ['api'], environment: { ...engine.env, COMPOSE_PROJECT_NAME: p.projectName } } }), 'x');
    const r = await new LocalTarget().exec(hostFactsScript(config));
    console.log(r.stdout, r.stderr);
  } finally { await engine.stop(); }
}, 120000);
