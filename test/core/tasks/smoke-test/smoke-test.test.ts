import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SecretRef } from '../../../../config/schema';
import { SecretUnavailableError } from '../../../../core/errors';
import { SmokeReport } from '../../../../core/model';
import { runSmokeTests, SmokeTestEvent } from '../../../../core/tasks/smoke-test/smoke-test';
import { localDeps, SMOKE_PASSWORD, seedSuite, smokeEvent, steppingClock } from './fixtures';
import { type SeedServer, startSeedServer } from './seed-server';

let server: SeedServer;

beforeAll(async () => {
  server = await startSeedServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.reset();
});

/** One check against the seed server, with the given overrides. */
function single(check: Record<string, unknown>, suite: Record<string, unknown> = {}) {
  return smokeEvent({ baseUrl: server.baseUrl, requestTimeoutMs: 2000, ...suite, checks: [{ name: 'check', path: '/health', ...check }] });
}

async function only(event: SmokeTestEvent) {
  const report = await runSmokeTests(event, localDeps());
  return report.results[0];
}

describe('runSmokeTests against the seed endpoints', () => {
  it('passes the seed runbook suite: health with version, db, login → token → protected calls, 401, latency', async () => {
    const report = await runSmokeTests(smokeEvent(seedSuite(server.baseUrl), { expectedVersion: '1.0.0' }), localDeps());

    expect(SmokeReport.parse(report)).toEqual(report);
    expect(report).toMatchObject({
      phase: 'deploy',
      passed: true,
      expectedVersion: '1.0.0',
      summary: '7/7 checks passed',
      startedAt: '2025-12-22T23:47:12.000Z',
      durationMs: 250,
    });
    expect(report.results.map(({ name, passed, status, attempts, failures }) => ({ name, passed, status, attempts, failures }))).toEqual([
      { name: 'health', passed: true, status: 200, attempts: 1, failures: [] },
      { name: 'database health', passed: true, status: 200, attempts: 1, failures: [] },
      { name: 'login', passed: true, status: 200, attempts: 1, failures: [] },
      { name: 'verify token', passed: true, status: 200, attempts: 1, failures: [] },
      { name: 'profile', passed: true, status: 200, attempts: 1, failures: [] },
      { name: 'protected without token', passed: true, status: 401, attempts: 1, failures: [] },
      { name: 'performance baseline', passed: true, status: 200, attempts: 1, failures: [] },
    ]);
    for (const result of report.results) expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(server.authorizations).toEqual([`Bearer ${server.token}`, `Bearer ${server.token}`]);
    expect(server.hits.get('POST /api/auth/login')).toBe(1);
  });

  it('reports the phase and the version of a rollback verification', async () => {
    server.version = '0.9.0';

    const report = await runSmokeTests(smokeEvent(seedSuite(server.baseUrl), { phase: 'rollback', expectedVersion: '0.9.0' }), localDeps());

    expect(report).toMatchObject({ phase: 'rollback', passed: true, expectedVersion: '0.9.0', summary: '7/7 checks passed' });
  });

  it('keeps the base URL path prefix', async () => {
    const report = await runSmokeTests(smokeEvent({ baseUrl: `${server.baseUrl}/api/`, checks: [{ name: 'db', path: '/health/db' }] }), localDeps());

    expect(report.passed).toBe(true);
    expect(server.hits.get('GET /api/health/db')).toBe(1);
  });
});

describe('status', () => {
  it('fails when the status is wrong, quoting the response', async () => {
    server.knobs.set('/health', { status: 500, body: '{"status":"down","error":"db pool exhausted"}' });

    const report = await runSmokeTests(smokeEvent(seedSuite(server.baseUrl)), localDeps());

    expect(report.passed).toBe(false);
    expect(report.results[0]).toMatchObject({
      name: 'health',
      passed: false,
      status: 500,
      attempts: 1,
      failures: ['status 500, expected 200', 'response: {"status":"down","error":"db pool exhausted"}'],
    });
    expect(report.summary).toBe('1 of 7 checks failed: health (status 500, expected 200)');
  });

  it('fails when the status is none of a list', async () => {
    const result = await only(single({ path: '/nowhere', expect: { status: [200, 204] } }));

    expect(result.failures[0]).toBe('status 404, expected one of 200, 204');
  });

  it('passes when the status is one of a list', async () => {
    const result = await only(single({ path: '/api/users/me', expect: { status: [401, 403] } }));

    expect(result).toMatchObject({ passed: true, status: 401, failures: [] });
  });
});

