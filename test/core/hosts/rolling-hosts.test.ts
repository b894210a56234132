import { describe, expect, it } from 'vitest';
import { DeploymentFailedError, PreflightFailedError } from '../../../core/errors';
import { outputExcerpt } from '../../../core/hosts/host-output';
import { batchesOf, batchSize, decodePlan, encodePlan, MAX_REPORTED_HOSTS, RollingHostsTarget } from '../../../core/hosts/rolling-hosts';
import type { DeployHandle, DeployStatus } from '../../../core/model';
import { FakeFleet } from './fake-fleet';

const clock = { now: () => new Date('2025-03-04T10:00:00.000Z') };
const HOSTS = ['i-0a', 'i-0b', 'i-0c'];
const request = { version: 'v1.5.0', image: null, deploymentId: 'ci-release-1-5-0-0123abcd' };
const previous = { version: 'v1.4.2', image: null, ref: 'v1.4.2' };

function target(fleet: FakeFleet, maxConcurrency: number | string = 1, maxErrors = 0): RollingHostsTarget {
  return new RollingHostsTarget(fleet, { kind: 'ssm-hosts', maxConcurrency, maxErrors }, clock);
}

/** Calls status until it completes or throws, as CheckDeployment's loop would; at most `limit` calls. */
async function pollUntilDone(rolling: RollingHostsTarget, handle: DeployHandle, limit = 20): Promise<DeployStatus> {
  for (let call = 0; call < limit; call++) {
    const status = await rolling.status(handle);
    if (status.status === 'completed') return status;
  }
  throw new Error(`not done after ${limit} status calls`);
}

