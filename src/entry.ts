import * as core from '@actions/core';
import { runCli } from './cli.js';
import { getErrorMessage } from './errors.js';
import { run } from './main.js';
import { post } from './post.js';

/** One bundle for the three doors; dist/<door>/index.js names which one before loading it. */
const door = (globalThis as { maintenanceWindowEntry?: string }).maintenanceWindowEntry ?? 'cli';
if (door === 'main') void run();
else if (door === 'post') post().catch((error: unknown) => core.warning(`post step: ${getErrorMessage(error)}`));
else runCli(process.argv.slice(2));