describe('JSON assertions', () => {
  const body = JSON.stringify({ status: 'degraded', version: '1.0.0', checks: { db: 'ok', cache: null }, regions: ['eu', 'us'] });

  it.each([
    ['equals differs', { path: '$.status', equals: 'healthy' }, '$.status is "degraded", expected "healthy"'],
    ['equals misses the field', { path: '$.uptime', equals: 1 }, '$.uptime is missing, expected 1'],
    ['equals compares deeply', { path: '$.regions', equals: ['us', 'eu'] }, '$.regions is ["eu","us"], expected ["us","eu"]'],
    ['equals compares types', { path: '$.version', equals: 1 }, '$.version is "1.0.0", expected 1'],
    ['exists misses the field', { path: '$.checks.queue', exists: true }, '$.checks.queue is missing'],
    ['exists: false finds the field', { path: '$.checks.cache', exists: false }, '$.checks.cache is null, expected it to be absent'],
    ['matches does not match', { path: '$.status', matches: '^(healthy|ok)$' }, '$.status is "degraded", which does not match /^(healthy|ok)$/'],
    ['matches misses the field', { path: '$.checks.queue', matches: 'ok' }, '$.checks.queue is missing, expected a match for /ok/'],
  ])('fails when %s', async (_case, assertion, failure) => {
    server.knobs.set('/health', { body });

    const result = await only(single({ expect: { json: [assertion] } }));

    expect(result).toMatchObject({ passed: false, status: 200 });
    expect(result.failures).toEqual([failure, `response: ${body}`]);
  });

  it.each([
    ['equals with another key order', { path: '$.checks', equals: { cache: null, db: 'ok' } }],
    ['exists', { path: '$.checks.cache', exists: true }],
    ['exists: false', { path: '$.checks.queue', exists: false }],
    ['matches on a non-string value', { path: '$.regions', matches: '"eu"' }],
  ])('passes on %s', async (_case, assertion) => {
    server.knobs.set('/health', { body });

    expect(await only(single({ expect: { json: [assertion] } }))).toMatchObject({ passed: true, failures: [] });
  });

  it('reports every failed assertion of a check', async () => {
    server.knobs.set('/health', { body });

    const result = await only(single({ expect: { json: [{ path: '$.status', equals: 'healthy' }, { path: '$.checks.db', equals: 'ok' }, { path: '$.x', exists: true }] } }));

    expect(result.failures.slice(0, -1)).toEqual(['$.status is "degraded", expected "healthy"', '$.x is missing']);
  });

  it('fails when the response is not JSON', async () => {
    server.knobs.set('/health', { body: '<html>maintenance</html>' });

    const result = await only(single({ expect: { json: [{ path: '$.status', equals: 'healthy' }] } }));

    expect(result.failures).toEqual(['response is not JSON', 'response: <html>maintenance</html>']);
  });

  it('fails when the body does not contain the expected text', async () => {
    const result = await only(single({ expect: { bodyContains: '"status":"ok"' } }));

    expect(result.failures[0]).toBe('body does not contain "\\"status\\":\\"ok\\""');
  });

  it('cuts the quoted response to 200 characters', async () => {
    server.knobs.set('/health', { status: 502, body: `{"error":"${'x'.repeat(400)}"}` });

    const result = await only(single({}));

    expect(result.failures[1]).toBe(`response: {"error":"${'x'.repeat(200 - 11)}…`);
    expect(result.failures[1].length).toBe('response: '.length + 200);
  });
});

describe('{{version}}', () => {
  it('fails when the running version is not the expected one', async () => {
    server.version = '1.0.0';

    const report = await runSmokeTests(smokeEvent(seedSuite(server.baseUrl), { expectedVersion: '1.1.0' }), localDeps());

    expect(report.results[0].failures[0]).toBe('$.version is "1.0.0", expected "1.1.0"');
    expect(report.summary).toBe('1 of 7 checks failed: health ($.version is "1.0.0", expected "1.1.0")');
  });

  it('fails a check that uses {{version}} when the version to roll back to is unknown, without calling it', async () => {
    const report = await runSmokeTests(smokeEvent(seedSuite(server.baseUrl), { phase: 'rollback', expectedVersion: null }), localDeps());

    expect(report.results[0]).toEqual({
      name: 'health',
      passed: false,
      status: null,
      latencyMs: null,
      attempts: 0,
      failures: ['uses {{version}} but the version to roll back to is unknown (expectedVersion is null)'],
    });
    expect(server.hits.get('GET /health')).toBeUndefined();
    expect(report.results.slice(1).every((r) => r.passed)).toBe(true);
  });

  it('expands {{version}} in the path', async () => {
    await only(single({ path: '/releases/{{version}}', expect: { status: 404 } }));

    expect(server.hits.get('GET /releases/1.0.0')).toBe(1);
  });
});

