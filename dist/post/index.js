import { fileURLToPath } from 'node:url';
import path from 'node:path';
globalThis.__dirname = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bundle');
globalThis.__filename = path.join(globalThis.__dirname, 'index.js');
globalThis.maintenanceWindowEntry = 'post';
await import('../bundle/index.js');
