import { DBInstanceAlreadyExistsFault, InvalidDBSnapshotStateFault } from '@aws-sdk/client-rds';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { RESTORED_FROM_TAG, beginRestore } from '../../../adapters/aws/restore-progress';
import {
  advanceRestore,
  checkSnapshotBeforeRestore,
  createOnce,
  finishWhenAvailable,
  isOwnRestore,
  verifyRestored,
} from '../../../adapters/aws/restore-steps';
import { RestoreFailedError } from '../../../core/errors';
import type { RestoreState } from '../../../core/model';
import { INSTANCE_ID, SNAPSHOT_ID, TestClock, snapshotRef } from './rds-fixtures';

const $metadata = {};
const snapshot = snapshotRef();
const START = '2025-03-14T09:26:53.000Z';

describe('advanceRestore', () => {
  const steps = { capture: async (state: RestoreState) => ({ ...state, phase: 'next' }), next: async (state: RestoreState) => ({ ...state, phase: 'done' }) };

  it('starts a new restore at capture', async () => {
    const clock = new TestClock(START);
    const next = await advanceRestore(snapshot, null, clock, 'example restore', steps);
    expect(next).toEqual({ ...beginRestore(snapshot, new Date(START)), phase: 'next' });
  });

  it('runs the step of the current phase only', async () => {
    const capture = vi.fn(steps.capture);
    const current = { ...beginRestore(snapshot, new Date(START)), phase: 'next' };
    expect((await advanceRestore(snapshot, current, new TestClock(), 'example restore', { ...steps, capture })).phase).toBe('done');
    expect(capture).not.toHaveBeenCalled();
  });

  it('returns a finished restore as it is', async () => {
    const done = { ...beginRestore(snapshot, new Date(START)), phase: 'done' };
    expect(await advanceRestore(snapshot, done, new TestClock(), 'example restore', steps)).toBe(done);
  });

  it('fails when the phase is not one of its steps, inherited property names included', async () => {
    const phases = fc.oneof(fc.constantFrom('constructor', 'toString', '__proto__', 'hasOwnProperty', 'restore-cluster'), fc.string({ minLength: 1 }));
    await fc.assert(
      fc.asyncProperty(phases.filter((phase) => phase !== 'done' && !Object.hasOwn(steps, phase)), async (phase) => {
        const state = { ...beginRestore(snapshot, new Date(START)), phase };
        await expect(advanceRestore(snapshot, state, new TestClock(), 'example restore', steps)).rejects.toThrow(
          new RestoreFailedError(`restore.phase "${phase}" is not a step of an example restore`),
        );
      }),
    );
  });
});

describe('checkSnapshotBeforeRestore', () => {
  const names = { noun: 'snapshot', notFound: 'DBSnapshotNotFound' };

  it('accepts an available snapshot of the original', () => {
    expect(() => checkSnapshotBeforeRestore({ status: 'available', source: INSTANCE_ID }, SNAPSHOT_ID, names, 'DB instance', INSTANCE_ID)).not.toThrow();
  });

  it.each([
    [undefined, `snapshot ${SNAPSHOT_ID} does not exist (DBSnapshotNotFound): nothing was changed`],
    [{ status: 'creating', source: INSTANCE_ID }, `snapshot ${SNAPSHOT_ID} is in status "creating", not "available": nothing was changed`],
    [{ status: 'available', source: 'shop-staging-db' }, `snapshot ${SNAPSHOT_ID} was taken from DB instance "shop-staging-db", not "${INSTANCE_ID}": nothing was changed`],
  ])('fails when the snapshot is %j, saying nothing was changed', (found, message) => {
    expect(() => checkSnapshotBeforeRestore(found, SNAPSHOT_ID, names, 'DB instance', INSTANCE_ID)).toThrow(new RestoreFailedError(message));
  });
});

describe('finishWhenAvailable', () => {
  const state = { ...beginRestore(snapshot, new Date(START)), phase: 'wait-available' };
  const names = { creating: `the restored DB instance ${INSTANCE_ID}`, ready: INSTANCE_ID };

  it('moves on once the database is available', () => {
    const next = finishWhenAvailable(state, 'available', names, 'verify', new TestClock('2025-03-14T09:30:00.000Z'));
    expect(next).toMatchObject({ phase: 'verify', steps: [{ phase: 'wait-available', at: '2025-03-14T09:30:00.000Z', detail: `${INSTANCE_ID} is available` }] });
  });

  it.each([undefined, 'creating', 'backing-up', 'modifying'])('keeps waiting while the status is %s', (status) => {
    expect(finishWhenAvailable(state, status, names, 'verify', new TestClock())).toBe(state);
  });

  it('fails when the status will not change by waiting', () => {
    expect(() => finishWhenAvailable(state, 'storage-full', names, 'verify', new TestClock())).toThrow(
      new RestoreFailedError(`the restored DB instance ${INSTANCE_ID} is in status "storage-full"`),
    );
  });
});