describe('latency, retries and timeouts', () => {
  it('fails when the response takes longer than the latency budget', async () => {
    server.knobs.set('/health', { delayMs: 150 });

    const result = await only(single({ expect: { maxLatencyMs: 50 } }));

    expect(result).toMatchObject({ passed: false, status: 200, attempts: 1 });
    expect(result.latencyMs).toBeGreaterThanOrEqual(150);
    expect(result.failures[0]).toBe(`took ${result.latencyMs} ms, over the 50 ms budget`);
  });

  it('retries until the server recovers and reports the attempts', async () => {
    server.knobs.set('/health', { failFirst: 2 });

    const result = await only(single({ retries: 3, retryDelayMs: 10 }));

    expect(result).toMatchObject({ passed: true, status: 200, attempts: 3, failures: [] });
    expect(server.hits.get('GET /health')).toBe(3);
  });

  it('fails when the server does not recover within the retries, reporting the last attempt', async () => {
    server.knobs.set('/health', { failFirst: 10 });

    const result = await only(single({ retries: 2, retryDelayMs: 10 }));

    expect(result).toMatchObject({ passed: false, status: 503, attempts: 3, failures: ['status 503, expected 200', 'response: {"error":"warming up"}'] });
    expect(server.hits.get('GET /health')).toBe(3);
  });

  it('fails when a request times out, and aborts it', async () => {
    server.knobs.set('/health', { delayMs: 5000 });

    const result = await only(single({ retries: 1, retryDelayMs: 0 }, { requestTimeoutMs: 100 }));

    expect(result).toEqual({ name: 'check', passed: false, status: null, latencyMs: null, attempts: 2, failures: ['timed out after 100 ms'] });
    // The server sees each abort as its connection closing.
    await expect.poll(() => [...server.log].sort()).toEqual(['< GET /health', '< GET /health', '> GET /health', '> GET /health']);
  });

  it('fails when the server cannot be reached', async () => {
    const closed = await startSeedServer();
    await closed.close();

    const result = await only(smokeEvent({ baseUrl: closed.baseUrl, checks: [{ name: 'health', path: '/health' }] }));

    expect(result).toMatchObject({ passed: false, status: null, latencyMs: null, attempts: 1 });
    expect(result.failures[0]).toMatch(/^request failed: fetch failed \(.*ECONNREFUSED.*\)$/);
  });
});

