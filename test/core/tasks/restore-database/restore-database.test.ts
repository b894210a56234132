import { describe, expect, it } from 'vitest';
import type { DatabaseRestorer, ScratchRestorer } from '../../../../core/ports/database-restorer';
import { RestoreDatabaseEvent, runRestoreDatabase } from '../../../../core/tasks/restore-database/restore-database';
import { RestoreFailedError } from '../../../../core/errors';
import type { RestoreState, SnapshotRef } from '../../../../core/model';
import { FakeRds } from '../../../adapters/aws/fake-rds';
import { RdsInstanceRestorer } from '../../../../adapters/aws/rds-restorer';
import { INSTANCE_ID, KMS_KEY, SNAPSHOT_ID, TestClock, auroraConfig, config, deployment, execution, rdsDatabase, snapshotRef } from '../../../adapters/aws/rds-fixtures';

const clock = new TestClock('2025-03-14T10:00:00.000Z');

/** A restorer that walks through fixed phases, recording what it was given; it sets none of the bookkeeping. */
class ScriptedRestorer implements DatabaseRestorer {
  readonly received: Array<RestoreState | null> = [];
  constructor(private readonly phases: string[]) {}
  async advance(_snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState> {
    this.received.push(state);
    const index = state?.phase ? this.phases.indexOf(state.phase) + 1 : 0;
    return {
      restored: false,
      decision: 'restoring',
      phase: this.phases[index],
      failedCopy: 'shop_failed_20250314100000',
      snapshotId: null,
      steps: [...(state?.steps ?? []), { phase: this.phases[index], at: clock.now().toISOString(), detail: 'step' }],
      startedAt: null,
      finishedAt: null,
    };
  }
}

function event(restore: RestoreState | null, snapshot: SnapshotRef = snapshotRef(), runbookConfig = config()): RestoreDatabaseEvent {
  return RestoreDatabaseEvent.parse({ config: runbookConfig, deployment, snapshot, restore, execution });
}

describe('runRestoreDatabase', () => {
  it('starts the restore from an empty slot and stamps the bookkeeping any restorer may leave out', async () => {
    const restorer = new ScriptedRestorer(['swap', 'done']);
    const first = await runRestoreDatabase(event(null), { restorer, clock });
    expect(restorer.received).toEqual([null]);
    expect(first).toMatchObject({ restored: false, decision: 'restoring', phase: 'swap', snapshotId: SNAPSHOT_ID, startedAt: '2025-03-14T10:00:00.000Z', finishedAt: null });
  });

  it('marks the restore restored and finished when the restorer reaches done', async () => {
    const restorer = new ScriptedRestorer(['swap', 'done']);
    const first = await runRestoreDatabase(event(null), { restorer, clock });
    const last = await runRestoreDatabase(event(first), { restorer, clock });
    expect(last).toMatchObject({ restored: true, decision: 'restored', phase: 'done', failedCopy: 'shop_failed_20250314100000', startedAt: '2025-03-14T10:00:00.000Z', finishedAt: '2025-03-14T10:00:00.000Z' });
    expect(last.steps).toHaveLength(2);
  });

  it('returns a finished restore as it is, without calling the restorer', async () => {
    const restorer = new ScriptedRestorer(['done']);
    const done = { ...(await runRestoreDatabase(event(null), { restorer, clock })) };
    expect(await runRestoreDatabase(event(done), { restorer, clock })).toEqual(done);
    expect(restorer.received).toHaveLength(1);
  });

  it('fails when the snapshot is of another kind than the configured database', async () => {
    const restorer = new ScriptedRestorer(['done']);
    await expect(runRestoreDatabase(event(null, snapshotRef(), auroraConfig()), { restorer, clock })).rejects.toThrow(
      new RestoreFailedError(`snapshot ${SNAPSHOT_ID} is a rds-instance snapshot but config.database.kind is aurora-cluster`),
    );
    expect(restorer.received).toEqual([]);
  });

  it('fails when the snapshot is not available', async () => {
    const restorer = new ScriptedRestorer(['done']);
    await expect(runRestoreDatabase(event(null, snapshotRef({ status: 'failed' })), { restorer, clock })).rejects.toThrow(
      `snapshot ${SNAPSHOT_ID} is "failed", not "available": it cannot be restored`,
    );
    expect(restorer.received).toEqual([]);
  });

  it('fails when the configuration has no database', async () => {
    const restorer = new ScriptedRestorer(['done']);
    await expect(runRestoreDatabase(event(null, snapshotRef(), config({ database: null })), { restorer, clock })).rejects.toThrow(RestoreFailedError);
  });

  it('carries the restorer state through the state machine slot, JSON and all', async () => {
    const rds = new FakeRds();
    rds.instances.set(INSTANCE_ID, { DBInstanceIdentifier: INSTANCE_ID, DBInstanceStatus: 'available', DBInstanceClass: 'db.t4g.medium', KmsKeyId: KMS_KEY });
    rds.snapshots.set(SNAPSHOT_ID, { DBSnapshotIdentifier: SNAPSHOT_ID, DBInstanceIdentifier: INSTANCE_ID, Status: 'available', KmsKeyId: KMS_KEY });
    const restorer = new RdsInstanceRestorer(rds.client, rdsDatabase, clock);
    let restore: RestoreState | null = null;
    for (let call = 0; call < 20 && restore?.phase !== 'done'; call += 1) {
      // Step Functions hands the previous result back as JSON.
      const slot: RestoreState | null = restore === null ? null : JSON.parse(JSON.stringify(restore));
      restore = await runRestoreDatabase(event(slot), { restorer, clock });
      rds.tick();
    }
    expect(restore).toMatchObject({ phase: 'done', restored: true, decision: 'restored', snapshotId: SNAPSHOT_ID });
    expect(rds.instances.get(INSTANCE_ID)?.DBInstanceStatus).toBe('available');
  });
});

describe('runRestoreDatabase for the restore drill', () => {
  /** The scratch restorer's calls, by operation, and what it answers. */
  class ScriptedScratch implements ScratchRestorer {
    readonly calls: string[] = [];
    async restoreScratch(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState> {
      this.calls.push(`restore ${state?.phase ?? 'null'}`);
      return { restored: false, decision: 'restoring', phase: state ? 'done' : 'restore', failedCopy: null, scratch: 'shop_drill_20250314100000', snapshotId: snapshot.id, steps: [], startedAt: null, finishedAt: null };
    }
    async discardScratch(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState> {
      this.calls.push(`discard ${state?.scratch ?? 'null'}`);
      return { ...(state ?? { restored: false, decision: 'restoring', failedCopy: null, snapshotId: snapshot.id, steps: [], startedAt: null, finishedAt: null }), phase: 'discarded' };
    }
  }
  const drillEvent = (operation: 'drill' | 'discard-drill', restore: RestoreState | null) => ({ ...event(restore), operation });

  it.each([
    ['drill', null, 'restore null', { phase: 'restore', restored: false, decision: 'restoring', scratch: 'shop_drill_20250314100000' }],
    ['drill', { phase: 'restore' }, 'restore restore', { phase: 'done', restored: true, decision: 'restored', finishedAt: '2025-03-14T10:00:00.000Z' }],
    ['discard-drill', { phase: 'done', scratch: 'shop_drill_20250314100000' }, 'discard shop_drill_20250314100000', { phase: 'discarded' }],
    ['discard-drill', null, 'discard null', { phase: 'discarded' }],
  ] as const)('%s from %j calls the scratch restorer (%s), never the rename-swap', async (operation, previous, call, expected) => {
    const restorer = new ScriptedRestorer(['swap', 'done']);
    const scratch = new ScriptedScratch();
    const restore = previous && ({ restored: false, decision: 'restoring', failedCopy: null, snapshotId: SNAPSHOT_ID, steps: [], startedAt: null, finishedAt: null, ...previous } as RestoreState);
    const result = await runRestoreDatabase(drillEvent(operation, restore), { restorer, scratch, clock });
    expect(scratch.calls).toEqual([call]);
    expect(restorer.received).toEqual([]);
    expect(result).toMatchObject(expected);
  });

  it('fails when asked for a drill where no scratch restorer exists (AWS), saying so, before touching anything', async () => {
    const restorer = new ScriptedRestorer(['swap', 'done']);
    const attempt = runRestoreDatabase(drillEvent('drill', null), { restorer, clock });
    await expect(attempt).rejects.toThrow(RestoreFailedError);
    await expect(runRestoreDatabase(drillEvent('drill', null), { restorer, clock })).rejects.toThrow(/a restore drill of an RDS instance .*database\.connection .*which is not set/);
    expect(restorer.received).toEqual([]);
  });
});
