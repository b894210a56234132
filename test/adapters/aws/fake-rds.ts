import {
  CreateDBInstanceCommand,
  type DBCluster,
  DeleteDBClusterCommand,
  DeleteDBInstanceCommand,
  InvalidDBClusterStateFault,
  type DBClusterSnapshot,
  DBClusterAlreadyExistsFault,
  DBClusterNotFoundFault,
  DBClusterSnapshotNotFoundFault,
  type DBInstance,
  DBInstanceAlreadyExistsFault,
  DBInstanceNotFoundFault,
  type DBSnapshot,
  DBSnapshotNotFoundFault,
  DescribeDBClustersCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  ModifyDBClusterCommand,
  ModifyDBInstanceCommand,
  RDSClient,
  RestoreDBClusterFromSnapshotCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import type { DatabaseRestorer } from '../../../core/ports/database-restorer';
import type { RestoreState, SnapshotRef } from '../../../core/model';
import { type TestClock, clientConfig } from './rds-fixtures';

const $metadata = {};
const ENDPOINT_SUFFIX = 'c9akciq32.eu-west-1.rds.amazonaws.com';

/**
 * A small RDS that answers Describe* from what earlier calls did. Renames and restores take effect
 * over `tick()`s, like the minutes between two AdvanceRestore calls, so the tests see every wait.
 */
export class FakeRds {
  readonly client = new RDSClient(clientConfig);
  readonly mock = mockClient(this.client);
  readonly instances = new Map<string, DBInstance>();
  readonly clusters = new Map<string, DBCluster>();
  readonly snapshots = new Map<string, DBSnapshot>();
  readonly clusterSnapshots = new Map<string, DBClusterSnapshot>();
  /** Identifiers the next Describe reports missing, as RDS may just after a change (it is eventually consistent). */
  readonly staleReads = new Set<string>();
  private pending: Array<() => void> = [];

  constructor() {
    const mock = this.mock;
    mock.on(DescribeDBInstancesCommand).callsFake(async ({ DBInstanceIdentifier: id }) => ({ DBInstances: [this.instance(id as string)] }));
    mock.on(DescribeDBClustersCommand).callsFake(async ({ DBClusterIdentifier: id }) => ({ DBClusters: [this.cluster(id as string)] }));
    mock.on(DescribeDBSnapshotsCommand).callsFake(async ({ DBSnapshotIdentifier: id }) => {
      const found = this.snapshots.get(id as string);
      if (!found) throw new DBSnapshotNotFoundFault({ message: `DBSnapshot ${id} not found.`, $metadata });
      return { DBSnapshots: [structuredClone(found)] };
    });
    mock.on(DescribeDBClusterSnapshotsCommand).callsFake(async ({ DBClusterSnapshotIdentifier: id }) => {
      const found = this.clusterSnapshots.get(id as string);
      if (!found) throw new DBClusterSnapshotNotFoundFault({ message: `DBClusterSnapshot ${id} not found.`, $metadata });
      return { DBClusterSnapshots: [structuredClone(found)] };
    });
    mock.on(ModifyDBInstanceCommand).callsFake(async ({ DBInstanceIdentifier: id, NewDBInstanceIdentifier: next }) => this.renameInstance(id as string, next as string));
    mock.on(ModifyDBClusterCommand).callsFake(async ({ DBClusterIdentifier: id, NewDBClusterIdentifier: next }) => this.renameCluster(id as string, next as string));
    mock.on(RestoreDBInstanceFromDBSnapshotCommand).callsFake(async (input) => this.restoreInstance(input));
    mock.on(RestoreDBClusterFromSnapshotCommand).callsFake(async (input) => this.restoreCluster(input));
    mock.on(CreateDBInstanceCommand).callsFake(async (input) => this.createInstance(input));
    mock.on(DeleteDBInstanceCommand).callsFake(async ({ DBInstanceIdentifier: id }) => this.deleteInstance(id as string));
    mock.on(DeleteDBClusterCommand).callsFake(async ({ DBClusterIdentifier: id }) => this.deleteCluster(id as string));
  }

  /** Time passes: every change in flight moves one stage on. */
  tick(): void {
    const due = this.pending;
    this.pending = [];
    for (const change of due) change();
  }

  /** The commands received, in order, as `Name identifier`. */
  callLog(): string[] {
    return this.mock.calls().map((call) => {
      const command = call.args[0] as unknown as { constructor: { name: string }; input: Record<string, unknown> };
      const { DBInstanceIdentifier, DBClusterIdentifier, DBSnapshotIdentifier, DBClusterSnapshotIdentifier } = command.input;
      const id = DBInstanceIdentifier ?? DBClusterIdentifier ?? DBSnapshotIdentifier ?? DBClusterSnapshotIdentifier;
      return `${command.constructor.name.replace(/Command$/, '')} ${String(id)}`;
    });
  }

  /** True when any command received has `fragment` in its name. */
  commandLogContains(fragment: string): boolean {
    return this.callLog().some((entry) => entry.split(' ')[0].includes(fragment));
  }

  /** Inputs of the commands that change something, in order. */
  mutations(): Array<[string, unknown]> {
    return this.mock
      .calls()
      .map((call) => call.args[0] as { constructor: { name: string }; input: unknown })
      .filter((command) => !command.constructor.name.startsWith('Describe'))
      .map((command) => [command.constructor.name.replace(/Command$/, ''), command.input]);
  }

  private instance(id: string): DBInstance {
    const found = this.staleReads.delete(id) ? undefined : this.instances.get(id);
    if (!found) throw new DBInstanceNotFoundFault({ message: `DBInstance ${id} not found.`, $metadata });
    return structuredClone(found);
  }

  private cluster(id: string): DBCluster {
    const found = this.staleReads.delete(id) ? undefined : this.clusters.get(id);
    if (!found) throw new DBClusterNotFoundFault({ message: `DBCluster ${id} not found.`, $metadata });
    return structuredClone(found);
  }

  private renameInstance(id: string, next: string) {
    const instance = this.instances.get(id);
    if (!instance) throw new DBInstanceNotFoundFault({ message: `DBInstance ${id} not found.`, $metadata });
    if (this.instances.has(next)) throw new DBInstanceAlreadyExistsFault({ message: `DB instance ${next} already exists`, $metadata });
    instance.DBInstanceStatus = 'renaming';
    instance.PendingModifiedValues = { DBInstanceIdentifier: next };
    this.pending.push(() => {
      this.instances.delete(id);
      this.instances.set(next, { ...instance, DBInstanceIdentifier: next, PendingModifiedValues: {}, Endpoint: { ...instance.Endpoint, Address: `${next}.${ENDPOINT_SUFFIX}` } });
      for (const cluster of this.clusters.values()) {
        for (const member of cluster.DBClusterMembers ?? []) if (member.DBInstanceIdentifier === id) member.DBInstanceIdentifier = next;
      }
      this.pending.push(() => {
        const renamed = this.instances.get(next);
        if (renamed) renamed.DBInstanceStatus = 'available';
      });
    });
    return { DBInstance: structuredClone(instance) };
  }

  private renameCluster(id: string, next: string) {
    const cluster = this.clusters.get(id);
    if (!cluster) throw new DBClusterNotFoundFault({ message: `DBCluster ${id} not found.`, $metadata });
    if (this.clusters.has(next)) throw new DBClusterAlreadyExistsFault({ message: `DB cluster ${next} already exists`, $metadata });
    cluster.Status = 'renaming';
    cluster.PendingModifiedValues = { DBClusterIdentifier: next };
    this.pending.push(() => {
      this.clusters.delete(id);
      this.clusters.set(next, { ...cluster, DBClusterIdentifier: next, PendingModifiedValues: {}, Endpoint: `${next}.cluster-${ENDPOINT_SUFFIX}` });
      for (const instance of this.instances.values()) if (instance.DBClusterIdentifier === id) instance.DBClusterIdentifier = next;
      this.pending.push(() => {
        const renamed = this.clusters.get(next);
        if (renamed) renamed.Status = 'available';
      });
    });
    return { DBCluster: structuredClone(cluster) };
  }

  private restoreInstance(input: RestoreDBInstanceFromDBSnapshotCommand['input']) {
    const id = input.DBInstanceIdentifier as string;
    const snapshot = this.snapshots.get(input.DBSnapshotIdentifier as string);
    if (!snapshot) throw new DBSnapshotNotFoundFault({ message: `DBSnapshot ${input.DBSnapshotIdentifier} not found.`, $metadata });
    if (this.instances.has(id)) throw new DBInstanceAlreadyExistsFault({ message: `DB instance ${id} already exists`, $metadata });
    const instance: DBInstance = {
      DBInstanceIdentifier: id,
      DBInstanceStatus: 'creating',
      DBInstanceClass: input.DBInstanceClass,
      Engine: snapshot.Engine,
      KmsKeyId: snapshot.KmsKeyId,
      StorageEncrypted: snapshot.Encrypted,
      MultiAZ: input.MultiAZ,
      TagList: input.Tags,
    };
    this.instances.set(id, instance);
    this.pending.push(() => {
      instance.DBInstanceStatus = 'backing-up';
      this.pending.push(() => {
        instance.DBInstanceStatus = 'available';
        instance.Endpoint = { Address: `${id}.${ENDPOINT_SUFFIX}`, Port: input.Port ?? 5432 };
      });
    });
    return { DBInstance: structuredClone(instance) };
  }

  private restoreCluster(input: RestoreDBClusterFromSnapshotCommand['input']) {
    const id = input.DBClusterIdentifier as string;
    const snapshot = this.clusterSnapshots.get(input.SnapshotIdentifier as string);
    if (!snapshot) throw new DBClusterSnapshotNotFoundFault({ message: `DBClusterSnapshot ${input.SnapshotIdentifier} not found.`, $metadata });
    if (this.clusters.has(id)) throw new DBClusterAlreadyExistsFault({ message: `DB cluster ${id} already exists`, $metadata });
    const cluster: DBCluster = {
      DBClusterIdentifier: id,
      Status: 'creating',
      Engine: input.Engine,
      EngineVersion: input.EngineVersion,
      KmsKeyId: input.KmsKeyId ?? snapshot.KmsKeyId,
      StorageEncrypted: snapshot.StorageEncrypted,
      Port: input.Port,
      DBClusterMembers: [],
      TagList: input.Tags,
    };
    this.clusters.set(id, cluster);
    this.pending.push(() => {
      cluster.Status = 'available';
      cluster.Endpoint = `${id}.cluster-${ENDPOINT_SUFFIX}`;
    });
    return { DBCluster: structuredClone(cluster) };
  }

  private createInstance(input: CreateDBInstanceCommand['input']) {
    const id = input.DBInstanceIdentifier as string;
    if (this.instances.has(id)) throw new DBInstanceAlreadyExistsFault({ message: `DB instance ${id} already exists`, $metadata });
    const cluster = this.clusters.get(input.DBClusterIdentifier as string);
    if (!cluster) throw new DBClusterNotFoundFault({ message: `DBCluster ${input.DBClusterIdentifier} not found.`, $metadata });
    const instance: DBInstance = {
      DBInstanceIdentifier: id,
      DBInstanceStatus: 'creating',
      DBInstanceClass: input.DBInstanceClass,
      Engine: input.Engine,
      DBClusterIdentifier: input.DBClusterIdentifier,
      TagList: input.Tags,
    };
    this.instances.set(id, instance);
    cluster.DBClusterMembers = [...(cluster.DBClusterMembers ?? []), { DBInstanceIdentifier: id, IsClusterWriter: (cluster.DBClusterMembers ?? []).length === 0 }];
    this.pending.push(() => {
      instance.DBInstanceStatus = 'available';
    });
    return { DBInstance: structuredClone(instance) };
  }

  /** Status `deleting`, gone (and out of its cluster) one tick later. */
  private deleteInstance(id: string) {
    const instance = this.instances.get(id);
    if (!instance) throw new DBInstanceNotFoundFault({ message: `DBInstance ${id} not found.`, $metadata });
    instance.DBInstanceStatus = 'deleting';
    this.pending.push(() => {
      this.instances.delete(id);
      for (const cluster of this.clusters.values()) cluster.DBClusterMembers = (cluster.DBClusterMembers ?? []).filter((member) => member.DBInstanceIdentifier !== id);
    });
    return { DBInstance: structuredClone(instance) };
  }

  /** As RDS: refused while an instance of the cluster is not deleting. */
  private deleteCluster(id: string) {
    const cluster = this.clusters.get(id);
    if (!cluster) throw new DBClusterNotFoundFault({ message: `DBCluster ${id} not found.`, $metadata });
    const alive = (cluster.DBClusterMembers ?? []).some((member) => this.instances.get(member.DBInstanceIdentifier ?? '')?.DBInstanceStatus !== 'deleting');
    if (alive) throw new InvalidDBClusterStateFault({ message: 'Cluster cannot be deleted, it still contains DB instances in non-deleting state.', $metadata });
    cluster.Status = 'deleting';
    this.pending.push(() => this.clusters.delete(id));
    return { DBCluster: structuredClone(cluster) };
  }
}

/**
 * Drives a restorer the way the state machine does against a FakeRds: `step` is one AdvanceRestore call
 * followed by the Wait state before the next (RDS moves one stage on, the clock 30 seconds).
 */
export function restoreLoop(rds: FakeRds, restorer: DatabaseRestorer, clock: TestClock, snapshot: SnapshotRef, maxCalls: number) {
  const step = async (state: RestoreState | null): Promise<RestoreState> => {
    const next = await restorer.advance(snapshot, state);
    rds.tick();
    clock.advance(30);
    return next;
  };
  /** The state machine's loop: call until done, at most `maxCalls` times. */
  const runToDone = async (from: RestoreState | null = null): Promise<RestoreState[]> => {
    const states: RestoreState[] = [];
    let state = from;
    for (let call = 0; call < maxCalls && state?.phase !== 'done'; call += 1) {
      state = await step(state);
      states.push(state);
    }
    return states;
  };
  /** A new restore, stepped until it reaches `phase`. */
  const runTo = async (phase: string): Promise<RestoreState> => {
    let state = await step(null);
    while (state.phase !== phase) state = await step(state);
    return state;
  };
  /**
   * A call that did its work but whose Lambda died before the result reached the state machine: `calls`
   * steps, the lost call, the Wait before the retry when `waitBeforeRetry`, then the loop from the last state it saw.
   */
  const runWithLostResult = async (calls: number, waitBeforeRetry: boolean): Promise<RestoreState[]> => {
    let state: RestoreState | null = null;
    for (let call = 0; call < calls; call += 1) state = await step(state);
    await restorer.advance(snapshot, state);
    if (waitBeforeRetry) {
      rds.tick();
      clock.advance(30);
    }
    return runToDone(state);
  };
  return { step, runToDone, runTo, runWithLostResult };
}
