#!/usr/bin/env node
// The demo app the rehearsal deploys: node:http and pg only, with fault knobs for the rollback scenarios.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/**
 * Histogram bounds in seconds: they bracket the seeds' 200-500 ms latency budgets, 25-50 ms apart up to 0.5 s so that
 * a quantile interpolated inside a bucket stays close to the truth (a p95 three times higher reads so).
 */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.75, 1, 2, 5];
const MAX_BODY_BYTES = 64 * 1024;
const MAX_TOKENS = 1000;
const DEFAULT_SLOW_MS = 750;
const POOL_SIZE = 5;

const env = process.env;
const version = env.APP_VERSION || 'dev';
const host = env.HOST || '127.0.0.1';
const port = Number(env.PORT ?? 3000);
const smokeEmail = env.DEMO_SMOKE_EMAIL || 'smoke-test@example.com';
const smokePassword = env.DEMO_SMOKE_PASSWORD || null;
/** Simulated work of each /api/items request (the data endpoint the traffic calls), in milliseconds, before a `slow-factor` fault multiplies it. */
const latencyMs = Number(env.DEMO_LATENCY_MS || 0);
/** Where the app writes its log (appended), each line starting with an ISO time, as the log-file analysis metric reads it. */
const logFile = env.DEMO_LOG_FILE || null;

let faults;
try {
  faults = faultsFor(env.DEMO_FAULT ?? '', env.DEMO_FAULT_VERSION, version, env.DEMO_FAULT_HOST, env.HOST_NAME);
} catch (error) {
  console.error(`demo-app: ${error.message}`);
  process.exit(2);
}
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`demo-app: PORT must be a port number (got ${JSON.stringify(env.PORT)})`);
  process.exit(2);
}
if (!Number.isFinite(latencyMs) || latencyMs < 0) {
  console.error(`demo-app: DEMO_LATENCY_MS must be a number of milliseconds (got ${JSON.stringify(env.DEMO_LATENCY_MS)})`);
  process.exit(2);
}
if (faults.crash) {
  console.error(`demo-app ${version}: DEMO_FAULT=crash, exiting before listening`);
  process.exit(1);
}

const pool = env.DATABASE_URL ? new pg.Pool({ connectionString: env.DATABASE_URL, max: POOL_SIZE, connectionTimeoutMillis: 2000, idleTimeoutMillis: 1000 }) : null;
// A restore terminates our connections; the pool must survive that and reconnect on the next query.
pool?.on('error', (error) => console.error(`demo-app ${version}: database connection lost: ${error.message}`));

const tokens = new Map();
const requestCounts = new Map();
const durations = new Map();
let dataRequests = 0;

const routes = {
  'GET /ready': ready,
  'GET /health': health,
  'GET /api/health/db': databaseHealth,
  'GET /api/items': listItems,
  'POST /api/items': createItem,
  'POST /api/auth/login': login,
  'GET /api/users/me': me,
  'GET /metrics': metrics,
};
const knownPaths = new Set(Object.keys(routes).map((key) => key.split(' ')[1]));
/** Scrapes and readiness probes are not traffic: counting them would let the alarm window fill up with the runbook's own requests. */
const UNCOUNTED = new Set(['/metrics', '/ready']);

const server = createServer((req, res) => {
  handle(req, res).catch((error) => {
    console.error(`demo-app ${version}: ${req.method} ${req.url} failed: ${error.message}`);
    if (!res.headersSent) send(res, 500, { error: 'internal error' });
  });
});

