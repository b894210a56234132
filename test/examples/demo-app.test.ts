import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePrometheusText, type Sample } from '../../adapters/local/prometheus-text';
import { type DemoApp, runDemoAppToExit, startDemoApp } from './demo-app-process';

const PASSWORD = 'correct horse battery staple';
let app: DemoApp | undefined;

afterEach(async () => {
  await app?.stop();
  app = undefined;
});

async function call(path: string, init: RequestInit = {}) {
  const response = await fetch(`${app?.url}${path}`, init);
  const text = await response.text();
  return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) : text, headers: response.headers };
}

const login = (password: string, email = 'smoke-test@example.com') =>
  call('/api/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }) });

async function metrics(): Promise<Sample[]> {
  return parsePrometheusText((await call('/metrics')).body as string);
}

describe('demo app', () => {
  it('answers /health with its version', async () => {
    app = await startDemoApp({ APP_VERSION: 'v2' });
    const health = await call('/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'healthy', version: 'v2' });
  });

  it('logs in the smoke user and serves its profile for the token, 401 without it', async () => {
    app = await startDemoApp({ DEMO_SMOKE_PASSWORD: PASSWORD });
    const session = await login(PASSWORD);
    expect(session.status).toBe(200);
    expect(session.body.token).toMatch(/^[A-Za-z0-9_-]{32}$/);

    const profile = await call('/api/users/me', { headers: { Authorization: `Bearer ${session.body.token}` } });
    expect(profile).toMatchObject({ status: 200, body: { email: 'smoke-test@example.com' } });
    const anonymous = await call('/api/users/me');
    expect(anonymous).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect((await call('/api/users/me', { headers: { Authorization: 'Bearer forged' } })).status).toBe(401);
  });

  it('fails when the password is wrong, the user is another one or no password is configured (401)', async () => {
    app = await startDemoApp({ DEMO_SMOKE_PASSWORD: PASSWORD });
    expect((await login('wrong')).status).toBe(401);
    expect((await login(PASSWORD, 'someone@example.com')).status).toBe(401);
    expect((await call('/api/auth/login', { method: 'POST', body: 'not json' })).status).toBe(400);
    await app.stop();

    app = await startDemoApp({});
    expect((await login('')).status).toBe(401);
    expect((await login('undefined')).status).toBe(401);
  });

  it('answers 503 on the database endpoints without DATABASE_URL, 404 and 405 elsewhere', async () => {
    app = await startDemoApp();
    expect(await call('/api/health/db')).toMatchObject({ status: 503, body: { database: 'not-configured' } });
    expect((await call('/api/items')).status).toBe(503);
    expect((await call('/nowhere')).status).toBe(404);
    expect((await call('/health', { method: 'DELETE' })).status).toBe(405);
  });

  it('fails /health with 500 when DEMO_FAULT=smoke, but only for DEMO_FAULT_VERSION', async () => {
    app = await startDemoApp({ APP_VERSION: 'v2', DEMO_FAULT: 'smoke', DEMO_FAULT_VERSION: 'v2' });
    expect(await call('/health')).toMatchObject({ status: 500, body: { status: 'unhealthy', version: 'v2' } });
    await app.stop();

    app = await startDemoApp({ APP_VERSION: 'v1', DEMO_FAULT: 'smoke', DEMO_FAULT_VERSION: 'v2' });
    expect((await call('/health')).status).toBe(200);
  });

  it('answers /ready while DEMO_FAULT=smoke fails /health, and does not count the probes in the metrics', async () => {
    app = await startDemoApp({ APP_VERSION: 'v2', DEMO_FAULT: 'smoke' });
    expect(await call('/ready')).toMatchObject({ status: 200, body: { ready: true, version: 'v2' } });
    expect((await call('/health')).status).toBe(500);

    const samples = await metrics();
    expect(samples.filter((s) => s.name === 'http_requests_total').map((s) => s.labels.route)).toEqual(['/health']);
  });

  it('answers 500 on data endpoints after n requests with DEMO_FAULT=errors-after:n', async () => {
    app = await startDemoApp({ DEMO_FAULT: 'errors-after:2' });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call('/api/items')).status);
    // No database here: the first two answer 503, then the injected fault takes over.
    expect(statuses).toEqual([503, 503, 500, 500]);
    expect((await call('/health')).status).toBe(200);
  });

  it('exposes Prometheus counters by method, route and status and a duration histogram, without counting scrapes', async () => {
    app = await startDemoApp({ DEMO_SMOKE_PASSWORD: PASSWORD });
    await call('/health');
    await call('/health');
    await login('wrong');
    await call('/nowhere');
    await call('/metrics');

    const samples = await metrics();
    const count = (labels: Record<string, string>) => samples.find((s) => s.name === 'http_requests_total' && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(count({ method: 'GET', route: '/health', status: '200' })).toBe(2);
    expect(count({ method: 'POST', route: '/api/auth/login', status: '401' })).toBe(1);
    expect(count({ method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(samples.filter((s) => s.name === 'http_requests_total' && s.labels.route === '/metrics')).toEqual([]);

    const buckets = samples.filter((s) => s.name === 'http_request_duration_seconds_bucket' && s.labels.route === '/health');
    expect(buckets.map((b) => b.labels.le)).toEqual(['0.005', '0.01', '0.025', '0.05', '0.075', '0.1', '0.125', '0.15', '0.175', '0.2', '0.25', '0.3', '0.35', '0.4', '0.45', '0.5', '0.75', '1', '2', '5', '+Inf']);
    expect(buckets.map((b) => b.value)).toEqual([...buckets.map((b) => b.value)].sort((a, b) => a - b));
    expect(buckets.at(-1)?.value).toBe(2);
    const total = samples.find((s) => s.name === 'http_request_duration_seconds_count' && s.labels.route === '/health');
    expect(total?.value).toBe(2);
    expect(samples.find((s) => s.name === 'app_info')?.labels.version).toBe('v1');

    const page = await call('/metrics');
    expect(page.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(page.body).toContain('# TYPE http_requests_total counter');
    expect(page.body).toContain('# TYPE http_request_duration_seconds histogram');
  });

  it('delays answers with DEMO_FAULT=slow:<ms>, as the histogram records', async () => {
    app = await startDemoApp({ DEMO_FAULT: 'slow:600' });
    await call('/health');
    const buckets = (await metrics()).filter((s) => s.name === 'http_request_duration_seconds_bucket' && s.labels.route === '/health');
    expect(buckets.find((b) => b.labels.le === '0.5')?.value).toBe(0);
    expect(buckets.find((b) => b.labels.le === '5')?.value).toBe(1);
  });

  it('spends DEMO_LATENCY_MS on each /api/items request, slow-factor:<n> times as long for DEMO_FAULT_VERSION only', async () => {
    const itemsSeconds = async () => {
      await call('/api/items');
      return (await metrics()).find((s) => s.name === 'http_request_duration_seconds_sum' && s.labels.route === '/api/items')?.value ?? 0;
    };
    app = await startDemoApp({ APP_VERSION: 'v1', DEMO_LATENCY_MS: '60', DEMO_FAULT: 'slow-factor:3', DEMO_FAULT_VERSION: 'v2' });
    const v1 = await itemsSeconds();
    const health = (await metrics()).find((s) => s.name === 'http_request_duration_seconds_sum' && s.labels.route === '/health');
    await app.stop();
    app = await startDemoApp({ APP_VERSION: 'v2', DEMO_LATENCY_MS: '60', DEMO_FAULT: 'slow-factor:3', DEMO_FAULT_VERSION: 'v2' });
    const v2 = await itemsSeconds();

    expect(v1).toBeGreaterThanOrEqual(0.059);
    expect(v1).toBeLessThan(0.15);
    expect(v2).toBeGreaterThanOrEqual(0.179);
    expect(health).toBeUndefined();
    expect((await call('/health')).status).toBe(200);
  });

  it('writes its log to DEMO_LOG_FILE, lines starting with an ISO time; DEMO_FAULT=log-errors adds an ERROR line per /api/ request', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'demo-log-'));
    const logFile = join(dir, 'app.log');
    try {
      app = await startDemoApp({ APP_VERSION: 'v2', DEMO_LOG_FILE: logFile, DEMO_FAULT: 'log-errors', DEMO_FAULT_VERSION: 'v2' });
      expect((await call('/api/items')).status).toBe(503);
      await call('/health');
      await app.stop();
      app = await startDemoApp({ APP_VERSION: 'v1', DEMO_LOG_FILE: logFile, DEMO_FAULT: 'log-errors', DEMO_FAULT_VERSION: 'v2' });
      await call('/api/items');

      const lines = (await readFile(logFile, 'utf8')).trim().split('\n');
      expect(lines).toHaveLength(3);
      for (const line of lines) expect(Date.parse(line.split(' ')[0])).not.toBeNaN();
      expect(lines[0]).toMatch(/^\S+Z INFO demo-app v2: listening on http:\/\/127\.0\.0\.1:\d+$/);
      expect(lines[1]).toMatch(/^\S+Z ERROR demo-app v2: GET \/api\/items: injected fault DEMO_FAULT=log-errors/);
      expect(lines[2]).toMatch(/^\S+Z INFO demo-app v1: listening on/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails when DEMO_LATENCY_MS is not a number of milliseconds, with exit code 2', async () => {
    const run = await runDemoAppToExit({ DEMO_LATENCY_MS: 'fast' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('DEMO_LATENCY_MS must be a number of milliseconds (got "fast")');
  });

  it('fails when DEMO_FAULT names an unknown fault, naming it, with exit code 2', async () => {
    const run = await runDemoAppToExit({ DEMO_FAULT: 'smoke,explode' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('DEMO_FAULT has an unknown fault "explode"');
  });

  it('exits with code 1 before listening with DEMO_FAULT=crash (the deploy-failure scenario)', async () => {
    const run = await runDemoAppToExit({ APP_VERSION: 'v2', DEMO_FAULT: 'crash' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('demo-app v2: DEMO_FAULT=crash, exiting before listening');
  });
});
