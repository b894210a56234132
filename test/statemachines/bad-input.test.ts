import { describe, expect, it } from 'vitest';
import { AlarmStateUnavailableError } from '../../core/errors';
import { validateInput, type ValidateInputDeps, ValidateInputEvent } from '../../core/tasks/validate-input/validate-input';
import type { TaskCall } from '../../local/engine/engine';
import type { Json } from '../../statemachines/definition';
import { alarmsIn } from '../support/builders';
import { alarmInput, deployInput, ending, happyPath, lambdaAliasConfig, NEW_IMAGE, REPOSITORY, runScripted, type Script, testConfig } from './harness';

const CLOCK = { now: () => new Date('2025-03-04T10:00:00.000Z') };

/** The real ValidateInput logic as the state's handler, parsing its event as the Lambda's middleware would; `alarms` says what an alarm reads. */
const validatingWith =
  (alarms: ValidateInputDeps['alarms']): Script =>
  (call: TaskCall) =>
    validateInput(ValidateInputEvent.parse(call.event), { clock: CLOCK, alarms });
const realValidateInput = validatingWith(alarmsIn('ALARM', '2025-03-04T09:58:00.000Z'));

const release = (changes: Record<string, unknown>): Json => ({ ...(deployInput() as Record<string, Json>), ...changes }) as Json;
const withoutField = (field: string): Json => Object.fromEntries(Object.entries(deployInput() as Record<string, Json>).filter(([key]) => key !== field));

/** What a release plan sends with the rollback of a stage it deployed. */
const PLAN_TRIGGER = { name: 'shop', execution: 'arn:aws:states:eu-west-1:123456789012:execution:ReleasePlan:plan-1', stage: 'staging', version: 'v1.4.2' };

/** A SQL check a release plan's gate may name. */
const BACKFILL_CHECK = { name: 'backfill complete', sql: 'SELECT count(*) FROM messages WHERE replied_to IS NULL', expect: { equals: 0 }, when: ['after-migrations'] };

/** Each bad input, the field the message must name and the value it must quote. */
const BAD_INPUTS: { name: string; input: Json; field: string; value: string }[] = [
  { name: 'a missing version', input: withoutField('version'), field: 'version:', value: 'required' },
  { name: 'a version with a path in it', input: release({ version: '../etc' }), field: 'version:', value: '"../etc"' },
  { name: 'a version with spaces', input: release({ version: 'v1 5 0' }), field: 'version:', value: '"v1 5 0"' },
  { name: 'a 200-character version', input: release({ version: 'v'.repeat(200) }), field: 'version:', value: `"${'v'.repeat(60)}` },
  { name: 'a version that is a number', input: release({ version: 42 }), field: 'version:', value: '(got 42)' },
  { name: 'no image for an ECS target', input: withoutField('image'), field: 'image:', value: 'service shop-api' },
  {
    name: 'an image from another repository',
    input: release({ image: '999999999999.dkr.ecr.eu-west-1.amazonaws.com/other:v1.5.0' }),
    field: 'image:',
    value: '"999999999999.dkr.ecr.eu-west-1.amazonaws.com/other:v1.5.0"',
  },
  { name: 'a malformed image', input: release({ image: 'Shop API:latest' }), field: 'image:', value: '"Shop API:latest"' },
  { name: 'a version the image is not tagged with', input: release({ version: 'v9.9.9' }), field: 'version: must be the tag of the image, "v1.5.0"', value: '(got "v9.9.9")' },
  {
    name: 'an image pinned by digest alone, whose version cannot be checked',
    input: release({ image: `${REPOSITORY}@sha256:${'a'.repeat(64)}` }),
    field: 'image: must carry the version as its tag',
    value: `(got "${REPOSITORY}@sha256:${'a'.repeat(64)}")`,
  },
  { name: 'an unknown field', input: release({ force: true }), field: 'force:', value: 'unknown field (got true)' },
  { name: 'an input over 8 KiB', input: release({ reason: 'r'.repeat(9000) }), field: 'input is', value: 'the limit is 8192' },
  { name: 'an array', input: ['v1.5.0'], field: 'input must be a JSON object', value: '(got ["v1.5.0"])' },
  { name: 'a string', input: 'v1.5.0', field: 'input must be a JSON object', value: '(got "v1.5.0")' },
  { name: 'a rollback for an alarm the target does not watch', input: alarmInput('disk-full'), field: 'alarm.name:', value: '"disk-full"' },
  { name: 'a rollback that names a version', input: { action: 'rollback', version: 'v1.4.2' }, field: 'version:', value: 'unknown field (got "v1.4.2")' },
  {
    name: 'a rollback claiming both an alarm and a release plan',
    input: { ...(alarmInput('shop-api-p95-latency') as Record<string, Json>), plan: PLAN_TRIGGER },
    field: 'plan: a rollback is started by an alarm or by a release plan, not both',
    value: '(got alarm "shop-api-p95-latency" and plan "shop")',
  },
  { name: 'a plan rollback without the version it released', input: { action: 'rollback', plan: { name: 'shop', execution: PLAN_TRIGGER.execution, stage: 'staging' } }, field: 'plan.version:', value: 'required' },
];