describe('capture and dependencies', () => {
  it('sends the captured token as a Bearer header to the checks that use it', async () => {
    server.token = 'tok-9c1d77';

    const report = await runSmokeTests(smokeEvent(seedSuite(server.baseUrl)), localDeps());

    expect(report.passed).toBe(true);
    expect(server.authorizations).toEqual(['Bearer tok-9c1d77', 'Bearer tok-9c1d77']);
    const loginDone = server.log.indexOf('< POST /api/auth/login');
    expect(server.log.indexOf('> GET /api/auth/verify')).toBeGreaterThan(loginDone);
  });

  it('skips the dependents of a failed login and still runs the independent checks', async () => {
    server.password = 'rotated';

    const report = await runSmokeTests(smokeEvent(seedSuite(server.baseUrl)), localDeps());

    expect(report.passed).toBe(false);
    expect(report.results.map((r) => [r.name, r.passed, r.attempts, r.failures[0] ?? null])).toEqual([
      ['health', true, 1, null],
      ['database health', true, 1, null],
      ['login', false, 1, 'status 401, expected 200'],
      ['verify token', false, 0, "skipped: depends on 'login', which failed"],
      ['profile', false, 0, "skipped: depends on 'login', which failed"],
      ['protected without token', true, 1, null],
      ['performance baseline', true, 1, null],
    ]);
    expect(report.summary).toBe(
      "3 of 7 checks failed: login (status 401, expected 200); verify token (skipped: depends on 'login', which failed); profile (skipped: depends on 'login', which failed)",
    );
    expect(server.hits.get('GET /api/auth/verify')).toBeUndefined();
    expect(server.authorizations).toEqual([]);
  });

  it('fails when a capture path is missing, and skips what depends on it, transitively', async () => {
    const event = smokeEvent({
      baseUrl: server.baseUrl,
      checks: [
        { name: 'login', method: 'POST', path: '/api/auth/login', body: { password: 'Test123!@#' }, capture: { token: '$.access_token' } },
        { name: 'profile', path: '/api/users/me', headers: { Authorization: 'Bearer {{vars.token}}' }, capture: { email: '$.email' } },
        { name: 'mail', path: '/mail/{{vars.email}}' },
      ],
    });

    const report = await runSmokeTests(event, localDeps());

    expect(report.results.map((r) => r.failures[0])).toEqual([
      'capture token: $.access_token is missing',
      "skipped: depends on 'login', which failed",
      "skipped: depends on 'profile', which was skipped",
    ]);
    expect(report.summary).toBe(
      "3 of 3 checks failed: login (capture token: $.access_token is missing); profile (skipped: depends on 'login', which failed); mail (skipped: depends on 'profile', which was skipped)",
    );
  });

  it('takes each variable from the nearest earlier check that captures it', async () => {
    server.knobs.set('/first', { body: '{"id":"one"}' });
    server.knobs.set('/second', { body: '{"id":"two"}' });
    const event = smokeEvent({
      baseUrl: server.baseUrl,
      checks: [
        { name: 'first', path: '/first', capture: { id: '$.id' } },
        { name: 'second', path: '/second', capture: { id: '$.id' } },
        { name: 'use', path: '/items/{{vars.id}}', expect: { status: 404 } },
      ],
    });

    await runSmokeTests(event, localDeps());

    expect(server.hits.get('GET /items/two')).toBe(1);
  });

  it('URL-encodes a captured value used in the path', async () => {
    server.knobs.set('/first', { body: '{"id":"../admin?x=1"}' });
    const event = smokeEvent({
      baseUrl: server.baseUrl,
      checks: [
        { name: 'first', path: '/first', capture: { id: '$.id' } },
        { name: 'use', path: '/items/{{vars.id}}', expect: { status: 404 } },
      ],
    });

    await runSmokeTests(event, localDeps());

    expect(server.hits.get('GET /items/..%2Fadmin%3Fx%3D1')).toBe(1);
  });

  it('fails a check whose expected value uses a variable no earlier check captures', async () => {
    const result = await only(single({ expect: { json: [{ path: '$.version', equals: '{{vars.release}}' }] } }));

    expect(result).toMatchObject({ passed: false, attempts: 0, failures: ["uses {{vars.release}} but no earlier check captures 'release'"] });
  });
});

describe('concurrency', () => {
  const slowChecks = (count: number) => Array.from({ length: count }, (_, i) => ({ name: `slow ${i}`, path: '/slow' }));

  it.each([1, 2, 3])('runs independent checks concurrently, at most %i at a time', async (concurrency) => {
    server.knobs.set('/slow', { delayMs: 100, body: '{}' });

    const report = await runSmokeTests(smokeEvent({ baseUrl: server.baseUrl, concurrency, checks: slowChecks(6) }), localDeps());

    expect(report.passed).toBe(true);
    expect(server.hits.get('GET /slow')).toBe(6);
    expect(server.maxInFlight).toBe(concurrency);
  });

  it('keeps config order in the results whatever order the checks finish in', async () => {
    server.knobs.set('/slow', { delayMs: 100, body: '{}' });
    const event = smokeEvent({
      baseUrl: server.baseUrl,
      checks: [
        { name: 'slow', path: '/slow' },
        { name: 'fast', path: '/api/health/db' },
      ],
    });

    const report = await runSmokeTests(event, localDeps());

    expect(server.log.indexOf('< GET /api/health/db')).toBeLessThan(server.log.indexOf('< GET /slow'));
    expect(report.results.map((r) => r.name)).toEqual(['slow', 'fast']);
  });
});