server.on('error', (error) => {
  console.error(`demo-app ${version}: cannot listen on ${host}:${port}: ${error.message}`);
  process.exit(1);
});
// The pool's connections are opened before listening, as a real app warms up before its readiness probe
// passes: the first requests must not pay for the logins, or a latency baseline would measure them.
await warmPool();
server.listen(port, host, () => {
  console.log(`demo-app ${version} listening on http://${host}:${server.address().port}`);
  log('INFO', `listening on http://${host}:${server.address().port}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => void shutdown());

async function handle(req, res) {
  const started = process.hrtime.bigint();
  const path = new URL(req.url ?? '/', 'http://demo').pathname;
  const route = knownPaths.has(path) ? path : 'unmatched';
  if (!UNCOUNTED.has(path)) res.on('finish', () => record(req.method ?? 'GET', route, res.statusCode, started));
  const handler = routes[`${req.method} ${path}`];
  if (!handler) return send(res, knownPaths.has(path) ? 405 : 404, { error: knownPaths.has(path) ? 'method not allowed' : 'not found' });
  if (faults.slowMs > 0 && path !== '/metrics') await sleep(faults.slowMs);
  if (latencyMs > 0 && path === '/api/items') await sleep(latencyMs * faults.slowFactor);
  if (faults.logErrors && path.startsWith('/api/')) log('ERROR', `${req.method} ${path}: injected fault DEMO_FAULT=log-errors (the request is still answered)`);
  return handler(req, res);
}

/** The deploy target's readiness probe: the process listens. Deeper checks (and DEMO_FAULT=smoke) belong to /health. */
function ready(_req, res) {
  return send(res, 200, { ready: true, version });
}

function health(_req, res) {
  if (faults.smoke) return send(res, 500, { status: 'unhealthy', version, reason: 'DEMO_FAULT=smoke' });
  return send(res, 200, { status: 'healthy', version, timestamp: new Date().toISOString() });
}

async function databaseHealth(_req, res) {
  if (!pool) return send(res, 503, { database: 'not-configured' });
  const started = performance.now();
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    return send(res, 503, { database: 'disconnected', error: error.message });
  }
  return send(res, 200, { database: 'connected', latency_ms: Math.round(performance.now() - started) });
}

async function listItems(_req, res) {
  if (injectedError(res) || !database(res)) return;
  const { rows } = await pool.query('SELECT * FROM items ORDER BY id LIMIT 100');
  send(res, 200, { items: rows });
}

async function createItem(req, res) {
  if (injectedError(res) || !database(res)) return;
  const body = await readJson(req, res);
  if (body === undefined) return;
  if (typeof body?.name !== 'string' || body.name.length === 0 || body.name.length > 200) {
    return send(res, 400, { error: `name must be a string of 1-200 characters (got ${JSON.stringify(body?.name)?.slice(0, 40)})` });
  }
  const { rows } = await pool.query('INSERT INTO items (name) VALUES ($1) RETURNING *', [body.name]);
  send(res, 201, { item: rows[0] });
}

async function login(req, res) {
  const body = await readJson(req, res);
  if (body === undefined) return;
  if (typeof body?.email !== 'string' || typeof body?.password !== 'string') return send(res, 400, { error: 'email and password are required' });
  if (!smokePassword || body.email !== smokeEmail || !sameSecret(body.password, smokePassword)) return send(res, 401, { error: 'invalid credentials' });
  const token = randomBytes(24).toString('base64url');
  if (tokens.size >= MAX_TOKENS) tokens.delete(tokens.keys().next().value);
  tokens.set(token, body.email);
  send(res, 200, { token });
}

/** The protected call of the smoke tests; with a database it reads the profile row, as a real app would. */
async function me(req, res) {
  const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  const email = token ? tokens.get(token) : undefined;
  if (!email) {
    res.setHeader('WWW-Authenticate', 'Bearer');
    return send(res, 401, { error: 'unauthorized' });
  }
  if (!pool) return send(res, 200, { email });
  const { rows } = await pool.query('SELECT id, email, created_at FROM users WHERE email = $1', [email]);
  if (rows.length === 0) return send(res, 404, { error: `no profile for ${email}` });
  send(res, 200, rows[0]);
}

function metrics(_req, res) {
  const lines = [
    '# HELP http_requests_total HTTP requests served, by method, route and status.',
    '# TYPE http_requests_total counter',
  ];
  for (const [key, count] of requestCounts) {
    const [method, route, status] = key.split('\n');
    lines.push(`http_requests_total${labels({ method, route, status })} ${count}`);
  }
  lines.push('# HELP http_request_duration_seconds Time to serve a request.', '# TYPE http_request_duration_seconds histogram');
  for (const [key, histogram] of durations) {
    const [method, route] = key.split('\n');
    BUCKETS.forEach((le, index) => lines.push(`http_request_duration_seconds_bucket${labels({ method, route, le: String(le) })} ${histogram.buckets[index]}`));
    lines.push(`http_request_duration_seconds_bucket${labels({ method, route, le: '+Inf' })} ${histogram.count}`);
    lines.push(`http_request_duration_seconds_sum${labels({ method, route })} ${histogram.sum}`);
    lines.push(`http_request_duration_seconds_count${labels({ method, route })} ${histogram.count}`);
  }
  lines.push('# HELP app_info The running version.', '# TYPE app_info gauge', `app_info${labels({ version })} 1`);
  lines.push('# HELP process_start_time_seconds Start time of the process since the epoch.', '# TYPE process_start_time_seconds gauge');
  lines.push(`process_start_time_seconds ${Math.round(performance.timeOrigin / 1000)}`);
  res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
  res.end(`${lines.join('\n')}\n`);
}

function record(method, route, status, started) {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const countKey = [method, route, String(status)].join('\n');
  requestCounts.set(countKey, (requestCounts.get(countKey) ?? 0) + 1);
  const durationKey = [method, route].join('\n');
  const histogram = durations.get(durationKey) ?? { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
  BUCKETS.forEach((le, index) => {
    if (seconds <= le) histogram.buckets[index] += 1;
  });
  histogram.sum += seconds;
  histogram.count += 1;
  durations.set(durationKey, histogram);
}

function labels(values) {
  const escape = (value) => value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
  return `{${Object.entries(values)
    .map(([name, value]) => `${name}="${escape(value)}"`)
    .join(',')}}`;
}

/** The "alarm" scenario: data endpoints start failing after n requests, after the smoke tests passed. */
function injectedError(res) {
  if (faults.errorsAfter === null) return false;
  dataRequests += 1;
  if (dataRequests <= faults.errorsAfter) return false;
  send(res, 500, { error: `injected fault: DEMO_FAULT=errors-after:${faults.errorsAfter}` });
  return true;
}

async function warmPool() {
  if (!pool) return;
  const clients = await Promise.allSettled(Array.from({ length: POOL_SIZE }, () => pool.connect()));
  for (const client of clients) if (client.status === 'fulfilled') client.value.release();
  const failed = clients.find((client) => client.status === 'rejected');
  if (failed) console.error(`demo-app ${version}: the database is not reachable yet: ${failed.reason.message}`);
}

/** One line of the app's log, `2026-12-06T10:00:00.000Z ERROR demo-app v2: …`; nothing without DEMO_LOG_FILE. */
function log(level, message) {
  if (!logFile) return;
  try {
    appendFileSync(logFile, `${new Date().toISOString()} ${level} demo-app ${version}: ${message}\n`);
  } catch (error) {
    console.error(`demo-app ${version}: cannot write DEMO_LOG_FILE ${logFile}: ${error.message}`);
  }
}

function database(res) {
  if (pool) return true;
  send(res, 503, { error: 'DATABASE_URL is not set' });
  return false;
}

/** Parses a JSON body; answers 400 and returns undefined when it is not JSON. */
async function readJson(req, res) {
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      send(res, 413, { error: `body larger than ${MAX_BODY_BYTES} bytes` });
      return undefined;
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    send(res, 400, { error: 'body must be JSON' });
    return undefined;
  }
}

function sameSecret(given, expected) {
  const digest = (value) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function send(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * DEMO_FAULT: comma-separated `smoke` (/health answers 500), `errors-after:<n>` (data endpoints answer
 * 500 after n requests), `slow[:<ms>]` (every answer delayed), `slow-factor:<n>` (the /api/items work of
 * DEMO_LATENCY_MS takes n times as long), `log-errors` (each /api/ request writes an ERROR line to
 * DEMO_LOG_FILE, and is answered as usual), `crash` (exits before listening).
 * With DEMO_FAULT_VERSION set, only that version is faulty, so a rollback brings back a healthy one; with
 * DEMO_FAULT_HOST set, only the instance whose HOST_NAME it is (one host of a rolling deploy).
 */
function faultsFor(spec, onlyVersion, running, onlyHost, host) {
  const found = { smoke: false, errorsAfter: null, slowMs: 0, slowFactor: 1, logErrors: false, crash: false };
  if (onlyVersion && onlyVersion !== running) return found;
  if (onlyHost && onlyHost !== host) return found;
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [kind, argument] = part.split(/:(.*)/s);
    if (kind === 'smoke' && argument === undefined) found.smoke = true;
    else if (kind === 'crash' && argument === undefined) found.crash = true;
    else if (kind === 'errors-after' && /^\d+$/.test(argument ?? '')) found.errorsAfter = Number(argument);
    else if (kind === 'slow' && (argument === undefined || /^\d+$/.test(argument))) found.slowMs = argument === undefined ? DEFAULT_SLOW_MS : Number(argument);
    else if (kind === 'slow-factor' && /^\d+(\.\d+)?$/.test(argument ?? '')) found.slowFactor = Number(argument);
    else if (kind === 'log-errors' && argument === undefined) found.logErrors = true;
    else throw new Error(`DEMO_FAULT has an unknown fault "${part}"; use smoke, errors-after:<n>, slow[:<ms>], slow-factor:<n>, log-errors or crash (got ${JSON.stringify(spec)})`);
  }
  return found;
}

async function shutdown() {
  server.close();
  server.closeAllConnections();
  await pool?.end().catch(() => undefined);
  process.exit(0);
}