describe('bad execution input through the real ValidateInput', () => {
  it.each(BAD_INPUTS.map((row) => [row.name, row] as const))('fails when the input is %s: InvalidInput naming the field and value, nothing else runs', async (_name, row) => {
    const run = await runScripted({ config: testConfig(), input: row.input, tasks: { ValidateInput: realValidateInput } });

    expect(ending(run)).toMatchObject({ status: 'FAILED', terminal: 'InvalidInput', error: 'InvalidInput' });
    const cause = JSON.parse(run.cause ?? 'null') as { errorType: string; errorMessage: string };
    expect(cause.errorType).toBe('InvalidInputError');
    expect(cause.errorMessage).toContain(row.field);
    expect(cause.errorMessage).toContain(row.value);
    expect(run.states).toEqual(['ValidateInput']);
  });

  it('lets a valid release through with the Deployment the real function builds', async () => {
    const run = await runScripted({ config: testConfig(), input: deployInput(), tasks: { ValidateInput: realValidateInput } });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.states).toEqual(happyPath());
    expect(run.log.event('AcquireLock').deployment).toEqual({
      id: expect.stringMatching(/^ci-release-1-5-0-[0-9a-f]{8}$/),
      action: 'deploy',
      target: 'shop-api',
      version: 'v1.5.0',
      image: NEW_IMAGE,
      requestedBy: 'github-actions',
      reason: 'release 1.5.0',
      alarm: null,
      bakeChecks: 3,
      approvalTimeoutSeconds: 3600,
      executionId: run.executionId,
      startedAt: '2025-03-04T10:00:00.000Z',
    });
  });

  it('lets an image tagged with the version and pinned by digest through', async () => {
    const image = `${NEW_IMAGE}@sha256:${'a'.repeat(64)}`;
    const run = await runScripted({ config: testConfig(), input: release({ image }), tasks: { ValidateInput: realValidateInput } });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.log.event('Deploy').deployment.image).toBe(image);
  });

  it('lets a rollback for a watched alarm through to the rollback window check', async () => {
    const run = await runScripted({ config: testConfig(), input: alarmInput('shop-api-p95-latency'), tasks: { ValidateInput: realValidateInput } });

    expect(run.states.slice(0, 3)).toEqual(['ValidateInput', 'AcquireLock', 'CheckRollbackWindow']);
    expect(run.log.event('CheckRollbackWindow').deployment).toMatchObject({ action: 'rollback', version: null, alarm: { name: 'shop-api-p95-latency' } });
  });

  it.each([
    ['a check the runbook does not have', { action: 'check', checks: ['backfill complete', 'backfil'] }, "checks[1]: names no SQL check of this runbook: checks.sql has 'backfill complete' (got 'backfil')"],
    ['no check at all', { action: 'check', checks: [] }, 'checks:'],
    ['a check name with a quote in it', { action: 'check', checks: ["x' OR 1=1"] }, 'checks[0]:'],
  ])("refuses a plan gate's check request naming %s: InvalidInput naming the field, no check runs", async (_name, input, message) => {
    const run = await runScripted({ config: testConfig({ checks: { sql: [BACKFILL_CHECK] } }), input, tasks: { ValidateInput: realValidateInput } });

    expect(ending(run)).toMatchObject({ status: 'FAILED', terminal: 'InvalidInput' });
    expect((JSON.parse(run.cause ?? 'null') as { errorMessage: string }).errorMessage).toContain(message);
    expect(run.states).toEqual(['ValidateInput']);
  });

  it("lets a plan gate's check request through to GateChecks, without the lock, with the checks and the plan it names", async () => {
    const input = { action: 'check', checks: ['backfill complete'], plan: PLAN_TRIGGER, requestedBy: 'release-plan shop' };
    const run = await runScripted({ config: testConfig({ checks: { sql: [BACKFILL_CHECK] } }), input, tasks: { ValidateInput: realValidateInput } });

    expect(run.states).toEqual(['ValidateInput', 'GateChecks']);
    expect(run.terminal).toBe('ChecksPassed');
    expect(run.log.event('GateChecks').names).toEqual(['backfill complete']);
    expect(run.log.event('GateChecks')).not.toHaveProperty('deployment');
  });

  it('lets a release plan\'s rollback through to the rollback window check, with the plan it names', async () => {
    const run = await runScripted({ config: testConfig(), input: { action: 'rollback', plan: PLAN_TRIGGER, requestedBy: 'release-plan shop' }, tasks: { ValidateInput: realValidateInput } });

    expect(run.states.slice(0, 3)).toEqual(['ValidateInput', 'AcquireLock', 'CheckRollbackWindow']);
    expect(run.log.event('CheckRollbackWindow').deployment).toMatchObject({ action: 'rollback', alarm: null, plan: PLAN_TRIGGER });
  });

  // Anyone allowed to start an execution could claim an alarm fired: the alarm source is asked, not the input.
  it.each([
    ['in state OK', alarmsIn('OK', '2025-03-04T09:00:00.000Z'), /alarm\.name: "shop-api-p95-latency" is in state OK since 2025-03-04T09:00:00\.000Z, not ALARM/],
    ['in state INSUFFICIENT_DATA', alarmsIn('INSUFFICIENT_DATA', '2025-03-04T09:00:00.000Z'), /"shop-api-p95-latency" is in state INSUFFICIENT_DATA/],
    ['firing since before the 8 h rollback window', alarmsIn('ALARM', '2025-03-04T01:00:00.000Z'), /"shop-api-p95-latency" is in state ALARM since 2025-03-04T01:00:00\.000Z, longer than the 8 h rollback window/],
  ])('refuses an alarm rollback for an alarm %s: InvalidInput naming it and its state, no lock taken', async (_name, alarms, message) => {
    const validate = validatingWith(alarms);
    const run = await runScripted({ config: testConfig(), input: alarmInput('shop-api-p95-latency'), tasks: { ValidateInput: validate } });

    expect(ending(run)).toMatchObject({ status: 'FAILED', terminal: 'InvalidInput', error: 'InvalidInput' });
    expect((JSON.parse(run.cause ?? 'null') as { errorMessage: string }).errorMessage).toMatch(message);
    expect(run.states).toEqual(['ValidateInput']);
  });

  it('takes the alarm\'s time and reason from the alarm source, not from the input', async () => {
    const alarms = alarmsIn('ALARM', '2025-03-04T09:58:00.000Z', 'Threshold Crossed: 3 datapoints [9.1, 8.7, 9.4] > 1.0');
    const validate = validatingWith(alarms);
    const input = { action: 'rollback', alarm: { name: 'shop-api-p95-latency', reason: 'made up', time: '2025-03-04T09:59:59.000Z' } };
    const run = await runScripted({ config: testConfig(), input, tasks: { ValidateInput: validate } });

    expect(run.log.event('CheckRollbackWindow').deployment.alarm).toEqual({
      name: 'shop-api-p95-latency',
      reason: 'Threshold Crossed: 3 datapoints [9.1, 8.7, 9.4] > 1.0',
      time: '2025-03-04T09:58:00.000Z',
    });
  });

  it('ends ValidationUnavailable, touching nothing, when the alarm cannot be read', async () => {
    const alarms = () => ({ states: async () => Promise.reject(new AlarmStateUnavailableError('could not read CloudWatch alarm states (AccessDenied)')) });
    const validate = validatingWith(alarms);
    const run = await runScripted({ config: testConfig(), input: alarmInput('shop-api-p95-latency'), tasks: { ValidateInput: validate } });

    expect(ending(run)).toMatchObject({ status: 'FAILED', terminal: 'ValidationUnavailable' });
    expect(run.states).toEqual(['ValidateInput']);
  });
});

