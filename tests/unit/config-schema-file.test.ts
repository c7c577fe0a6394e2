import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/settings/config-schema.js';

describe('schemas/maintenance-config.schema.json', () => {
  const file = JSON.parse(readFileSync('schemas/maintenance-config.schema.json', 'utf8'));

  it('is the schema the loader validates with (regenerate: npx tsx scripts/write-config-schema.ts)', () => {
    expect(file).toEqual(JSON.parse(JSON.stringify(configSchema)));
  });

  it('accepts the documented example config and refuses an unknown key', () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(file);
    expect(validate(parse(readFileSync('.github/maintenance.example.yml', 'utf8')) ?? {}), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ databse: {} })).toBe(false);
  });
});
