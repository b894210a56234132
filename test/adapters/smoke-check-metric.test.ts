import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EnvSecretSource } from '../../adapters/env-secret-source';
import { SmokeCheckMetric } from '../../adapters/smoke-check-metric';
import { parseConfig } from '../../config/load';
import type { RunbookConfig, RunbookConfigInput } from '../../config/schema';
import { MetricQueryError } from '../../core/errors';
import { fixedClock } from './aws/deploy-fixtures';
import { exampleInput } from '../lib/fixtures';

const TOKEN = 'session-token-3c9f1e77a2b4';
const PASSWORD = 'hunter2-smoke-canary';

/** The app under test: a health check answering its version, a login, a profile that needs the login's token. */
let server: Server;
let baseUrl: string;
let state: { version: string; profile: 'ok' | 'broken'; requests: string[] };
beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      state.requests.push(`${request.method} ${request.url}`);
      const [status, value] = answer(request.url, request.headers.authorization, body);
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
function answer(url: string | undefined, authorization: string | undefined, body: string): [number, unknown] {
  if (url === '/health') return [200, { status: 'healthy', version: state.version }];
  if (url === '/login') return (JSON.parse(body) as { password?: string }).password === PASSWORD ? [200, { token: TOKEN }] : [401, { error: 'bad password' }];
  if (url !== '/me') return [404, {}];
  if (authorization !== `Bearer ${TOKEN}`) return [401, { error: 'no token' }];
  return state.profile === 'ok' ? [200, { email: 'smoke@example.com' }] : [500, { error: `boom for ${TOKEN}` }];
}

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  state = { version: 'v2', profile: 'ok', requests: [] };
});

function config(checks?: string[]): RunbookConfig {
  return parseConfig({
    ...exampleInput,
    smokeTests: {
      baseUrl,
      secrets: { PASSWORD: { env: 'SMOKE_PASSWORD' } },
      checks: [
        { name: 'health', path: '/health', expect: { json: [{ path: '$.version', equals: '{{version}}' }] } },
        { name: 'login', method: 'POST', path: '/login', body: { password: '{{secrets.PASSWORD}}' }, capture: { token: '$.token' } },
        { name: 'profile', path: '/me', headers: { Authorization: 'Bearer {{vars.token}}' } },
      ],
    },
    analysis: { metrics: [{ name: 'checks-failing', provider: { kind: 'http', ...(checks ? { checks } : {}) }, failureCondition: 'result > 0' }] },
  } as RunbookConfigInput);
}

function query(runbook: RunbookConfig, env: Record<string, string> = { SMOKE_PASSWORD: PASSWORD }): { adapter: SmokeCheckMetric; metric: RunbookConfig['analysis']['metrics'][number] } {
  return { adapter: new SmokeCheckMetric({ smokeTests: runbook.smokeTests, secrets: new EnvSecretSource(env), clock: fixedClock }), metric: runbook.analysis.metrics[0] };
}

describe('the http metric provider (smoke checks re-run at a checkpoint)', () => {
  it('answers 0 when every check passes against the expected version', async () => {
    const { adapter, metric } = query(config());
    expect(await adapter.value(metric, new Date(), { expectedVersion: 'v2' })).toBe(0);
    expect(state.requests).toEqual(['GET /health', 'POST /login', 'GET /me']);
  });

  it('counts the failed checks: the wrong version and a broken profile are two', async () => {
    state.profile = 'broken';
    const { adapter, metric } = query(config());
    expect(await adapter.value(metric, new Date(), { expectedVersion: 'v3' })).toBe(2);
  });

  it('runs only the named checks and the checks whose captures they use, counting only the named ones', async () => {
    state.version = 'v1';
    const { adapter, metric } = query(config(['profile']));
    expect(await adapter.value(metric, new Date(), { expectedVersion: 'v2' })).toBe(0);
    expect(state.requests).toEqual(['POST /login', 'GET /me']);
    state.profile = 'broken';
    expect(await adapter.value(metric, new Date(), { expectedVersion: 'v2' })).toBe(1);
  });

  it('is a query error, naming the variable and never a value, when a secret cannot be read', async () => {
    const { adapter, metric } = query(config(), {});
    const error = await adapter.value(metric, new Date(), { expectedVersion: 'v2' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MetricQueryError);
    expect((error as Error).message).toMatch(/smoke checks could not run: .*SMOKE_PASSWORD/);
    expect(state.requests).toEqual([]);
  });

  it('is refused by validation when it names a check that does not exist', () => {
    expect(() => config(['profile', 'logout'])).toThrow(/analysis\.metrics\[0\]\.provider\.checks\[1\]: names no smoke check: it is not one of smokeTests\.checks \(health, login, profile\) \(got "logout"\)/);
  });
});
