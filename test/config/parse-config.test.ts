import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, parseConfig } from '../../config/load';
import { MAX_CONFIG_BYTES } from '../../config/schema';
import { RunbookError } from '../../core/errors';
import rehearsal from '../../examples/rehearsal/runbook.json';
import { type Draft, exampleDraft, exampleWith, fieldsOf, HOOK_ARN, minimalDraft, problemsOf, quickDraft } from './fixtures';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('parseConfig: the shipped configurations', () => {
  it('parses config/example.json as written', () => {
    const config = parseConfig(exampleDraft());

    expect(config).toMatchObject({
      name: 'shop-api',
      target: { kind: 'ecs', cluster: 'shop-prod', service: 'shop-api', family: 'shop-api' },
      database: { kind: 'rds-instance', instanceIdentifier: 'shop-prod-db', restorePolicy: 'when-migrations-ran', restoreApproval: { required: false, timeoutMinutes: 60 } },
      migrations: { kind: 'ecs-task', command: ['npm', 'run', 'migrate:latest'] },
      alarms: { kind: 'cloudwatch', names: ['shop-api-5xx-rate', 'shop-api-p95-latency'], preexisting: 'report' },
      bake: { durationSeconds: 1800, pollSeconds: 60 },
      lock: { leaseMinutes: 365, operatorRoleArns: [] },
    });
    expect(config.smokeTests.checks.map((check) => check.name)).toEqual(['health', 'database health', 'login', 'profile with token', 'protected without token']);
  });

  it('parses examples/rehearsal/runbook.json with its short timeout carried into the lease', () => {
    const config = parseConfig(structuredClone(rehearsal));

    expect(config.executionTimeoutMinutes).toBe(30);
    expect(config.lock.leaseMinutes).toBe(35);
    expect(config.alarms).toEqual({
      kind: 'prometheus',
      metricsUrl: 'http://127.0.0.1:47800/metrics',
      preexisting: 'report',
      rules: [
        { name: 'demo-app-5xx-ratio', metric: 'error-ratio', threshold: 0.01, minRequests: 20 },
        { name: 'demo-app-p95-latency', metric: 'latency-p95', threshold: 500, minRequests: 20 },
      ],
    });
  });
});

