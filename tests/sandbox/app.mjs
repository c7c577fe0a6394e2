// The sandbox's stand-in for the real web app: plain Node HTTP server + `pg`.
// Env: PORT, DATABASE_URL, ACCESS_LOG (app-start.sh loads them from root/app.env).
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';
import pg from 'pg';

const port = Number(process.env.PORT);
const accessLog = process.env.ACCESS_LOG;
let requests = 0;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function clfDate(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

function send(req, res, status, body) {
  const text = JSON.stringify(body);
  const line = `${req.socket.remoteAddress ?? '-'} - - [${clfDate(new Date())}] "${req.method} ${req.url} HTTP/${req.httpVersion}" ${status} ${Buffer.byteLength(text)}\n`;
  if (accessLog) appendFileSync(accessLog, line);
  res.writeHead(status, { 'content-type': 'application/json' }).end(text);
}

async function dbRows() {
  const client = new pg.Client({
    connectionString: process.env.DATABASE_URL,
    connectionTimeoutMillis: 3000,
    query_timeout: 5000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query('select count(*)::int as n from vendor_equipment');
    return rows[0].n;
  } finally {
    client.end().catch(() => {});
  }
}

const server = createServer(async (req, res) => {
  requests++;
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET') return send(req, res, 405, { error: 'method not allowed' });
  if (path === '/health' || path === '/api/v1/health') return send(req, res, 200, { status: 'ok' });
  if (path === '/api/v1/stats') return send(req, res, 200, { requests });
  if (path === '/api/v1/db/health') {
    try {
      return send(req, res, 200, { status: 'ok', rows: await dbRows() });
    } catch (e) {
      return send(req, res, 503, {
        status: 'error',
        error: String(e?.message ?? e),
      });
    }
  }
  return send(req, res, 404, { error: 'not found' });
});

server.listen(port, '127.0.0.1');
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)).closeAllConnections());
