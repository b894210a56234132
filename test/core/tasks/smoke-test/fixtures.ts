import { SmokeTests } from '../../../../config/schema';
import { EnvSecretSource } from '../../../../adapters/env-secret-source';
import type { Clock } from '../../../../core/ports/clock';
import type { SmokeTestDeps, SmokeTestEvent } from '../../../../core/tasks/smoke-test/smoke-test';

export const SMOKE_PASSWORD = 'Test123!@#';

/** The seed runbook's hand-run smoke tests (health with version, db health, login → token → protected, 401, latency). */
export function seedSuite(baseUrl: string) {
  return {
    baseUrl,
    concurrency: 4,
    requestTimeoutMs: 2000,
    secrets: { SMOKE_PASSWORD: { env: 'SMOKE_PASSWORD' } },
    checks: [
      {
        name: 'health',
        path: '/health',
        expect: {
          json: [
            { path: '$.status', equals: 'healthy' },
            { path: '$.version', equals: '{{version}}' },
          ],
          maxLatencyMs: 500,
        },
      },
      {
        name: 'database health',
        path: '/api/health/db',
        expect: {
          json: [
            { path: '$.database', equals: 'connected' },
            { path: '$.latency_ms', exists: true },
          ],
          maxLatencyMs: 500,
        },
      },
      {
        name: 'login',
        method: 'POST' as const,
        path: '/api/auth/login',
        body: { email: 'smoke-test@example.com', password: '{{secrets.SMOKE_PASSWORD}}' },
        expect: { json: [{ path: '$.token', matches: '^tok-' }] },
        capture: { token: '$.token' },
      },
      { name: 'verify token', path: '/api/auth/verify', headers: { Authorization: 'Bearer {{vars.token}}' } },
      {
        name: 'profile',
        path: '/api/users/me',
        headers: { Authorization: 'Bearer {{vars.token}}' },
        expect: {
          json: [
            { path: '$.email', equals: 'smoke-test@example.com' },
            { path: '$.roles', equals: ['smoke'] },
          ],
        },
      },
      { name: 'protected without token', path: '/api/users/me', expect: { status: 401 } },
      { name: 'performance baseline', path: '/api/health', expect: { maxLatencyMs: 200, bodyContains: '"status":"healthy"' } },
    ],
  };
}

/** An event as the SmokeTest state sends it, with the smoke tests parsed (defaults filled) as LoadConfig would. */
export function smokeEvent(smokeTests: unknown, overrides: Partial<Omit<SmokeTestEvent, 'config'>> = {}): SmokeTestEvent {
  return { phase: 'deploy', expectedVersion: '1.0.0', ...overrides, config: { smokeTests: SmokeTests.parse(smokeTests) } };
}

/** A clock that advances a fixed step on every reading. */
export function steppingClock(start = '2025-12-22T23:47:12.000Z', stepMs = 250): Clock {
  let now = Date.parse(start);
  return {
    now: () => {
      const current = new Date(now);
      now += stepMs;
      return current;
    },
  };
}

export function localDeps(env: NodeJS.ProcessEnv = { SMOKE_PASSWORD }): SmokeTestDeps {
  return { secrets: new EnvSecretSource(env), clock: steppingClock() };
}
