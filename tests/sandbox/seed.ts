/** SQL run once (one psql call, as superuser on ner11_db) to build the sandbox's data. */

export function roleSql(password: string): string {
  const quoted = password.replace(/'/g, "''");
  return `CREATE ROLE ner11 LOGIN CREATEDB PASSWORD '${quoted}';\nCREATE DATABASE ner11_db OWNER ner11;\n`;
}

const SCHEMA = `
SET ROLE ner11;
CREATE TABLE vendor_equipment (
  id serial PRIMARY KEY, vendor text, model text, serial text, installed_at timestamptz, notes text);
CREATE INDEX vendor_equipment_serial_idx ON vendor_equipment (serial);
CREATE TABLE threat_intelligence (
  id bigserial PRIMARY KEY, indicator text, severity int, source text, first_seen timestamptz, payload jsonb);
CREATE INDEX threat_intelligence_indicator_idx ON threat_intelligence (indicator);
CREATE INDEX threat_intelligence_severity_idx ON threat_intelligence (severity);
CREATE TABLE assets (id serial PRIMARY KEY, hostname text NOT NULL, ip inet, owner text, created_at timestamptz DEFAULT now());
CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE NOT NULL, name text, created_at timestamptz DEFAULT now());
CREATE TABLE audit_log (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), actor text, action text, detail jsonb);

INSERT INTO vendor_equipment (vendor, model, serial, installed_at, notes)
SELECT 'vendor-' || (g % 37), 'model-' || (g % 211), 'SN' || lpad(g::text, 8, '0'),
       now() - g * interval '7 minutes', repeat('maintenance note ', 1 + g % 5)
FROM generate_series(1, 20000) g;
INSERT INTO threat_intelligence (indicator, severity, source, first_seen, payload)
SELECT md5(g::text), g % 10, 'feed-' || (g % 12), now() - g * interval '3 minutes',
       jsonb_build_object('ioc', md5(g::text), 'tags', jsonb_build_array('t' || (g % 7), 't' || (g % 13)), 'score', g % 100)
FROM generate_series(1, 20000) g;
INSERT INTO assets (hostname, ip, owner)
SELECT 'host-' || g, ('10.0.' || (g / 256) || '.' || (g % 256))::inet, 'team-' || (g % 9) FROM generate_series(1, 500) g;
INSERT INTO users (email, name) SELECT 'user' || g || '@example.test', 'User ' || g FROM generate_series(1, 200) g;
INSERT INTO audit_log (actor, action, detail)
SELECT 'user' || (g % 200), (ARRAY['login','logout','update','export'])[1 + g % 4], jsonb_build_object('n', g)
FROM generate_series(1, 2000) g;
`;

// Autovacuum off on the two big tables, then non-HOT updates (an indexed column changes) in one
// transaction so nothing is pruned in between, and a delete of half: many dead tuples, a heap
// several times the live data. The failed CREATE INDEX CONCURRENTLY leaves an INVALID index.
const BLOAT = `
ALTER TABLE vendor_equipment SET (autovacuum_enabled = false, toast.autovacuum_enabled = false);
ALTER TABLE threat_intelligence SET (autovacuum_enabled = false, toast.autovacuum_enabled = false);
BEGIN;
UPDATE vendor_equipment SET serial = serial || 'a', notes = notes || '.' WHERE id % 10 <> 0;
UPDATE vendor_equipment SET serial = serial || 'b' WHERE id % 10 <> 0;
UPDATE threat_intelligence SET severity = severity + 1 WHERE id % 10 <> 0;
UPDATE threat_intelligence SET severity = severity - 1 WHERE id % 10 <> 0;
COMMIT;
DELETE FROM vendor_equipment WHERE id % 2 = 0;
DELETE FROM threat_intelligence WHERE id % 2 = 0;
\\set ON_ERROR_STOP 0
CREATE UNIQUE INDEX CONCURRENTLY threat_intelligence_source_uniq ON threat_intelligence (source);
\\set ON_ERROR_STOP 1
`;

function extraTablesSql(n: number): string {
  if (n <= 0) return '';
  return `
DO $$
BEGIN
  FOR i IN 1..${Math.floor(n)} LOOP
    EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, v text)', 't_' || lpad(i::text, 4, '0'));
    EXECUTE format('INSERT INTO %I SELECT g, ''v'' || g FROM generate_series(1, 10) g', 't_' || lpad(i::text, 4, '0'));
  END LOOP;
END $$;
`;
}

export function seedSql(opts: { seedBloat: boolean; extraTables: number }): string {
  // Flush this session's table counters first, or they land after ANALYZE and zero n_live_tup.
  const analyze = 'RESET ROLE;\nSELECT pg_stat_force_next_flush();\nANALYZE;\n';
  return [SCHEMA, opts.seedBloat ? BLOAT : '', extraTablesSql(opts.extraTables), analyze].join('\n');
}