describe('parseConfig: defaults', () => {
  it('fills every documented default of a minimal configuration', () => {
    expect(parseConfig(minimalDraft())).toEqual({
      name: 'shop-api',
      target: { kind: 'hook', functionArn: HOOK_ARN },
      database: null,
      migrations: null,
      checks: { sql: [], statementTimeoutSeconds: 30 },
      backup: { fingerprint: { checksumTables: [] }, testRestore: false },
      smokeTests: {
        baseUrl: 'https://api.shop.example.com',
        concurrency: 4,
        requestTimeoutMs: 10_000,
        secrets: {},
        checks: [{ name: 'health', method: 'GET', path: '/health', headers: {}, expect: { status: 200, json: [] }, capture: {}, retries: 0, retryDelayMs: 1000 }],
      },
      alarms: { kind: 'cloudwatch', names: [], preexisting: 'report' },
      analysis: { metrics: [], secrets: {} },
      bake: { durationSeconds: 600, pollSeconds: 60 },
      rollbackWindowHours: 8,
      rollbackApproval: { required: false, timeoutMinutes: 30, onTimeout: 'rollback' },
      notifications: { topics: [] },
      polling: {
        snapshot: { intervalSeconds: 30, maxAttempts: 120 },
        deployment: { intervalSeconds: 15, maxAttempts: 80 },
        migrations: { intervalSeconds: 15, maxAttempts: 120 },
        restore: { intervalSeconds: 30, maxAttempts: 180 },
      },
      executionTimeoutMinutes: 360,
      lock: { leaseMinutes: 365, operatorRoleArns: [] },
    });
  });

  it('fills the defaults of an RDS database: restore when migrations ran, approved by a person within 60 minutes, headroom 1', () => {
    const config = parseConfig({ ...minimalDraft(), database: { kind: 'rds-instance', instanceIdentifier: 'shop-prod-db' } });

    expect(config.database).toEqual({
      kind: 'rds-instance',
      instanceIdentifier: 'shop-prod-db',
      restorePolicy: 'when-migrations-ran',
      restoreApproval: { required: true, timeoutMinutes: 60 },
      snapshotQuotaHeadroom: 1,
    });
  });

  it('fills a partial restoreApproval and a partial polling section field by field', () => {
    const config = parseConfig({
      ...minimalDraft(),
      database: { kind: 'aurora-cluster', clusterIdentifier: 'shop-prod', restoreApproval: { required: true } },
      polling: { restore: { intervalSeconds: 60 } },
    });

    expect(config.database?.restoreApproval).toEqual({ required: true, timeoutMinutes: 60 });
    expect(config.polling.restore).toEqual({ intervalSeconds: 60, maxAttempts: 180 });
    expect(config.polling.snapshot).toEqual({ intervalSeconds: 30, maxAttempts: 120 });
  });

  it('fills the rehearsal kinds: DATABASE_URL, /health as ready path, no env, 10 requests before a rule fires', () => {
    const config = parseConfig({
      ...minimalDraft(),
      target: { kind: 'process', command: ['node', 'server.mjs'], port: 47800 },
      database: { kind: 'postgres' },
      alarms: { kind: 'prometheus', metricsUrl: 'http://127.0.0.1:47800/metrics', rules: [{ name: 'p95', metric: 'latency-p95', threshold: 500 }] },
    });

    expect(config.target).toEqual({ kind: 'process', command: ['node', 'server.mjs'], port: 47800, readyPath: '/health', env: {} });
    expect(config.database).toMatchObject({ kind: 'postgres', urlEnv: 'DATABASE_URL' });
    expect(config.alarms).toEqual({
      kind: 'prometheus',
      metricsUrl: 'http://127.0.0.1:47800/metrics',
      rules: [{ name: 'p95', metric: 'latency-p95', threshold: 500, minRequests: 10 }],
      preexisting: 'report',
    });
  });

  it('defaults alarms to CloudWatch with no names when the section is left out or only names its kind', () => {
    expect(parseConfig(minimalDraft()).alarms).toEqual({ kind: 'cloudwatch', names: [], preexisting: 'report' });
    expect(parseConfig({ ...minimalDraft(), alarms: { kind: 'cloudwatch' } }).alarms).toEqual({ kind: 'cloudwatch', names: [], preexisting: 'report' });
  });

  it('derives the lease from the execution timeout: executionTimeoutMinutes + 5', () => {
    fc.assert(
      fc.property(fc.integer({ min: 5, max: 1440 }), (timeout) => {
        expect(parseConfig({ ...quickDraft(), executionTimeoutMinutes: timeout }).lock.leaseMinutes).toBe(timeout + 5);
      }),
    );
  });

  it('keeps an explicit lease as long as the execution timeout or longer', () => {
    fc.assert(
      fc.property(fc.integer({ min: 5, max: 1440 }), fc.integer({ min: 0, max: 8000 }), (timeout, extra) => {
        const config = parseConfig({ ...quickDraft(), executionTimeoutMinutes: timeout, lock: { leaseMinutes: timeout + extra } });
        expect(config.lock.leaseMinutes).toBe(timeout + extra);
      }),
      { numRuns: 50 },
    );
  });
});