describe('bad execution input for an ssm-hosts target, whose commands run on the hosts as shell', () => {
  const hostsConfig = () =>
    testConfig({
      target: {
        kind: 'ssm-hosts',
        tags: { app: 'shop-api' },
        deploy: 'docker pull {{image}} && TAG={{version}} docker compose up -d',
        rollback: 'TAG={{version}} docker compose up -d',
        current: 'cat /srv/shop/VERSION',
      },
      migrations: null,
    });

  it.each([
    ['a version carrying a command', release({ version: 'v1.5.0;reboot', image: `${REPOSITORY}:v1.5.0;reboot` }), 'version:', '"v1.5.0;reboot"'],
    ['a version carrying a substitution', release({ version: 'v1.5.0$(id)' }), 'version:', '"v1.5.0$(id)"'],
    ['an image carrying a substitution', release({ image: `${REPOSITORY}:v1.5.0\`id\`` }), 'image:', `"${REPOSITORY}:v1.5.0\`id\`"`],
    ['an image carrying a quote', release({ image: `${REPOSITORY}:v1.5.0' && curl x|sh '` }), 'image:', 'must be an image reference'],
    ['no image when target.deploy uses {{image}}', withoutField('image'), 'image: required: target.deploy uses {{image}}', ''],
  ])('fails when the input is %s: InvalidInput naming the field, before any lock or command', async (_name, input, field, value) => {
    const run = await runScripted({ config: hostsConfig(), input, tasks: { ValidateInput: realValidateInput } });

    expect(ending(run)).toMatchObject({ status: 'FAILED', terminal: 'InvalidInput', error: 'InvalidInput' });
    const cause = JSON.parse(run.cause ?? 'null') as { errorType: string; errorMessage: string };
    expect(cause.errorType).toBe('InvalidInputError');
    expect(cause.errorMessage).toContain(field);
    expect(cause.errorMessage).toContain(value);
    expect(run.states).toEqual(['ValidateInput']);
  });
});

