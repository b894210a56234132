import { randomInt } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { SecretsManagerSource } from '../../adapters/aws/secrets-manager-source';
import type { CliIo } from '../../cli/io';
import { main } from '../../cli/main';
import { parseConfig } from '../../config/load';
import type { RunbookConfigInput } from '../../config/schema';
import type { TaskCall } from '../../local/engine/engine';
import { freePort } from '../../local/free-port';
import { rehearse } from '../../local/rehearsal/rehearse';
import { SCENARIOS } from '../../local/rehearsal/scenarios';

/*
 * Canary secrets: a distinct random value planted in every place a secret comes from — the smoke tests' secret
 * from the environment and from Secrets Manager, a token the app hands out and one captured by a failing check,
 * the header secret of a Prometheus analysis metric — while the app echoes each back as it is, in base64 (also
 * inside `Basic base64(user:secret)`) and cut short. Then every channel the runbook writes to is searched for
 * any of those forms: the CLI's stdout and stderr (plain and --json), the GitHub step summary, every file of the
 * rehearsal's workspace (the evidence report and its charts, notifications, the lock and its note, the ledger,
 * backups, the rehearsal log) and the execution's state data (every Task's Parameters, result and error, its
 * events, output and cause).
 */

/** What every Task was given and returned, and every error it threw: the execution's state data, as Step Functions logs it at level ALL. */
const stateData = vi.hoisted(() => [] as unknown[]);

vi.mock('../../local/engine/engine', async (importOriginal) => {
  const engine = await importOriginal<typeof import('../../local/engine/engine')>();
  return {
    ...engine,
    runRunbook: async (options: Parameters<typeof engine.runRunbook>[0]) => {
      const handler = async (call: TaskCall) => {
        stateData.push({ state: call.state, parameters: call.event });
        try {
          const result = await options.handler(call);
          stateData.push({ state: call.state, result });
          return result;
        } catch (error) {
          stateData.push({ state: call.state, error: (error as Error).name, cause: (error as Error).message });
          throw error;
        }
      };
      const execution = await engine.runRunbook({ ...options, handler });
      stateData.push(execution);
      return execution;
    },
  };
});

/** The Secrets Manager the rehearsal's smoke tests read `{secretsManager}` references from: the AWS adapter over a fake client. */
const secretsManager = vi.hoisted(() => ({ secrets: {} as Record<string, string> }));