describe('ConfigError', () => {
  it('is a RunbookError named ConfigError whose message names the source and lists each problem', () => {
    let caught: unknown;
    try {
      parseConfig({ ...minimalDraft(), name: 'Shop' }, 'runbook.json');
    } catch (error) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(ConfigError);
    expect(caught).toBeInstanceOf(RunbookError);
    expect(caught).toMatchObject({
      name: 'ConfigError',
      source: 'runbook.json',
      problems: ['name: must be 2-40 lowercase letters, digits or hyphens, starting with a letter (got "Shop")'],
      message: 'runbook.json is not a valid deploy-runbook configuration:\n  - name: must be 2-40 lowercase letters, digits or hyphens, starting with a letter (got "Shop")',
    });
  });

  it('fails when many fields are wrong, listing every one of them at once with the value received', () => {
    const draft = exampleWith((c) => {
      c.name = 'Shop_API';
      c.target.cluster = 42;
      c.database.restorePolicy = 'sometimes';
      c.smokeTests.checks[2].expect.status = 42;
      c.smokeTests.checks[0].method = 'FETCH';
      c.alarms.preexisting = 'ignore';
      c.bake.durationSeconds = 'ten minutes';
      c.rollbackWindowHours = 200;
      c.polling = { snapshot: { intervalSeconds: 0 } };
    });

    expect(problemsOf(draft)).toEqual([
      'name: must be 2-40 lowercase letters, digits or hyphens, starting with a letter (got "Shop_API")',
      'target.cluster: Invalid input: expected string, received number (got 42)',
      'database.restorePolicy: Invalid option: expected one of "never"|"when-migrations-ran"|"always" (got "sometimes")',
      'smokeTests.checks[0].method: Invalid option: expected one of "GET"|"HEAD"|"POST"|"PUT"|"PATCH"|"DELETE" (got "FETCH")',
      'smokeTests.checks[2].expect.status: Too small: expected number to be >=100 (got 42)',
      'alarms.preexisting: Invalid option: expected one of "report"|"block" (got "ignore")',
      'bake.durationSeconds: Invalid input: expected number, received string (got "ten minutes")',
      'rollbackWindowHours: Too big: expected number to be <=168 (got 200)',
      'polling.snapshot.intervalSeconds: Too small: expected number to be >=1 (got 0)',
    ]);
  });

  it('fails when the configuration is not an object, saying what it got', () => {
    expect(problemsOf(null)).toEqual(['(root): Invalid input: expected object, received null (got null)']);
    expect(problemsOf([minimalDraft()])).toEqual([expect.stringMatching(/^\(root\): Invalid input: expected object, received array \(got \[\{"name":"shop-api"/)]);
  });
});

describe('parseConfig: unknown fields', () => {
  /** Where an unknown field can hide, and how to put one there. */
  const LEVELS: [string, (c: Draft) => Draft][] = [
    ['', (c) => c],
    ['target', (c) => c.target],
    ['database', (c) => c.database],
    ['database.restoreApproval', (c) => c.database.restoreApproval],
    ['migrations', (c) => c.migrations],
    ['smokeTests', (c) => c.smokeTests],
    ['smokeTests.secrets.SMOKE_PASSWORD', (c) => c.smokeTests.secrets.SMOKE_PASSWORD],
    ['smokeTests.checks[0]', (c) => c.smokeTests.checks[0]],
    ['smokeTests.checks[0].expect', (c) => c.smokeTests.checks[0].expect],
    ['smokeTests.checks[0].expect.json[1]', (c) => c.smokeTests.checks[0].expect.json[1]],
    ['alarms', (c) => c.alarms],
    ['bake', (c) => c.bake],
    ['notifications', (c) => c.notifications],
    ['polling', (c) => (c.polling = {})],
    ['polling.deployment', (c) => ((c.polling = { deployment: {} }), c.polling.deployment)],
    ['lock', (c) => (c.lock = {})],
  ];

  it.each(LEVELS)('fails when %s has an unknown field, naming it', (level, at) => {
    const draft = exampleDraft();
    at(draft).retryForever = 3;

    const field = level ? `${level}.retryForever` : 'retryForever';
    const shown = level.includes('secrets') ? 'a value that is not shown' : '3';
    expect(problemsOf(draft)).toEqual([`${field}: unknown field (got ${shown})`]);
  });

  it('fails when a field of another kind is used, naming each one', () => {
    const draft = exampleWith((c) => {
      c.target = { kind: 'hook', functionArn: HOOK_ARN, cluster: 'shop-prod', service: 'shop-api' };
      c.migrations = { kind: 'hook', functionArn: HOOK_ARN };
    });

    expect(problemsOf(draft)).toEqual(['target.cluster: unknown field (got "shop-prod")', 'target.service: unknown field (got "shop-api")']);
  });
});

describe('parseConfig: required fields', () => {
  const REQUIRED: [string, (c: Draft) => void, string][] = [
    ['name', (c) => delete c.name, 'name: required (expected string)'],
    ['target', (c) => delete c.target, 'target: required (expected object)'],
    ['target.kind', (c) => delete c.target.kind, "target.kind: required (one of 'ecs', 'hook', 'ssm-hosts', 'lambda-alias', 'command', 'process', 'hosts')"],
    ['target.cluster', (c) => delete c.target.cluster, 'target.cluster: required (expected string)'],
    ['target.passRoleArns', (c) => delete c.target.passRoleArns, 'target.passRoleArns: required (expected array)'],
    ['database.kind', (c) => delete c.database.kind, "database.kind: required (one of 'rds-instance', 'aurora-cluster', 'postgres')"],
    ['database.instanceIdentifier', (c) => delete c.database.instanceIdentifier, 'database.instanceIdentifier: required (expected string)'],
    ['migrations.command', (c) => delete c.migrations.command, 'migrations.command: required (expected array)'],
    ['smokeTests', (c) => delete c.smokeTests, 'smokeTests: required (expected object)'],
    ['smokeTests.baseUrl', (c) => delete c.smokeTests.baseUrl, 'smokeTests.baseUrl: required (expected string)'],
    ['smokeTests.checks', (c) => delete c.smokeTests.checks, 'smokeTests.checks: required (expected array)'],
    ['a check name', (c) => delete c.smokeTests.checks[1].name, 'smokeTests.checks[1].name: required (expected string)'],
    ['a check path', (c) => delete c.smokeTests.checks[1].path, 'smokeTests.checks[1].path: required (expected string)'],
    ['a JSON assertion path', (c) => delete c.smokeTests.checks[0].expect.json[0].path, 'smokeTests.checks[0].expect.json[0].path: required (expected string)'],
    ['alarms.kind', (c) => delete c.alarms.kind, "alarms.kind: required (one of 'cloudwatch', 'prometheus')"],
  ];

  it.each(REQUIRED)('fails when %s is missing, saying "required"', (_field, remove, line) => {
    const draft = exampleDraft();
    remove(draft);

    expect(problemsOf(draft)).toEqual([line]);
  });

  it('fails when a kind is not one of the known kinds, listing them and the value', () => {
    expect(problemsOf(exampleWith((c) => (c.target.kind = 'kubernetes')))).toEqual(["target.kind: must be one of 'ecs', 'hook', 'ssm-hosts', 'lambda-alias', 'command', 'process', 'hosts' (got \"kubernetes\")"]);
  });

  it('fails when smokeTests.checks is empty', () => {
    expect(problemsOf(exampleWith((c) => (c.smokeTests.checks = [])))).toEqual(['smokeTests.checks: Too small: expected array to have >=1 items (got [])']);
  });
});

describe('parseConfig: cross-field rules', () => {
  const RULES: [string, (c: Draft) => void, string][] = [
    [
      'the lease is shorter than the execution timeout',
      (c) => (c.lock = { leaseMinutes: 60 }),
      'lock.leaseMinutes: must be at least executionTimeoutMinutes (360): a shorter lease could be taken over while the execution still runs (got 60)',
    ],
    [
      'ecs-task migrations come with a hook target',
      (c) => (c.target = { kind: 'hook', functionArn: HOOK_ARN }),
      "migrations.kind: 'ecs-task' migrations run a task of the target's ECS service, but target.kind is 'hook'; use 'hook' migrations (got \"ecs-task\")",
    ],
    ['the bake polls less often than it lasts', (c) => (c.bake = { durationSeconds: 300, pollSeconds: 600 }), 'bake.pollSeconds: must not exceed bake.durationSeconds (300) (got 600)'],
    ['the default bake poll exceeds a short bake', (c) => (c.bake = { durationSeconds: 30 }), 'bake.pollSeconds: must not exceed bake.durationSeconds (30) (got nothing)'],
    [
      'two checks share a name',
      (c) => (c.smokeTests.checks[4].name = 'login'),
      "smokeTests.checks[4].name: duplicate check name: smokeTests.checks[2] is already called 'login' (got \"login\")",
    ],
    [
      'a check uses a secret that is not declared',
      (c) => (c.smokeTests.checks[2].body.password = '{{secrets.SMOKE_PASS}}'),
      "smokeTests.checks[2].body.password: uses {{secrets.SMOKE_PASS}} but smokeTests.secrets has no 'SMOKE_PASS' (got a string of 22 characters, not shown)",
    ],
    [
      'a check uses a variable nobody captures',
      (c) => (c.smokeTests.checks[4].path = '/api/users/{{vars.userId}}'),
      "smokeTests.checks[4].path: uses {{vars.userId}} but no earlier check captures 'userId' (got \"/api/users/{{vars.userId}}\")",
    ],
    [
      'a check uses a variable only a later check captures',
      (c) => (c.smokeTests.checks = [c.smokeTests.checks[3], c.smokeTests.checks[2]]),
      "smokeTests.checks[0].headers.Authorization: uses {{vars.token}} but no earlier check captures 'token': it is first captured by smokeTests.checks[1], which runs after this one (got a string of 21 characters, not shown)",
    ],
    [
      'a check uses a variable from its own response',
      (c) => (c.smokeTests.checks[2].path = '/api/auth/login?again={{vars.token}}'),
      "smokeTests.checks[2].path: uses {{vars.token}} but no earlier check captures 'token': this check captures it from its own response, which arrives only after the request is sent (got \"/api/auth/login?again={{vars.token}}\")",
    ],
    [
      'an expected value uses a variable nobody captures',
      (c) => (c.smokeTests.checks[0].expect.json[1].equals = '{{vars.release}}'),
      "smokeTests.checks[0].expect.json[1].equals: uses {{vars.release}} but no earlier check captures 'release' (got \"{{vars.release}}\")",
    ],
    [
      'bodyContains holds a template, which would be matched literally',
      (c) => (c.smokeTests.checks[0].expect.bodyContains = '"version":"{{version}}"'),
      'smokeTests.checks[0].expect.bodyContains: templates are not expanded here, so it would be matched literally; compare expanded values with expect.json and equals (got "\\"version\\":\\"{{version}}\\"")',
    ],
    [
      'a restore approval could outlast the execution',
      (c) => ((c.database.restoreApproval = { required: true, timeoutMinutes: 120 }), (c.executionTimeoutMinutes = 300)),
      'executionTimeoutMinutes: the worst-case waits of the runbook add up to 368.3 min (polling.snapshot 30 s × 119 waits = 59.5 min, polling.deployment 15 s × 79 waits = 19.8 min, polling.migrations 15 s × 119 waits = 29.8 min, bake 30 × bake.pollSeconds 60 s = 30 min, polling.deployment 15 s × 79 waits again for the rollback = 19.8 min, database.restoreApproval.timeoutMinutes 120 min = 120 min, polling.restore 30 s × 179 waits = 89.5 min), longer than the 300 min timeout: the execution would be stopped mid-rollback; raise executionTimeoutMinutes to at least 369 or lower those settings (got 300)',
    ],
    [
      'the loops could outlast the execution timeout (the old defaults: 7.5 h of waits under 6 h)',
      (c) => (c.polling = { snapshot: { maxAttempts: 240 }, deployment: { maxAttempts: 120 }, migrations: { maxAttempts: 240 }, restore: { maxAttempts: 360 } }),
      'executionTimeoutMinutes: the worst-case waits of the runbook add up to 448.3 min (polling.snapshot 30 s × 239 waits = 119.5 min, polling.deployment 15 s × 119 waits = 29.8 min, polling.migrations 15 s × 239 waits = 59.8 min, bake 30 × bake.pollSeconds 60 s = 30 min, polling.deployment 15 s × 119 waits again for the rollback = 29.8 min, polling.restore 30 s × 359 waits = 179.5 min), longer than the 360 min timeout: the execution would be stopped mid-rollback; raise executionTimeoutMinutes to at least 449 or lower those settings (got nothing)',
    ],
    [
      'a 24-hour bake is configured under a 30-minute timeout',
      (c) => ((c.bake = { durationSeconds: 86_400, pollSeconds: 60 }), (c.executionTimeoutMinutes = 30)),
      'executionTimeoutMinutes: the worst-case waits of the runbook add up to 1658.3 min (polling.snapshot 30 s × 119 waits = 59.5 min, polling.deployment 15 s × 79 waits = 19.8 min, polling.migrations 15 s × 119 waits = 29.8 min, bake 1440 × bake.pollSeconds 60 s = 1440 min, polling.deployment 15 s × 79 waits again for the rollback = 19.8 min, polling.restore 30 s × 179 waits = 89.5 min), longer than the 30 min timeout: the execution would be stopped mid-rollback; raise executionTimeoutMinutes to at least 1659 or lower those settings (got 30)',
    ],
    [
      'a long bake polled every 5 seconds could fill the execution history',
      (c) => ((c.bake = { durationSeconds: 43_200, pollSeconds: 5 }), (c.executionTimeoutMinutes = 1440)),
      'bake: the loops can write 84140 history events (polling.snapshot 30 s × 119 waits: 1320, polling.deployment 15 s × 79 waits: 880, polling.migrations 15 s × 119 waits: 1320, bake 8640 × bake.pollSeconds 5 s: 77760, polling.deployment 15 s × 79 waits again for the rollback: 880, polling.restore 30 s × 179 waits: 1980); Step Functions stops an execution at 25000 events and the rest of the runbook needs room, so at most 20000 may go to loops: raise bake.pollSeconds, shorten bake.durationSeconds or lower polling maxAttempts (got {"durationSeconds":43200,"pollSeconds":5})',
    ],
    [
      'polling loops with many attempts could fill the execution history',
      (c) => ((c.polling = { snapshot: { intervalSeconds: 1, maxAttempts: 10_000 } }), (c.executionTimeoutMinutes = 1440)),
      'polling: the loops can write 115330 history events (polling.snapshot 1 s × 9999 waits: 110000, polling.deployment 15 s × 79 waits: 880, polling.migrations 15 s × 119 waits: 1320, bake 30 × bake.pollSeconds 60 s: 270, polling.deployment 15 s × 79 waits again for the rollback: 880, polling.restore 30 s × 179 waits: 1980); Step Functions stops an execution at 25000 events and the rest of the runbook needs room, so at most 20000 may go to loops: raise bake.pollSeconds, shorten bake.durationSeconds or lower polling maxAttempts (got {"snapshot":{"intervalSeconds":1,"maxAttempts":10000}})',
    ],
  ];

  it.each(RULES)('fails when %s, with a precise message', (_rule, edit, line) => {
    expect(problemsOf(exampleWith(edit))).toEqual([line]);
  });

  it('lets the bake poll exceed a zero-length bake (no bake at all)', () => {
    expect(parseConfig({ ...minimalDraft(), bake: { durationSeconds: 0, pollSeconds: 60 } }).bake).toEqual({ durationSeconds: 0, pollSeconds: 60 });
  });

  it('lets a long approval timeout through when no approval is required', () => {
    const config = parseConfig(exampleWith((c) => (c.database.restoreApproval = { required: false, timeoutMinutes: 600 })));
    expect(config.database?.restoreApproval.timeoutMinutes).toBe(600);
  });

  it('accepts a variable captured by any earlier check, not only the one just before', () => {
    const config = parseConfig(exampleWith((c) => c.smokeTests.checks.push({ name: 'orders', path: '/api/orders', headers: { Authorization: 'Bearer {{vars.token}}' } })));
    expect(config.smokeTests.checks).toHaveLength(6);
  });

  it('fails when fields are mistyped AND a cross-field rule is broken, reporting both at once', () => {
    const draft = exampleWith((c) => {
      c.name = 42;
      delete c.smokeTests.checks[0].path;
      c.lock = { leaseMinutes: 10 };
      c.target.kind = 'k8s';
      c.bake = { durationSeconds: 10, pollSeconds: 20 };
      c.smokeTests.checks[4].name = 'health';
      c.smokeTests.checks[3].headers.Authorization = 'Bearer {{secrets.TOKEN}}';
    });

    expect(fieldsOf(problemsOf(draft))).toEqual([
      'name',
      'target.kind',
      'smokeTests.checks[0].path',
      'lock.leaseMinutes',
      'bake.pollSeconds',
      'smokeTests.checks[3].headers.Authorization',
      'smokeTests.checks[4].name',
    ]);
  });

  it('fails when a field a cross-field rule reads is itself invalid, reporting that field alone', () => {
    expect(problemsOf(exampleWith((c) => (c.lock = { leaseMinutes: 'forever' })))).toEqual([
      'lock.leaseMinutes: Invalid input: expected number, received string (got "forever")',
    ]);
  });
});

describe('parseConfig: numbers', () => {
  /** Whole-number fields: they refuse negative and fractional values alike. */
  const WHOLE: [string, (c: Draft, n: number) => void][] = [
    ['bake.durationSeconds', (c, n) => (c.bake.durationSeconds = n)],
    ['executionTimeoutMinutes', (c, n) => (c.executionTimeoutMinutes = n)],
    ['lock.leaseMinutes', (c, n) => (c.lock = { leaseMinutes: n })],
    ['database.snapshotQuotaHeadroom', (c, n) => (c.database.snapshotQuotaHeadroom = n)],
    ['database.restoreApproval.timeoutMinutes', (c, n) => (c.database.restoreApproval.timeoutMinutes = n)],
    ['smokeTests.concurrency', (c, n) => (c.smokeTests.concurrency = n)],
    ['smokeTests.requestTimeoutMs', (c, n) => (c.smokeTests.requestTimeoutMs = n)],
    ['smokeTests.checks[0].retries', (c, n) => (c.smokeTests.checks[0].retries = n)],
    ['smokeTests.checks[0].retryDelayMs', (c, n) => (c.smokeTests.checks[0].retryDelayMs = n)],
    ['smokeTests.checks[0].expect.maxLatencyMs', (c, n) => (c.smokeTests.checks[0].expect.maxLatencyMs = n)],
    ['polling.migrations.maxAttempts', (c, n) => (c.polling = { migrations: { maxAttempts: n } })],
  ];

  it.each(WHOLE)('fails when %s is negative or fractional, naming the value', (field, set) => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: -1_000_000, max: -1 }), fc.double({ min: 1.01, max: 9.99, noNaN: true }).filter((n) => !Number.isInteger(n))), (n) => {
        const draft = exampleDraft();
        set(draft, n);
        const problems = problemsOf(draft);
        expect(problems.some((line) => line.startsWith(`${field}: `) && line.endsWith(`(got ${JSON.stringify(n)})`))).toBe(true);
      }),
      { numRuns: 20 },
    );
  });

  it('fails when a Prometheus threshold is negative, or an error ratio is written as a percentage', () => {
    const draft = structuredClone(rehearsal) as Draft;
    draft.alarms.rules[0].threshold = 1;
    draft.alarms.rules[1].threshold = -500;

    expect(problemsOf(draft)).toEqual([
      'alarms.rules[0].threshold: an error-ratio threshold is a fraction (0.01 = 1 %); 1 or more could never fire (got 1)',
      'alarms.rules[1].threshold: Too small: expected number to be >=0 (got -500)',
    ]);
  });

  it('accepts a fractional rollback window (half an hour) and fails when it is negative', () => {
    expect(parseConfig({ ...minimalDraft(), rollbackWindowHours: 0.5 }).rollbackWindowHours).toBe(0.5);
    expect(problemsOf({ ...minimalDraft(), rollbackWindowHours: -0.5 })).toEqual(['rollbackWindowHours: Too small: expected number to be >=0 (got -0.5)']);
  });
});