describe('secrets', () => {
  it('fails when a secret cannot be resolved, naming it, before any request', async () => {
    const error = await runSmokeTests(smokeEvent(seedSuite(server.baseUrl)), localDeps({})).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect((error as Error).message).toBe('cannot run the smoke tests: smokeTests.secrets.SMOKE_PASSWORD: environment variable SMOKE_PASSWORD is not set');
    expect(server.hits.size).toBe(0);
  });

  it('names every secret that cannot be resolved', async () => {
    const suite = {
      baseUrl: server.baseUrl,
      secrets: { A: { env: 'A' }, B: { secretsManager: 'shop/b' }, C: { env: 'C' } },
      checks: [{ name: 'x', path: '/x', headers: { 'X-A': '{{secrets.A}}', 'X-B': '{{secrets.B}}', 'X-C': '{{secrets.C}}' } }],
    };

    await expect(runSmokeTests(smokeEvent(suite), localDeps({ C: 'c-value-7731' }))).rejects.toThrow(
      "cannot run the smoke tests: smokeTests.secrets.A: environment variable A is not set; smokeTests.secrets.B: secretsManager secrets are read only on AWS; in a local rehearsal (deploy-runbook rehearse) name the secret with the environment, {\"env\": \"NAME\"} (got {\"secretsManager\":\"shop/b\"})",
    );
  });

  it('resolves each used secret once and leaves unused ones alone', async () => {
    const asked: string[] = [];
    const suite = {
      baseUrl: server.baseUrl,
      secrets: { USED: { env: 'USED' }, UNUSED: { secretsManager: 'shop/unused' } },
      checks: [
        { name: 'one', path: '/api/users/me', headers: { 'X-Key': '{{secrets.USED}}' }, expect: { status: 401 } },
        { name: 'two', path: '/api/users/me', headers: { 'X-Key': '{{secrets.USED}}' }, expect: { status: 401 } },
      ],
    };

    const report = await runSmokeTests(smokeEvent(suite), {
      clock: steppingClock(),
      secrets: {
        resolve: async (ref) => {
          asked.push(JSON.stringify(ref));
          return 'value';
        },
      },
    });

    expect(report.passed).toBe(true);
    expect(asked).toEqual(['{"env":"USED"}']);
  });

  it('masks a secret in a failure message of a source that quotes another secret', async () => {
    const suite = {
      baseUrl: server.baseUrl,
      secrets: { GOOD: { env: 'GOOD' }, BAD: { env: 'BAD' } },
      checks: [{ name: 'x', path: '/x', headers: { 'X-A': '{{secrets.GOOD}}', 'X-B': '{{secrets.BAD}}' } }],
    };
    const secrets = {
      resolve: async (ref: SecretRef) => {
        if ('env' in ref && ref.env === 'GOOD') return 'good-value-123';
        throw new Error('careless source: good-value-123');
      },
    };

    await expect(runSmokeTests(smokeEvent(suite), { clock: steppingClock(), secrets })).rejects.toThrow(
      'cannot run the smoke tests: smokeTests.secrets.BAD: careless source: ***',
    );
  });
});

describe('values a failing check captured', () => {
  const LOGIN = { name: 'login', method: 'POST', path: '/api/auth/login', body: { email: 'smoke-test@example.com', password: '{{secrets.SMOKE_PASSWORD}}' }, capture: { token: '$.token' } };

  it('masks a token captured by a check that fails on another assertion, in its reasons and its quoted response', async () => {
    server.token = 'tok-live-6c1f0a93be77';
    const event = single({ ...LOGIN, expect: { json: [{ path: '$.user.email', equals: 'someone-else@example.com' }, { path: '$', equals: 'never' }] } }, { secrets: { SMOKE_PASSWORD: { env: 'SMOKE_PASSWORD' } } });

    const report = await runSmokeTests(event, localDeps());

    expect(report.results[0].passed).toBe(false);
    expect(report.results[0].failures.at(-1)).toBe('response: {"token":"***","user":{"email":"smoke-test@example.com"}}');
    expect(report.results[0].failures[1]).toBe('$ is {"token":"***","user":{"email":"smoke-test@example.com"}}, expected "never"');
    expect(JSON.stringify(report)).not.toContain('6c1f0a93be77');
  });

  it('masks the value a capture path finds in a response whose status is wrong', async () => {
    server.knobs.set('/api/auth/login', { status: 500, body: '{"token":"tok-leaked-0b7d21e4","error":"session store down"}' });

    const report = await runSmokeTests(single(LOGIN, { secrets: { SMOKE_PASSWORD: { env: 'SMOKE_PASSWORD' } } }), localDeps());

    expect(report.results[0].failures).toEqual(['status 500, expected 200', 'response: {"token":"***","error":"session store down"}']);
  });

  it('masks a secret echoed base64-encoded, alone or inside a longer encoded text', async () => {
    const basic = Buffer.from(`smoke-test:${SMOKE_PASSWORD}`).toString('base64');
    const alone = Buffer.from(SMOKE_PASSWORD).toString('base64url');
    server.knobs.set('/echo', { status: 401, body: `rejected Basic ${basic}; password ${alone}` });

    const report = await runSmokeTests(single({ path: '/echo', headers: { 'X-Password': '{{secrets.SMOKE_PASSWORD}}' } }, { secrets: { SMOKE_PASSWORD: { env: 'SMOKE_PASSWORD' } } }), localDeps());

    const quoted = report.results[0].failures.at(-1) as string;
    expect(quoted).toMatch(/^response: rejected Basic .*\*\*\*.*; password \*\*\*$/);
    expect(quoted).not.toContain(alone);
    expect(quoted).not.toContain(basic.slice(12, 24));
  });

  it('masks a captured token that the server echoes cut short', async () => {
    server.token = 'tok-live-5d2e8a7c41b09f36';
    server.knobs.set('/api/users/me', { status: 403, body: 'token tok-live-5d2e8a7c… is revoked' });
    const event = smokeEvent({
      baseUrl: server.baseUrl,
      secrets: { SMOKE_PASSWORD: { env: 'SMOKE_PASSWORD' } },
      checks: [LOGIN, { name: 'profile', path: '/api/users/me', headers: { Authorization: 'Bearer {{vars.token}}' } }],
    });

    const report = await runSmokeTests(event, localDeps());

    expect(report.results[1].failures).toEqual(['status 403, expected 200', 'response: token ***… is revoked']);
  });
});

