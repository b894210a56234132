import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSmokeTests } from '../../../../core/tasks/smoke-test/smoke-test';
import { localDeps, smokeEvent } from './fixtures';
import { type SeedServer, startSeedServer } from './seed-server';

let server: SeedServer;

beforeAll(async () => {
  server = await startSeedServer();
});
afterAll(async () => {
  await server.close();
});

// Printable ASCII with the characters each encoding rewrites (quotes, backslash, slash, %, &, +, <, >, space), trimmed at the ends
// because HTTP trims header values.
const edge = `A-Za-z0-9"'\\\\/%&+<>=?#@!$^_~\\-`;
const secretValue = fc.stringMatching(new RegExp(`^[${edge}][${edge} ]{10,30}[${edge}]$`));

/** The forms a leaked value would take inside the JSON of the report. */
function leaks(json: string, value: string): string[] {
  const forms = [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)];
  return forms.filter((form) => json.includes(form));
}

describe('redaction', () => {
  it('never lets a secret or a captured token into the report, even when the server echoes them in failing responses', async () => {
    await fc.assert(
      fc.asyncProperty(secretValue, secretValue, secretValue, fc.constantFrom('text', 'json'), fc.boolean(), async (apiKey, password, token, format, passingLogin) => {
        fc.pre(new Set([apiKey, password, token]).size === 3);
        server.reset();
        server.password = password;
        server.token = token;
        const echo = format === 'json' ? '/echo?status=500&format=json' : '/echo?status=500';
        const login = { method: 'POST', path: '/api/auth/login', body: { email: 'smoke-test@example.com', password: '{{secrets.PASSWORD}}' } };
        // Without the passing login, the failing one below is the only check that sees the token: its capture alone must mask it.
        const loggedIn = passingLogin
          ? [
              { name: 'login', ...login, capture: { session: '$.token' } },
              { name: 'echo token', path: echo, headers: { Authorization: 'Bearer {{vars.session}}' } },
            ]
          : [];
        const suite = {
          baseUrl: server.baseUrl,
          secrets: { API_KEY: { env: 'API_KEY' }, PASSWORD: { env: 'PASSWORD' } },
          checks: [
            ...loggedIn,
            // Captures the token, then fails on another assertion: the response it quotes holds the token.
            { name: 'login judged wrong', ...login, capture: { token: '$.token' }, expect: { json: [{ path: '$.user.email', equals: 'nobody@example.com' }] } },
            // Fails on the token it gets back and captures nothing: the failure message quotes it.
            { name: 'login again', method: 'POST', path: '/api/auth/login', body: { password: '{{secrets.PASSWORD}}' }, expect: { json: [{ path: '$.token', equals: 'nope' }] } },
            { name: 'echo key', method: 'POST', path: echo, headers: { Authorization: 'Bearer {{secrets.API_KEY}}' }, body: { password: '{{secrets.PASSWORD}}' } },
            { name: 'expects key', path: '/health', expect: { json: [{ path: '$.status', equals: '{{secrets.API_KEY}}' }] } },
          ],
        };

        const report = await runSmokeTests(smokeEvent(suite), localDeps({ API_KEY: apiKey, PASSWORD: password }));
        const json = JSON.stringify(report);
        const result = (name: string) => report.results.find((r) => r.name === name);

        expect(report.results.map((r) => r.passed)).toEqual([...(passingLogin ? [true, false] : []), false, false, false, false]);
        // The echoes really happened and were masked, so the property is not vacuous.
        expect(result('login judged wrong')?.failures.at(-1)).toMatch(/^response: \{"token":"\*\*\*"/);
        expect(result('echo key')?.failures.at(-1)).toMatch(/^response: .*\*\*\*.*\*\*\*/);
        if (passingLogin) expect(result('echo token')?.failures.at(-1)).toMatch(/^response: .*\*\*\*/);
        expect(leaks(json, apiKey)).toEqual([]);
        expect(leaks(json, password)).toEqual([]);
        expect(leaks(json, token)).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });
});
