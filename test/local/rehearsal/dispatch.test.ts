import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { handler as databaseSnapshotHandler } from '../../../lambdas/database-snapshot/handler';
import { handler as deployTargetHandler } from '../../../lambdas/deploy-target/handler';
import { handler as deploymentLockHandler } from '../../../lambdas/deployment-lock/handler';
import { handler as evaluateAlarmsHandler } from '../../../lambdas/evaluate-alarms/handler';
import { handler as ledgerHandler } from '../../../lambdas/ledger/handler';
import { handler as migrationsHandler } from '../../../lambdas/migrations/handler';
import { handler as notifyHandler } from '../../../lambdas/notify/handler';
import { handler as preflightHandler } from '../../../lambdas/preflight/handler';
import { handler as restoreDatabaseHandler } from '../../../lambdas/restore-database/handler';
import { snapshotIdFor } from '../../../core/tasks/database-snapshot/snapshot-id';
import { deploymentIdFor } from '../../../core/deployment-id';
import { DeploymentFailedError, InvalidInputError } from '../../../core/errors';
import { handler as smokeTestHandler } from '../../../lambdas/smoke-test/handler';
import { handler as validateInputHandler } from '../../../lambdas/validate-input/handler';
import { APPROVAL_ACTIVITY, runRunbook, type TaskCall } from '../../../local/engine/engine';
import { createDispatcher, RehearsalInterruptedError, ROUTES } from '../../../local/rehearsal/dispatch';
import type { LocalPorts } from '../../../local/rehearsal/local-ports';
import { FUNCTION_PLACEHOLDERS, functionFolder } from '../../../statemachines/definition';
import { lambdaContext } from '../../lambdas/ledger/lambda-context';
import { FakeAlarms, fakeConfig, fakePorts, useHealthyServer, useTempDirs } from './fake-ports';

const baseUrl = useHealthyServer();
const tempDir = useTempDirs();

/** The handlers the dispatcher stands in for, by folder. */
const HANDLERS: Record<string, unknown> = {
  'validate-input': validateInputHandler,
  'deployment-lock': deploymentLockHandler,
  preflight: preflightHandler,
  'database-snapshot': databaseSnapshotHandler,
  'deploy-target': deployTargetHandler,
  migrations: migrationsHandler,
  'smoke-test': smokeTestHandler,
  'evaluate-alarms': evaluateAlarmsHandler,
  ledger: ledgerHandler,
  'restore-database': restoreDatabaseHandler,
  notify: notifyHandler,
};

/** Runs the real runbook with the dispatcher over `ports`, recording every call it served. */
async function rehearseWith(ports: LocalPorts, version = 'v2') {
  const calls: TaskCall[] = [];
  const { handle } = createDispatcher(ports);
  const result = await runRunbook({
    config: fakeConfig(baseUrl()),
    input: { version },
    executionName: `dispatch-${version}`,
    handler: (call) => {
      calls.push(call);
      return handle(call);
    },
  });
  return { result, calls, folders: new Set(calls.map((call) => call.folder)) };
}