describe('the code of a lambda-alias release through the real ValidateInput', () => {
  const lambda = (image: string | undefined, version = 'v1.5.0'): Json => ({ version, ...(image === undefined ? {} : { image }) });

  it.each([
    ['no package', lambda(undefined), 'image: a lambda-alias target with codeBucket needs the package as s3://shop-artifacts/<key> (got nothing)'],
    ['a package of another bucket', lambda('s3://elsewhere/v1.5.0/function.zip'), '(got "s3://elsewhere/v1.5.0/function.zip")'],
    ['an image for a zip function', lambda('123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-fn:v1.5.0'), 'image: a lambda-alias target with codeBucket'],
    ['a key that does not name the version', lambda('s3://shop-artifacts/latest/function.zip'), 'image: the key must name the version v1.5.0'],
    ['a key naming a longer version', lambda('s3://shop-artifacts/v1.5.01/function.zip'), 'image: the key must name the version v1.5.0'],
  ])('fails for %s: InvalidInput naming the field and value', async (_name, input, message) => {
    const run = await runScripted({ config: lambdaAliasConfig(), input, tasks: { ValidateInput: realValidateInput } });

    expect(ending(run)).toMatchObject({ terminal: 'InvalidInput' });
    expect(JSON.parse(run.cause ?? 'null').errorMessage).toContain(message);
    expect(run.states).toEqual(['ValidateInput']);
  });

  it.each(['s3://shop-artifacts/v1.5.0/function.zip', 's3://shop-artifacts/builds/shop-fn-v1.5.0.zip'])('lets %s through', async (image) => {
    const run = await runScripted({ config: lambdaAliasConfig(), input: lambda(image), tasks: { ValidateInput: realValidateInput } });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.log.event('Deploy')).toMatchObject({ deployment: { version: 'v1.5.0', image } });
  });
});
