import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EmulatedAws } from './emulated-aws';
import { inspect } from './inspect';
import { IMAGE } from './world';

// The synthesized stack (ECS + RDS instance) deployed into moto, run by moto's interpreter, every Task served by
// its bundle from cdk.out with its own role's credentials: one scenario per end state the README promises.
describe('the deployed runbook on emulated AWS (ECS service + RDS instance)', { timeout: 120_000 }, () => {
  let aws: EmulatedAws;
  const deployV2 = { action: 'deploy', version: 'v2', image: IMAGE('v2'), requestedBy: 'ci' };

  beforeAll(async () => {
    aws = await EmulatedAws.start();
  }, 300_000);

  afterAll(async () => {
    await aws?.stop();
  });

  afterEach(async () => {
    // Every call of every function and of the state machine was allowed by its synthesized policy, and the
    // smoke-test password never left Secrets Manager.
    expect(aws.denied()).toEqual([]);
    expect(aws.host.logsContaining(aws.app.password)).toEqual([]);
    expect(JSON.stringify(await aws.world.notifications())).not.toContain(aws.app.password);
  });

  it('deploys v2: snapshot, rollout, migrations, smoke tests, bake, release recorded, lock released', async () => {
    await aws.deploy('instance');
    aws.app.versions = { v1: {}, v2: {} };
    const ended = await aws.run(deployV2);
    expect([ended.status, ended.end], ended.cause ?? '').toEqual(['SUCCEEDED', 'DeploymentSucceeded']);
    expect(ended.states).toEqual(expect.arrayContaining(['TakeSnapshot', 'RecordBackup', 'Deploy', 'StartMigrations', 'SmokeTest', 'EvaluateAlarms', 'RecordRelease']));
    const look = inspect(aws);
    expect(await look.runningTag()).toBe('v2');
    expect((await look.lock())?.state).toBe('released');
    expect((await look.ledger())?.current?.version).toBe('v2');
    expect(await look.manualSnapshots()).toEqual([expect.stringMatching(/^deploy-runbook-shop-/)]);
    expect(await look.keys()).toEqual(expect.arrayContaining([expect.stringMatching(/^reports\/shop\/.+\.json$/), expect.stringMatching(/^backups\/shop\/.+\.json$/)]));
    expect(aws.app.requests.filter((r) => r.path === '/health').map((r) => r.version)).toContain('v2');
    expect(JSON.stringify(ended.events)).not.toContain(aws.app.password);
  });

  it('fails InvalidInput on a bad version, before any lock, snapshot or deploy', async () => {
    await aws.deploy('instance');
    const ended = await aws.run({ action: 'deploy', version: '../v2', image: IMAGE('v2') });
    expect([ended.status, ended.error]).toEqual(['FAILED', 'InvalidInput']);
    expect(ended.cause).toContain('version');
    expect(ended.states).not.toContain('AcquireLock');
    // The validator's bundle reports the routed error under its source name, not a minified one.
    expect(aws.host.invocations.map((i) => (i.result as { errorType?: string }).errorType)).toContain('InvalidInputError');
    const look = inspect(aws);
    expect(await look.lock()).toBeNull();
    expect(await look.manualSnapshots()).toEqual([]);
    expect(await look.runningTag()).toBe('v1');
  });
});