describe('redirects', () => {
  let elsewhere: SeedServer;
  beforeAll(async () => {
    elsewhere = await startSeedServer();
  });
  afterAll(async () => {
    await elsewhere.close();
  });
  beforeEach(() => elsewhere.reset());

  const keyed = { headers: { 'X-Api-Key': '{{secrets.API_KEY}}', Authorization: 'Bearer {{secrets.API_KEY}}' } };
  const withKey = { secrets: { API_KEY: { env: 'API_KEY' } } };
  const deps = () => localDeps({ API_KEY: 'key-4e1b9d07' });

  it('fails when a check is redirected to another origin, without sending its headers there', async () => {
    server.knobs.set('/moved', { location: `${elsewhere.baseUrl}/health` });

    const report = await runSmokeTests(single({ path: '/moved', ...keyed }, withKey), deps());

    expect(elsewhere.hits.size).toBe(0);
    expect(elsewhere.apiKeys).toEqual([]);
    expect(elsewhere.authorizations).toEqual([]);
    expect(report.results[0]).toMatchObject({ passed: false, status: null });
    expect(report.results[0].failures).toEqual([
      `redirected to ${elsewhere.baseUrl}, another origin: not followed, so that the check's headers stay with ${server.baseUrl}`,
    ]);
  });

  it('follows a redirect within the origin, with the headers', async () => {
    server.knobs.set('/moved', { status: 301, location: '/api/users/me' });

    const report = await runSmokeTests(single({ path: '/moved', ...keyed, expect: { status: 401 } }, withKey), deps());

    expect(report.passed).toBe(true);
    expect(server.hits.get('GET /api/users/me')).toBe(1);
    expect(server.apiKeys).toEqual(['key-4e1b9d07', 'key-4e1b9d07']);
  });

  it('turns a POST redirected with 303 into a GET without the body, as browsers do', async () => {
    server.knobs.set('/submit', { status: 303, location: '/health' });

    const report = await runSmokeTests(single({ method: 'POST', path: '/submit', body: { password: 'x' }, expect: { json: [{ path: '$.status', equals: 'healthy' }] } }), localDeps());

    expect(report.passed).toBe(true);
    expect(server.hits.get('GET /health')).toBe(1);
  });

  it('fails after 5 redirects within the origin', async () => {
    server.knobs.set('/loop', { location: '/loop' });

    const report = await runSmokeTests(single({ path: '/loop' }), localDeps());

    expect(report.results[0].failures).toEqual(['more than 5 redirects, the last to /loop']);
    expect(server.hits.get('GET /loop')).toBe(6);
  });
});

describe('SmokeTestEvent', () => {
  it('takes the smoke tests as ValidateInput judged them, without parsing the configuration again', () => {
    const event = smokeEvent(seedSuite(server.baseUrl));
    const parsed = SmokeTestEvent.parse(event);

    expect(parsed.config).toBe(event.config);
  });

  it('fails when the phase is unknown', () => {
    const event = smokeEvent(seedSuite(server.baseUrl));

    expect(SmokeTestEvent.safeParse({ ...event, phase: 'bake' }).success).toBe(false);
  });
});