describe('parseConfig: size', () => {
  it(`fails when the configuration exceeds ${MAX_CONFIG_BYTES} bytes of JSON, which would not fit in every state's input`, () => {
    const draft = exampleWith((c) => (c.smokeTests.checks[2].body.note = 'n'.repeat(MAX_CONFIG_BYTES)));

    const problems = problemsOf(draft);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^\\(root\\): the configuration is \\d+ bytes of JSON with defaults filled in; at most ${MAX_CONFIG_BYTES} fit`));
  });
});

describe('parseConfig: values in messages', () => {
  it('fails when a value is very long, quoting it cut to one short line', () => {
    const problems = problemsOf(exampleWith((c) => (c.description = `${'a very long description '.repeat(400)}END`)));

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^description: Too big: expected string to have <=512 characters \(got "a very long description a very long.*\.\.\.\)$/);
    expect(problems[0]).not.toContain('END');
    expect(problems[0].length).toBeLessThan(160);
  });

  it('fails when a check misnames a secret, never printing the value behind a reference (the configuration only names the variable)', () => {
    vi.stubEnv('SMOKE_PASSWORD_VALUE', 'correct-horse-battery-staple');
    const draft = exampleWith((c) => {
      c.smokeTests.secrets.SMOKE_PASSWORD = { env: 'SMOKE_PASSWORD_VALUE' };
      c.smokeTests.checks[2].body.password = '{{secrets.SMOKE_PASWORD}}';
      c.name = 'Bad Name';
    });

    let message = '';
    try {
      parseConfig(draft);
    } catch (error) {
      message = (error as ConfigError).message;
    }
    expect(message).toContain("smokeTests.secrets has no 'SMOKE_PASWORD'");
    expect(message).not.toContain('correct-horse-battery-staple');
  });

  it('fails when a secret value is pasted where a reference belongs, without printing the value', () => {
    const problems = problemsOf(exampleWith((c) => (c.smokeTests.secrets.SMOKE_PASSWORD = 'Test123!@#')));

    expect(problems).toEqual(['smokeTests.secrets.SMOKE_PASSWORD: expected object (got a string of 10 characters, not shown)']);
  });

  it('fails when a reference carries a literal value field, naming the field but not its value', () => {
    const problems = problemsOf(exampleWith((c) => (c.smokeTests.secrets.SMOKE_PASSWORD = { value: 'Test123!@#' })));

    expect(problems).toEqual([
      'smokeTests.secrets.SMOKE_PASSWORD.secretsManager: required (expected string)',
      'smokeTests.secrets.SMOKE_PASSWORD.value: unknown field (got a string of 10 characters, not shown)',
    ]);
  });

  it('fails when an Authorization header is wrong, without printing the header value', () => {
    const problems = problemsOf(exampleWith((c) => (c.smokeTests.checks[3].headers.Authorization = `Bearer ${'x'.repeat(5000)}`)));

    expect(problems).toEqual(['smokeTests.checks[3].headers.Authorization: Too big: expected string to have <=4096 characters (got a string of 5007 characters, not shown)']);
  });

  it('fails when the base URL carries a password, masking it in the message', () => {
    const problems = problemsOf(exampleWith((c) => (c.smokeTests.baseUrl = 'https://smoke:Test123!@api.shop.example.com')));

    expect(problems).toEqual([
      'smokeTests.baseUrl: must not contain a user name or password: declare the credential in smokeTests.secrets and send it in a header with {{secrets.NAME}} (got "https://***@api.shop.example.com")',
    ]);
  });
});