vi.mock('../../local/rehearsal/local-ports', async (importOriginal) => {
  const local = await importOriginal<typeof import('../../local/rehearsal/local-ports')>();
  return {
    ...local,
    buildLocalPorts: (...args: Parameters<typeof local.buildLocalPorts>) => {
      const built = local.buildLocalPorts(...args);
      const client = { send: async (command: { input: { SecretId: string } }) => ({ SecretString: secretsManager.secrets[command.input.SecretId] }) };
      const fromSecretsManager = new SecretsManagerSource(client as unknown as SecretsManagerClient);
      const fromEnv = built.ports.secrets;
      const secrets = { resolve: (ref: Parameters<typeof fromEnv.resolve>[0]) => ('secretsManager' in ref ? fromSecretsManager.resolve(ref) : fromEnv.resolve(ref)) };
      return { ...built, ports: { ...built.ports, secrets } };
    },
  };
});

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
/** 32 random characters: even their first 8 never occur in ordinary output. */
const canaryValue = () => Array.from({ length: 32 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');

interface Canaries {
  /** The smoke tests' login password. */
  readonly password: string;
  /** The token the app's login answers with; the smoke tests capture it from a passing check. */
  readonly loginToken: string;
  /** The session the app's broken profile answers with; the smoke tests capture it from the failing check. */
  readonly sessionToken: string;
  /** The Prometheus header secret of the analysis metric. */
  readonly promToken: string;
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** How the app echoes a value: as it is, in base64 alone and inside `user:value`, and cut short, plain and encoded. */
const ECHOES = `
const b64 = (text) => Buffer.from(text, 'utf8').toString('base64');
const echoes = (value) => [value, b64(value), b64(value).replaceAll('+', '-').replaceAll('/', '_'), 'Basic ' + b64('user:' + value), value.slice(0, 12), b64(value).slice(0, 16)].join(' | ');
`;

/**
 * The app the rehearsal deploys: v1 runs first and is rolled back to; v2 is deployed. Login checks the password
 * and hands out a token; the profile is fine on v2 and, on v1, fails with a session token and every secret it saw
 * echoed; the Prometheus API answers v1's queries only with the header secret, and v2's with an error echoing it.
 */
function appSource(canaries: Canaries): string {
  return `import { createServer } from 'node:http';
${ECHOES}
const version = process.env.APP_VERSION;
const password = process.env.CANARY_SMOKE_PASSWORD;
const promAuth = 'Bearer ' + process.env.CANARY_PROM_TOKEN;
const LOGIN_TOKEN = ${JSON.stringify(canaries.loginToken)};
const SESSION_TOKEN = ${JSON.stringify(canaries.sessionToken)};
let passwordSeen = '';
const send = (res, status, body, type = 'application/json') => {
  res.writeHead(status, { 'content-type': type });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};
createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  const url = new URL(req.url, 'http://app');
  const auth = req.headers.authorization ?? '';
  if (url.pathname === '/ready' || url.pathname === '/health') return send(res, 200, { status: 'healthy', version });
  if (url.pathname === '/metrics') return send(res, 200, '# no series\\n', 'text/plain');
  if (url.pathname === '/login') {
    const given = JSON.parse(body || '{}').password ?? '';
    if (given !== password) return send(res, 401, { error: 'invalid credentials, got ' + echoes(given) });
    passwordSeen = given;
    return send(res, 200, { token: LOGIN_TOKEN });
  }
  if (url.pathname === '/profile') {
    if (version === 'v2') return send(res, 200, { status: 'ok', session: SESSION_TOKEN });
    const token = auth.replace(/^Bearer /, '');
    return send(res, 500, { status: 'broken', session: SESSION_TOKEN, echo: [echoes(SESSION_TOKEN), echoes(token), echoes(passwordSeen)].join(' || ') });
  }
  if (url.pathname === '/api/v1/query') {
    if (auth !== promAuth) return send(res, 401, { status: 'error', errorType: 'unauthorized', error: 'bad credentials ' + echoes(auth) });
    if (version === 'v2') return send(res, 400, { status: 'error', errorType: 'bad_data', error: 'rejected header ' + echoes(auth) + ' / ' + echoes(auth.replace(/^Bearer /, '')) });
    return send(res, 200, { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [Date.now() / 1000, '1'] }] } });
  }
  send(res, 404, { error: 'not found' });
}).listen(Number(process.env.PORT), '127.0.0.1');
`;
}

/** The runbook of that app: `password` is where the smoke tests' secret comes from. */
function canaryConfig(appFile: string, port: number, password: Record<string, string>): RunbookConfigInput {
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    name: 'canary-app',
    target: { kind: 'process', command: ['node', appFile], port, readyPath: '/ready' },
    smokeTests: {
      baseUrl,
      requestTimeoutMs: 5000,
      secrets: { PASSWORD: password as never },
      checks: [
        {
          name: 'login',
          method: 'POST',
          path: '/login',
          body: { email: 'smoke@example.com', password: '{{secrets.PASSWORD}}' },
          expect: { json: [{ path: '$.token', exists: true }] },
          capture: { token: '$.token' },
        },
        {
          name: 'profile',
          path: '/profile',
          headers: { Authorization: 'Bearer {{vars.token}}' },
          expect: { status: 200, json: [{ path: '$.status', equals: 'ok' }] },
          capture: { session: '$.session' },
        },
      ],
    },
    alarms: { kind: 'prometheus', metricsUrl: `${baseUrl}/metrics`, rules: [] },
    analysis: {
      secrets: { PROM: { env: 'CANARY_PROM_TOKEN' } },
      metrics: [
        {
          name: 'canary-errors',
          provider: { kind: 'prometheus', url: baseUrl, query: 'sum(rate(http_errors_total[1m]))', headers: { Authorization: 'Bearer {{secrets.PROM}}' } },
          failureCondition: 'result > 100',
          consecutiveErrorLimit: 0,
        },
      ],
    },
    bake: { durationSeconds: 10, pollSeconds: 5 },
  };
}

/** Every form of a canary that must not appear: its first 8 characters, and those of each base64 form the app sends. */
function forms(value: string): string[] {
  const shapes = [value, b64(value), b64(`user:${value}`).slice(Math.ceil((5 * 8) / 6))].map((form) => form.slice(0, 8));
  return [...new Set(shapes.flatMap((form) => [form, form.replaceAll('+', '-').replaceAll('/', '_')]))];
}

/** The canaries (by name) and forms of them found in `text`. */
function leaksIn(text: string, canaries: Canaries): string[] {
  return Object.entries(canaries).flatMap(([name, value]) => forms(value).filter((form) => text.includes(form)).map((form) => `${name} as "${form}"`));
}

/** Every file under `dir`, by path, with its text. */
async function filesUnder(dir: string): Promise<Map<string, string>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = new Map<string, string>();
  for (const entry of entries.filter((e) => e.isFile())) {
    const path = join(entry.parentPath, entry.name);
    files.set(path, await readFile(path, 'utf8'));
  }
  return files;
}

/** Which channels leak: channel name → canaries found. */
function leakingChannels(channels: ReadonlyMap<string, string>, canaries: Canaries): Record<string, string[]> {
  return Object.fromEntries([...channels].map(([name, text]) => [name, leaksIn(text, canaries)]).filter(([, leaks]) => leaks.length > 0));
}

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** A fresh set of canaries, the app serving them and its configuration file. */
async function plant(password: Record<string, string>) {
  const canaries: Canaries = { password: canaryValue(), loginToken: canaryValue(), sessionToken: canaryValue(), promToken: canaryValue() };
  const dir = await tempDir('canary-app-');
  const appFile = join(dir, 'app.mjs');
  await writeFile(appFile, appSource(canaries));
  const port = await freePort();
  const config = canaryConfig(appFile, port, password);
  const configFile = join(dir, 'runbook.json');
  await writeFile(configFile, JSON.stringify(config));
  const env: NodeJS.ProcessEnv = { ...process.env, CANARY_SMOKE_PASSWORD: canaries.password, CANARY_PROM_TOKEN: canaries.promToken };
  delete env.GITHUB_STEP_SUMMARY;
  delete env.DATABASE_URL;
  return { canaries, dir, config, configFile, env };
}

/** The execution went through every channel: the metric's query error rolled v2 back, and v1 failed the profile check. */
function expectEveryChannelUsed(files: ReadonlyMap<string, string>, workdir: string): void {
  const named = (pattern: RegExp) => [...files].filter(([path]) => pattern.test(path.slice(workdir.length)));
  const report = named(/\/reports\/.*\.md$/);
  expect(report, 'the evidence report').toHaveLength(1);
  expect(report[0][1]).toContain('canary-errors');
  expect(report[0][1]).toContain('profile');
  expect(named(/\/reports\/.*\.svg$/), "the metric's chart beside the report").toHaveLength(1);
  const lock = named(/\/locks\/canary-app\.json$/);
  expect(JSON.parse(lock[0][1])).toMatchObject({ state: 'stuck', note: expect.stringContaining('profile') });
  expect(named(/\/notifications\//).map(([, text]) => text).join('')).toContain('rollback failed');
  expect(named(/\/ledger\//)).not.toEqual([]);
  const verified = stateData.filter((entry) => (entry as { state?: string }).state === 'VerifyRollback' && Object.hasOwn(entry as object, 'result'));
  expect(verified, 'VerifyRollback ran the checks').toHaveLength(1);
  expect((verified[0] as { result: { summary: string } }).result.summary).toContain('profile (status 500, expected 200)');
}

describe('canary secrets planted in every source appear in no output', { timeout: 120_000 }, () => {
  beforeEach(() => {
    stateData.length = 0;
  });

  it.each([
    ['--json', ['--json']],
    ['plain', []],
  ])('deploy-runbook rehearse %s: smoke secret from the environment, captured tokens, Prometheus header secret', async (_name, flags) => {
    const { canaries, dir, configFile, env } = await plant({ env: 'CANARY_SMOKE_PASSWORD' });
    const workdir = join(dir, 'work');
    const summary = join(dir, 'step-summary.md');
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      env: { ...env, GITHUB_STEP_SUMMARY: summary },
      cwd: dir,
      aws: () => {
        throw new Error('a rehearsal calls no AWS service');
      },
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      now: () => new Date(),
    };

    const code = await main(['rehearse', ...flags, '--config', configFile, '--workdir', workdir, '--wait-ms', '100'], io);

    expect(code, stderr).toBe(4);
    expect(stdout + stderr).toContain('RollbackFailed');
    if (flags.includes('--json')) expect(JSON.parse(stdout)).toMatchObject({ outcome: 'failed', error: 'RollbackFailed' });
    const files = await filesUnder(workdir);
    expectEveryChannelUsed(files, workdir);
    const channels = new Map([
      ['stdout', stdout],
      ['stderr', stderr],
      ['GitHub step summary', await readFile(summary, 'utf8')],
      ['state data', JSON.stringify(stateData)],
      ...[...files].map(([path, text]) => [path.slice(workdir.length), text] as [string, string]),
    ]);
    expect(leakingChannels(channels, canaries)).toEqual({});
  });

  it('a rehearsal whose smoke secret comes from Secrets Manager', async () => {
    const { canaries, dir, config, env } = await plant({ secretsManager: 'canary/smoke', jsonKey: 'password' });
    secretsManager.secrets['canary/smoke'] = JSON.stringify({ password: canaries.password });
    const workdir = join(dir, 'work');
    const lines: string[] = [];

    const result = await rehearse({
      config: parseConfig(config),
      scenario: SCENARIOS[0],
      workdir,
      waitMs: 100,
      env,
      onEvent: (event) => lines.push(JSON.stringify(event)),
      announce: (line) => lines.push(line),
    });

    expect(result.execution.error).toBe('RollbackFailed');
    const files = await filesUnder(workdir);
    expectEveryChannelUsed(files, workdir);
    const channels = new Map([
      ['progress and announcements', lines.join('\n')],
      ['rehearsal result', JSON.stringify(result)],
      ['state data', JSON.stringify(stateData)],
      ...[...files].map(([path, text]) => [path.slice(workdir.length), text] as [string, string]),
    ]);
    expect(leakingChannels(channels, canaries)).toEqual({});
  });

  it('finds a canary planted in any form the app echoes', () => {
    const canaries: Canaries = { password: canaryValue(), loginToken: canaryValue(), sessionToken: canaryValue(), promToken: canaryValue() };
    const { promToken } = canaries;
    for (const echo of [promToken, b64(promToken), `Basic ${b64(`user:${promToken}`)}`, promToken.slice(0, 12), b64(promToken).slice(0, 16)]) {
      expect(leakingChannels(new Map([['a log', `… ${echo} …`]]), canaries), echo).not.toEqual({});
    }
  });
});