describe('the rehearsal dispatcher', () => {
  it('serves every function folder of the definition, and nothing else', () => {
    expect(Object.keys(ROUTES).sort()).toEqual(FUNCTION_PLACEHOLDERS.map(functionFolder).sort());
  });

  it('deploys through every task of the runbook, each folder calling its function with the local ports', async () => {
    const fakes = fakePorts(await tempDir());

    const { result, folders } = await rehearseWith(fakes.ports);

    expect(result.status).toBe('SUCCEEDED');
    expect(fakes.target.calls).toEqual(['preflight', 'current', 'deploy v2', 'status v2']);
    expect(fakes.backups.created).toEqual([snapshotIdFor('demo-app', deploymentIdFor(result.executionName, result.executionId))]);
    expect(fakes.migrator.started).toEqual(['v2']);
    // The baseline, then the bake's two evaluations.
    expect(fakes.alarms.readings).toBe(3);
    expect(fakes.notifier.events).toEqual(['started', 'succeeded']);
    expect(JSON.parse((await fakes.ports.store.get('locks/demo-app.json'))?.body.toString() ?? '{}')).toMatchObject({ state: 'released', version: 'v2' });
    expect(JSON.parse((await fakes.ports.store.get('ledger/demo-app.json'))?.body.toString() ?? '{}')).toMatchObject({ current: { version: 'v2', previous: { version: 'v1' } } });
    expect([...folders].sort()).toEqual(Object.keys(ROUTES).filter((folder) => folder !== 'restore-database').sort());
  });

  it('rolls back and restores through restore-database when an alarm fires in the bake', async () => {
    const fakes = fakePorts(await tempDir(), new FakeAlarms(1));

    const { result, folders } = await rehearseWith(fakes.ports);

    expect(result).toMatchObject({ status: 'FAILED', error: 'RolledBack' });
    expect(fakes.target.calls.slice(-2)).toEqual(['rollback v1', 'status v1']);
    expect(fakes.restorer.phases).toEqual([null, 'swap']);
    expect(folders.has('restore-database')).toBe(true);
    expect(fakes.notifier.events).toEqual(['started', 'rolled-back']);
  });

  it.each(Object.keys(HANDLERS))('fails on an invalid %s event with the ParseError its handler throws, touching nothing', async (folder) => {
    const fakes = fakePorts(await tempDir());
    const event = { operation: 'unknown-operation', config: { name: 'x' } };

    const local = await createDispatcher(fakes.ports)
      .handle({ state: 'AnyState', folder, event })
      .then(() => null, (error: unknown) => error as Error);
    const handler = HANDLERS[folder] as (event: unknown, context: Context) => Promise<unknown>;
    const lambda = await handler(event, lambdaContext(`deploy-runbook-${folder}`)).then(() => null, (error: unknown) => error as Error);

    expect(local).toMatchObject({ name: 'ParseError', message: 'Failed to parse schema' });
    expect({ name: local?.name, message: local?.message }).toEqual({ name: lambda?.name, message: lambda?.message });
    expect(fakes.target.calls).toEqual([]);
  });

  // Issue 12, item 4: --rollback-approval plays the person asked before an automatic rollback.
  describe('the rollback approval', () => {
    const request = { kind: 'rollback-approval', execution: 'arn:aws:states:us-east-1:000000000000:execution:deploy-runbook:r', target: 'demo-app', version: 'v2', rollbackTo: 'v1', reason: 'SmokeTestFailed' };
    const waiting = { state: 'AwaitRollbackApproval', folder: APPROVAL_ACTIVITY, event: request };

    it.each([
      ['approve', { approved: true, by: 'deploy-runbook rehearse', comment: 'rehearsal: roll back after SmokeTestFailed' }],
      ['reject', { approved: false, by: 'deploy-runbook rehearse', comment: 'rehearsal: keep v2' }],
    ] as const)('answers %s as deploy-runbook approve would, touching no port', async (answer, expected) => {
      const fakes = fakePorts(await tempDir());

      expect(await createDispatcher(fakes.ports, { rollbackApproval: answer }).handle(waiting)).toEqual(expected);
      expect(fakes.target.calls).toEqual([]);
    });

    it('lets the wait time out as Step Functions would, with States.Timeout', async () => {
      const fakes = fakePorts(await tempDir());

      await expect(createDispatcher(fakes.ports, { rollbackApproval: 'timeout' }).handle(waiting)).rejects.toMatchObject({ name: 'States.Timeout' });
    });

    it('fails when nobody was told how to answer, and never answers a restore approval', async () => {
      const fakes = fakePorts(await tempDir());
      const restore = { state: 'AwaitRestoreApproval', folder: APPROVAL_ACTIVITY, event: { kind: 'restore-approval', execution: request.execution, target: 'demo-app', snapshot: 's' } };

      await expect(createDispatcher(fakes.ports).handle(waiting)).rejects.toMatchObject({ name: 'InvalidInputError', message: 'AwaitRollbackApproval waits for a person, and nobody answers a rollback approval without --rollback-approval in a rehearsal' });
      await expect(createDispatcher(fakes.ports, { rollbackApproval: 'approve' }).handle(restore)).rejects.toMatchObject({ name: 'InvalidInputError', message: 'AwaitRestoreApproval waits for a person, and nobody answers this approval in a rehearsal' });
    });
  });

  it("keeps a port's error and its name, which the state machine's Catch matches", async () => {
    const fakes = fakePorts(await tempDir());
    const failure = new DeploymentFailedError('circuit breaker triggered: 3 tasks failed to start');
    fakes.target.deployError = failure;

    const { result, calls } = await rehearseWith(fakes.ports);

    const deploy = calls.find((call) => call.state === 'Deploy');
    await expect(createDispatcher(fakes.ports).handle(deploy as TaskCall)).rejects.toBe(failure);
    expect(result.events).toContainEqual(expect.objectContaining({ type: 'failed', state: 'Deploy', error: 'DeploymentFailedError' }));
    expect(result).toMatchObject({ status: 'FAILED', error: 'RolledBack' });
  });

  it('fails when a task needs a port the configuration leaves out, naming the section', async () => {
    const fakes = fakePorts(await tempDir());
    const { calls } = await rehearseWith(fakes.ports);
    const withoutMigrations = createDispatcher({ ...fakes.ports, migrator: null });

    await expect(withoutMigrations.handle(calls.find((call) => call.state === 'StartMigrations') as TaskCall)).rejects.toThrow(
      new InvalidInputError('migrations was called, but config.migrations is null: this rehearsal has no migrations to work on'),
    );
  });

  it('fails when a state names a folder it does not serve', async () => {
    const fakes = fakePorts(await tempDir());

    await expect(createDispatcher(fakes.ports).handle({ state: 'Mystery', folder: 'mystery', event: {} })).rejects.toThrow(InvalidInputError);
  });

  it('starts no task once the rehearsal was interrupted', async () => {
    const fakes = fakePorts(await tempDir());
    const controller = new AbortController();
    controller.abort('SIGINT');

    const { handle } = createDispatcher(fakes.ports, { signal: controller.signal });
    const result = await runRunbook({ config: fakeConfig(baseUrl()), input: { version: 'v2' }, handler: handle });

    expect(result).toMatchObject({ status: 'FAILED', error: 'ValidationUnavailable' });
    expect(result.cause).toContain(RehearsalInterruptedError.name);
    expect(fakes.target.calls).toEqual([]);
  });

  it('tells when the task in flight has finished', async () => {
    const fakes = fakePorts(await tempDir());
    let finish: () => void = () => undefined;
    fakes.target.preflight = () => new Promise((resolve) => (finish = () => resolve([{ name: 'slow', ok: true, detail: 'ready' }])));
    const { calls } = await rehearseWith(fakePorts(await tempDir()).ports);
    const dispatcher = createDispatcher(fakes.ports);
    let settled = false;

    const running = dispatcher.handle(calls.find((call) => call.state === 'Preflight') as TaskCall);
    const waiting = dispatcher.settled().then(() => (settled = true));
    await new Promise(setImmediate);
    expect(settled).toBe(false);
    finish();
    await Promise.all([running, waiting]);

    expect(settled).toBe(true);
  });
});