describe('batch sizes', () => {
  it.each([
    [1, 3, 1],
    [2, 3, 2],
    ['25%', 10, 3],
    ['100%', 3, 3],
    ['1%', 3, 1],
  ] as const)('cuts batches of %s from %i hosts into batches of %i', (maxConcurrency, fleet, size) => {
    expect(batchSize(maxConcurrency, fleet)).toBe(size);
  });

  it('keeps the fleet order and puts the rest in the last batch', () => {
    expect(batchesOf(['a', 'b', 'c', 'd', 'e'], 2)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('writes a plan into the handle ref and reads it back', () => {
    const plan = { phase: 'rollback' as const, batches: [['i-0b'], ['i-0a']] };
    expect(encodePlan(plan)).toBe('rollback:i-0b;i-0a');
    expect(decodePlan(encodePlan(plan))).toEqual(plan);
    expect(decodePlan('rollback:')).toEqual({ phase: 'rollback', batches: [] });
  });
});

describe('RollingHostsTarget: preflight and the running version', () => {
  it('reads the version on every host: the version the rollback reinstalls', async () => {
    expect(await target(new FakeFleet(HOSTS)).current()).toEqual(previous);
  });

  it('fails when the tags select no instance: PreflightFailed, nothing started', async () => {
    const fleet = new FakeFleet([]);
    await expect(target(fleet).current()).rejects.toThrow(new PreflightFailedError('target: no host is selected (instances tagged app=shop-api): nothing to deploy to'));
    expect(await target(fleet).preflight()).toEqual([{ name: 'hosts', ok: false, detail: 'target: no host is selected (instances tagged app=shop-api): nothing to deploy to' }]);
    expect(fleet.started).toEqual([]);
  });

  it('fails when the batch size is larger than the fleet, naming target.maxConcurrency', async () => {
    const checks = await target(new FakeFleet(HOSTS), 5).preflight();
    expect(checks).toContainEqual({ name: 'batch size', ok: false, detail: 'target.maxConcurrency: 5 is larger than the fleet, 3 host(s) instances tagged app=shop-api (got 5)' });
  });

  it('passes a batch size the fleet holds, saying how many batches it makes', async () => {
    const checks = await target(new FakeFleet(HOSTS), '50%').preflight();
    expect(checks.every((check) => check.ok)).toBe(true);
    expect(checks[1].detail).toBe('2 batch(es) of up to 2 host(s); at most 0 failed host(s) tolerated');
  });

  it('fails when the hosts run different versions: one rollback version could not put each back', async () => {
    const fleet = new FakeFleet(HOSTS);
    fleet.running['i-0b'] = 'v1.3.0';
    await expect(target(fleet).current()).rejects.toThrow(/the hosts run different versions \(i-0a v1\.4\.2, i-0b v1\.3\.0, i-0c v1\.4\.2\)/);
  });

  it('fails when a host cannot tell its version, naming it', async () => {
    const fleet = new FakeFleet(HOSTS);
    fleet.running['i-0c'] = null;
    await expect(target(fleet).current()).rejects.toThrow(/target\.current: the running version could not be read on i-0c \(exit 127: command not found\)/);
  });
});

describe('RollingHostsTarget: rolling in batches', () => {
  it('deploys batch after batch, each checked ready before the next starts', async () => {
    const fleet = new FakeFleet(HOSTS);
    const rolling = target(fleet);
    const handle = await rolling.deploy(request);

    expect(handle).toMatchObject({ kind: 'ssm-hosts', ref: 'deploy:i-0a;i-0b;i-0c', version: 'v1.5.0', deploymentId: request.deploymentId });
    expect(fleet.steps()).toEqual(['deploy 1 i-0a']);
    const done = await pollUntilDone(rolling, handle);

    expect(fleet.steps()).toEqual(['deploy 1 i-0a', 'ready 1 i-0a', 'deploy 2 i-0b', 'ready 2 i-0b', 'deploy 3 i-0c', 'ready 3 i-0c']);
    expect(done.detail).toBe('deploy of v1.5.0 done in 3 batch(es): i-0a succeeded: ok; i-0b succeeded: ok; i-0c succeeded: ok');
    expect(Object.values(fleet.running)).toEqual(['v1.5.0', 'v1.5.0', 'v1.5.0']);
  });

  it('starts nothing twice when a status call is repeated (a retried Lambda)', async () => {
    const fleet = new FakeFleet(HOSTS);
    const rolling = target(fleet);
    const handle = await rolling.deploy(request);
    await rolling.deploy(request);
    await pollUntilDone(rolling, handle);
    await rolling.status(handle);

    expect(fleet.steps()).toHaveLength(6);
  });

  it('runs no ready step when none is configured', async () => {
    const fleet = new FakeFleet(HOSTS, undefined, false);
    await pollUntilDone(target(fleet, 2), await target(fleet, 2).deploy(request));
    expect(fleet.steps()).toEqual(['deploy 1 i-0a,i-0b', 'deploy 2 i-0c']);
  });

  it('fails the rollout when the second batch fails its ready check, leaving the third host untouched', async () => {
    const fleet = new FakeFleet(HOSTS, (host, step) => (host === 'i-0b' && step.action.kind === 'ready' ? 'failed' : 'succeeded'));
    const rolling = target(fleet);
    const handle = await rolling.deploy(request);

    const failure = await pollUntilDone(rolling, handle).catch((error: Error) => error);
    expect(failure).toBeInstanceOf(DeploymentFailedError);
    expect((failure as Error).message).toBe(
      'deploy of v1.5.0, batch 2/3 (i-0b): 1 host(s) failed, more than target.maxErrors (0): i-0b failed: ready check failed: exit 1: curl: (7) Failed to connect to 127.0.0.1 port 3000 DB_PASSWORD=***; succeeded: i-0a succeeded: ok; not touched: i-0c',
    );
    expect(fleet.steps()).toEqual(['deploy 1 i-0a', 'ready 1 i-0a', 'deploy 2 i-0b', 'ready 2 i-0b']);
    expect(fleet.running['i-0c']).toBe('v1.4.2');
  });

  it('tolerates failed hosts up to maxErrors, counted over the whole rollout', async () => {
    const fleet = new FakeFleet(HOSTS, (host, step) => (host === 'i-0a' && step.action.kind === 'deploy' ? 'failed' : 'succeeded'));
    const done = await pollUntilDone(target(fleet, 1, 1), await target(fleet, 1, 1).deploy(request));

    expect(done.detail).toMatch(/; failed within target\.maxErrors \(1\): i-0a failed: exit 1/);
    expect(fleet.steps()).toEqual(['deploy 1 i-0a', 'deploy 2 i-0b', 'ready 2 i-0b', 'deploy 3 i-0c', 'ready 3 i-0c']);
    // Issue 12: a successful rollout lists every host for the evidence report, the tolerated failure too, its output masked.
    expect(done.hosts).toEqual([
      { host: 'i-0b', state: 'succeeded', detail: 'ok' },
      { host: 'i-0c', state: 'succeeded', detail: 'ok' },
      { host: 'i-0a', state: 'failed', detail: 'exit 1: curl: (7) Failed to connect to 127.0.0.1 port 3000 DB_PASSWORD=***' },
    ]);
  });

  it('lists each host of a completed rollout, at most MAX_REPORTED_HOSTS, each output cut to its end', async () => {
    const many = Array.from({ length: MAX_REPORTED_HOSTS + 5 }, (_, index) => `i-${String(index).padStart(3, '0')}`);
    const fleet = new FakeFleet(many);
    const done = await pollUntilDone(target(fleet, '100%'), await target(fleet, '100%').deploy(request));

    expect(done.hosts).toHaveLength(MAX_REPORTED_HOSTS);
    expect(done.hosts?.[0]).toEqual({ host: 'i-000', state: 'succeeded', detail: 'ok' });
    expect(JSON.stringify(done).length).toBeLessThan(20_000);
  });
});

describe('RollingHostsTarget: rollback', () => {
  it('reinstalls the previous version on the failed batch first, then the batches before it; the untouched host stays untouched', async () => {
    const fleet = new FakeFleet(HOSTS, (host, step) => (host === 'i-0b' && step.action.kind === 'ready' && step.action.version === 'v1.5.0' ? 'failed' : 'succeeded'));
    const rolling = target(fleet);
    const release = await rolling.deploy(request);
    await pollUntilDone(rolling, release).catch(() => undefined);

    const rollback = await rolling.rollback(previous, release);
    expect(rollback).toMatchObject({ kind: 'ssm-hosts', ref: 'rollback:i-0b;i-0a', version: 'v1.4.2', image: null });
    const done = await pollUntilDone(rolling, rollback);

    expect(fleet.steps().slice(4)).toEqual(['rollback 1 i-0b', 'ready 1 i-0b', 'rollback 2 i-0a', 'ready 2 i-0a']);
    expect(fleet.started.slice(4).every((step) => step.action.version === 'v1.4.2')).toBe(true);
    expect(fleet.running).toEqual({ 'i-0a': 'v1.4.2', 'i-0b': 'v1.4.2', 'i-0c': 'v1.4.2' });
    expect(fleet.started.some((step) => step.hosts.includes('i-0c'))).toBe(false);
    expect(done.detail).toBe('rollback of v1.4.2 done in 2 batch(es): i-0b succeeded: ok; i-0a succeeded: ok');
  });

  it('fails a rollback whose host does not come back: the state machine ends RollbackFailed', async () => {
    const fleet = new FakeFleet(HOSTS, (_host, step) => (step.action.kind === 'ready' ? 'failed' : 'succeeded'));
    const rolling = target(fleet);
    const release = await rolling.deploy(request);
    await pollUntilDone(rolling, release).catch(() => undefined);
    const rollback = await rolling.rollback(previous, release);

    await expect(pollUntilDone(rolling, rollback)).rejects.toThrow(/^rollback of v1\.4\.2, batch 1\/1 \(i-0a\): 1 host\(s\) failed/);
  });

  it('rolls back every selected host when Deploy returned no handle: which were touched is not known', async () => {
    const fleet = new FakeFleet(HOSTS);
    const rollback = await target(fleet, 2).rollback(previous, null);
    expect(rollback.ref).toBe('rollback:i-0a,i-0b;i-0c');
  });

  it("rolls back every selected host for a release from the ledger, whose handle has no deployment id to find the deploy's commands by", async () => {
    const fleet = new FakeFleet(HOSTS);
    const fromLedger: DeployHandle = { kind: 'ssm-hosts', ref: 'deploy:i-0a;i-0b;i-0c', version: 'v1.5.0', image: null, deploymentId: null, startedAt: clock.now().toISOString() };
    const rolling = target(fleet, 2);
    const rollback = await rolling.rollback(previous, fromLedger);

    expect(rollback.ref).toBe('rollback:i-0a,i-0b;i-0c');
    expect(await rolling.status(rollback)).toMatchObject({ status: 'in-progress' });
    expect(fleet.started.length).toBeGreaterThan(0);
  });

  it('completes at once when the deploy touched no host', async () => {
    const fleet = new FakeFleet(HOSTS);
    const untouched: DeployHandle = { kind: 'ssm-hosts', ref: 'deploy:i-0a;i-0b;i-0c', version: 'v1.5.0', image: null, deploymentId: 'other', startedAt: clock.now().toISOString() };
    const rolling = target(fleet);
    const rollback = await rolling.rollback(previous, untouched);

    expect(await rolling.status(rollback)).toMatchObject({ status: 'completed', detail: 'rollback: no host to rollback (none was touched)' });
    expect(fleet.started).toEqual([]);
  });

  it('fails when no version was read before the deploy', async () => {
    await expect(target(new FakeFleet(HOSTS)).rollback({ version: null, image: null, ref: 'none' }, null)).rejects.toThrow(DeploymentFailedError);
  });
});

describe('outputExcerpt', () => {
  it.each([
    ['DB_PASSWORD=hunter2 started', 'DB_PASSWORD=*** started'],
    ['export API_TOKEN="abc.def"', 'export API_TOKEN="***"'],
    ['Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload', 'Authorization: Bearer ***'],
    ['postgres://app:s3cret@db:5432/shop', 'postgres://app:***@db:5432/shop'],
    ['key AKIAIOSFODNN7EXAMPLE used', 'key *** used'],
  ])('masks what looks like a credential: %s', (text, masked) => {
    expect(outputExcerpt(text)).toBe(masked);
  });

  it('keeps the end of a long output, bounded', () => {
    const excerpt = outputExcerpt(`${'x'.repeat(1000)}THE END`, 20);
    expect(excerpt).toBe(`…${'x'.repeat(13)}THE END`);
  });
});
