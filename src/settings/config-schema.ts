/** JSON Schema of .github/maintenance.yml (also written to schemas/maintenance-config.schema.json). */
const identifier = { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_$]{0,62}(\\.[A-Za-z_][A-Za-z0-9_$]{0,62})?$' };
const safePath = { type: 'string', minLength: 1, pattern: '^/[^\\x00\\n\\r`$;&|<>]*$' };
const duration = { type: ['string', 'integer'], pattern: '^(\\d+(ms|s|m|h|d))+$|^\\d+$' };
const clock = { type: 'string', pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' };
const stepId = { type: 'string', pattern: '^[a-z][a-z0-9-]*(\\.[a-z0-9][a-z0-9-]*)*$' };
const serviceName = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$' };
const url = { type: 'string', pattern: '^https?://[^\\s`$;|<>]+$' };
const percent = { type: 'number', minimum: 0, maximum: 100 };
const command = { type: 'string', minLength: 1 };
const endpoint = { type: 'string', pattern: '^([A-Za-z0-9.-]+@)?[A-Za-z0-9.-]+:\\d{1,5}$' };

const tier = {
  type: 'object',
  additionalProperties: false,
  properties: {
    steps: { type: 'array', items: stepId },
    skip: { type: 'array', items: stepId },
    add: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id'],
        properties: {
          id: { type: 'string', pattern: '^custom\\.[a-z0-9][a-z0-9-]*$|^[a-z][a-z0-9-]*\\.[a-z0-9][a-z0-9-]*$' },
          title: { type: 'string', minLength: 1 },
          run: command,
          sql: command,
          impact: { enum: ['none', 'degraded', 'downtime'] },
          destructive: { type: 'boolean' },
          idempotent: { type: 'boolean' },
          timeout: duration,
          after: stepId,
        },
      },
    },
  },
};

export const configSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://github.com/maintenance-window/maintenance-window/schemas/maintenance-config.schema.json',
  title: 'Maintenance Window config (.github/maintenance.yml)',
  type: 'object',
  additionalProperties: false,
  properties: {
    database: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', pattern: '^[A-Za-z0-9.:-]+$' },
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        name: identifier,
        user: identifier,
        'integrity-tables': { type: 'array', items: identifier },
        'lock-timeout': duration,
        'statement-timeout': duration,
        'vacuum-jobs': { type: 'integer', minimum: 1, maximum: 16 },
        'bloat-threshold': percent,
        'min-relation-size': { type: ['string', 'integer'], pattern: '^\\d+(B|K|KB|M|MB|G|GB)?$' },
        'vacuum-full': { enum: ['bloated', 'all'] },
        'vacuum-full-mode': { enum: ['online', 'downtime'] },
        reindex: { enum: ['concurrently', 'database'] },
        'data-directory': safePath,
        tune: {
          type: 'object',
          additionalProperties: false,
          properties: {
            apply: { type: 'boolean' },
            'memory-limit': { type: ['string', 'integer'], pattern: '^\\d+(B|K|KB|M|MB|G|GB)?$' },
            storage: { enum: ['ssd', 'hdd'] },
          },
        },
      },
    },
    services: {
      type: 'object',
      additionalProperties: false,
      properties: {
        manager: { enum: ['compose', 'systemd', 'command', 'none'] },
        'project-dir': safePath,
        'compose-file': safePath,
        app: { type: 'array', items: serviceName },
        start: command,
        stop: command,
        status: command,
        environment: { type: 'object', propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }, additionalProperties: { type: 'string' } },
      },
    },
    health: {
      type: 'object',
      additionalProperties: false,
      properties: { url, 'database-url': url, timeout: duration, samples: { type: 'integer', minimum: 1, maximum: 100 } },
    },
    backups: {
      type: 'object',
      additionalProperties: false,
      properties: {
        dir: safePath,
        pattern: { type: 'string', pattern: '^[A-Za-z0-9_.*?-]+$' },
        'max-age': duration,
        checksum: { type: 'boolean' },
      },
    },
    logs: {
      type: 'object',
      additionalProperties: false,
      properties: {
        dirs: { type: 'array', items: safePath },
        'archive-dir': safePath,
        'compress-after-days': { type: 'integer', minimum: 1, maximum: 3650 },
        'delete-after-days': { type: 'integer', minimum: 1, maximum: 36500 },
        'container-log-max': { type: ['string', 'integer'], pattern: '^\\d+(B|K|KB|M|MB|G|GB)?$' },
      },
    },
    activity: {
      type: 'object',
      additionalProperties: false,
      properties: { 'access-log': safePath, window: duration, 'warn-above': { type: 'integer', minimum: 0 } },
    },
    tls: {
      type: 'object',
      additionalProperties: false,
      properties: {
        endpoints: { type: 'array', items: endpoint },
        files: { type: 'array', items: safePath },
        'warn-days': { type: 'integer', minimum: 1, maximum: 365 },
        'fail-days': { type: 'integer', minimum: 0, maximum: 365 },
      },
    },
    window: {
      type: 'object',
      additionalProperties: false,
      properties: { timezone: { type: 'string', minLength: 1 }, start: clock, end: clock, cutoff: duration },
    },
    disk: {
      type: 'object',
      additionalProperties: false,
      properties: { 'warn-percent': percent, 'fail-percent': percent },
    },
    updates: {
      type: 'object',
      additionalProperties: false,
      properties: {
        'security-only': { type: 'boolean' },
        'apply-on': { type: 'array', items: { enum: ['weekly', 'monthly', 'quarterly'] } },
      },
    },
    dr: {
      type: 'object',
      additionalProperties: false,
      properties: { 'rto-target': duration, 'rpo-target': duration },
    },
    security: {
      type: 'object',
      additionalProperties: false,
      properties: { 'password-expiry-required': { type: 'boolean' } },
    },
    capacity: {
      type: 'object',
      additionalProperties: false,
      properties: { 'warn-days': { type: 'integer', minimum: 1, maximum: 3650 } },
    },
    perf: {
      type: 'object',
      additionalProperties: false,
      properties: { 'regression-percent': { type: 'number', exclusiveMinimum: 0, maximum: 1000 }, requests: { type: 'integer', minimum: 1, maximum: 1000 } },
    },
    'state-dir': safePath,
    'history-keep': { type: 'integer', minimum: 1, maximum: 1000 },
    'on-failure': { enum: ['stop', 'rollback'] },
    tiers: {
      type: 'object',
      additionalProperties: false,
      properties: { weekly: tier, monthly: tier, quarterly: tier },
    },
  },
} as const;
