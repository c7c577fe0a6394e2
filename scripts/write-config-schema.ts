// Writes schemas/maintenance-config.schema.json from the schema the loader validates with (a test keeps them equal).
import { writeFileSync } from 'node:fs';
import { configSchema } from '../src/settings/config-schema.js';

writeFileSync('schemas/maintenance-config.schema.json', JSON.stringify(configSchema, null, 2) + '\n');