describe('isOwnRestore', () => {
  it('is false when the name is free and true when the database carries this snapshot', () => {
    expect(isOwnRestore(undefined, `DB instance ${INSTANCE_ID}`, SNAPSHOT_ID)).toBe(false);
    expect(isOwnRestore({ TagList: [{ Key: RESTORED_FROM_TAG, Value: SNAPSHOT_ID }] }, `DB instance ${INSTANCE_ID}`, SNAPSHOT_ID)).toBe(true);
  });

  it('fails when another database holds the name', () => {
    expect(() => isOwnRestore({ TagList: [{ Key: RESTORED_FROM_TAG, Value: 'deploy-runbook-shop-api-older' }] }, `DB instance ${INSTANCE_ID}`, SNAPSHOT_ID)).toThrow(
      new RestoreFailedError(`DB instance ${INSTANCE_ID} exists again but was not restored from snapshot ${SNAPSHOT_ID}: refusing to touch it`),
    );
  });
});

describe('createOnce', () => {
  const call = (created: () => Promise<boolean>, create: () => Promise<unknown>) =>
    createOnce({ created, create, alreadyExistsFault: 'DBInstanceAlreadyExistsFault', target: INSTANCE_ID, snapshotId: SNAPSHOT_ID });

  it('makes the call when nothing was created yet', async () => {
    const create = vi.fn(async () => ({}));
    expect(await call(async () => false, create)).toBe('created');
    expect(create).toHaveBeenCalledOnce();
  });

  it('does not make the call again when an earlier call created it', async () => {
    const create = vi.fn(async () => ({}));
    expect(await call(async () => true, create)).toBe('already-created');
    expect(create).not.toHaveBeenCalled();
  });

  it('recognises its own earlier call when RDS reported the name free at first', async () => {
    const created = vi.fn<() => Promise<boolean>>().mockResolvedValueOnce(false).mockResolvedValueOnce(true);
    const taken = new DBInstanceAlreadyExistsFault({ message: `DB instance ${INSTANCE_ID} already exists`, $metadata });
    expect(await call(created, async () => Promise.reject(taken))).toBe('already-created');
  });

  it('fails when the name is taken by something this restore did not create', async () => {
    const taken = new DBInstanceAlreadyExistsFault({ message: `DB instance ${INSTANCE_ID} already exists`, $metadata });
    await expect(call(async () => false, async () => Promise.reject(taken))).rejects.toThrow(
      new RestoreFailedError(`cannot restore ${INSTANCE_ID} from ${SNAPSHOT_ID}: DBInstanceAlreadyExistsFault: DB instance ${INSTANCE_ID} already exists`),
    );
  });

  it('fails with the restore error RDS caused, naming the target and snapshot', async () => {
    const fault = new InvalidDBSnapshotStateFault({ message: 'Snapshot is not available', $metadata });
    await expect(call(async () => false, async () => Promise.reject(fault))).rejects.toThrow(
      `cannot restore ${INSTANCE_ID} from ${SNAPSHOT_ID}: InvalidDBSnapshotStateFault: Snapshot is not available`,
    );
  });
});

describe('verifyRestored', () => {
  const what = `the restored DB instance ${INSTANCE_ID}`;
  const healthy = { status: 'available', tags: [{ Key: RESTORED_FROM_TAG, Value: SNAPSHOT_ID }], hasEndpoint: true, kmsKeyId: 'key-1' };

  it('accepts an available, tagged, reachable database on the expected key', () => {
    expect(() => verifyRestored(what, healthy, { snapshotId: SNAPSHOT_ID, kmsKeyId: 'key-1' }, [])).not.toThrow();
    expect(() => verifyRestored(what, { ...healthy, kmsKeyId: undefined }, { snapshotId: SNAPSHOT_ID, kmsKeyId: undefined }, [])).not.toThrow();
  });

  it('fails naming every problem, the restorer\'s own between the common ones and the key', () => {
    const broken = { status: 'modifying', tags: [], hasEndpoint: false, kmsKeyId: 'key-2' };
    expect(() => verifyRestored(what, broken, { snapshotId: SNAPSHOT_ID, kmsKeyId: 'key-1' }, ['class is "db.t4g.small", not "db.r6g.large"'])).toThrow(
      new RestoreFailedError(
        `${what} failed verification: status is "modifying"; tag ${RESTORED_FROM_TAG} is "missing"; it has no endpoint; ` +
          'class is "db.t4g.small", not "db.r6g.large"; KMS key is "key-2", not "key-1"',
      ),
    );
  });
});
