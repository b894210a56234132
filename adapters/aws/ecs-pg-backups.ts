import { createHash } from 'node:crypto';
import { DescribeTasksCommand, type ECSClient, RunTaskCommand, type Task } from '@aws-sdk/client-ecs';
import * as z from 'zod/mini';
import type { Clock } from '../../core/ports/clock';
import type { DatabaseBackups, SnapshotQuota } from '../../core/ports/database-backups';
import type { DatabaseRestorer, ScratchRestorer } from '../../core/ports/database-restorer';
import { MissingEnvironmentError, PreconditionFailedError, RestoreFailedError, SnapshotFailedError } from '../../core/errors';
import type { DatabaseInfo, RestoreState, SnapshotRef } from '../../core/model';
import { compactTimestamp } from '../../local/postgres/identifiers';
import pg from 'pg';
import { BackupMeta, describeConnected, snapshotOfMeta } from '../local/pg-backup-meta';
import { drillCopyName } from '../local/pg-restorer';
import { DatabaseConnectionError, redact } from '../local/pg-connection';
import type { DatabaseEndpoint } from './database-connection';
import { RestoreOutcome, TASK_REQUEST_ENV, type TaskRequest } from './backup-task-request';
import type { S3ArtifactStore } from './s3-artifact-store';

/**
 * The IAM action behind each AWS call EcsPgBackups and EcsPgRestorer make, implicit ones included: written beside
 * the calls, granted from here by lib/task-permissions.ts (test/adapters/aws/iam-beside-commands.test.ts checks both ends).
 * Their S3 reads and writes go through S3ArtifactStore, whose actions S3_ARTIFACT_STORE_IAM declares.
 */
export const ECS_PG_BACKUPS_IAM = {
  runTask: 'ecs:RunTask',
  /** RunTask of a task definition whose task and execution roles ECS assumes. */
  passRoles: 'iam:PassRole',
  describeTasks: 'ecs:DescribeTasks',
} as const;

/** Where the backup task runs: the stack's cluster and task definition, in the configured network. */
export const BackupTaskPlacement = z.object({
  cluster: z.string().check(z.minLength(1)),
  taskDefinition: z.string().check(z.minLength(1)),
  /** The Node container, whose exit code is the task's outcome and which receives the request. */
  container: z.string().check(z.minLength(1)),
  subnets: z.array(z.string()).check(z.minLength(1)),
  securityGroups: z.array(z.string()),
});
export type BackupTaskPlacement = z.output<typeof BackupTaskPlacement>;

/** Environment variable of the database functions holding the BackupTaskPlacement as JSON (set by lib/deploy-runbook.ts). */
export const BACKUP_TASK_ENV = 'PG_BACKUP_TASK';

/** The placement the stack gave the function; its absence or a malformed value names the variable. */
export function backupTaskPlacement(env: NodeJS.ProcessEnv): BackupTaskPlacement {
  const text = env[BACKUP_TASK_ENV];
  if (!text) throw new MissingEnvironmentError(`${BACKUP_TASK_ENV} is not set: this function was not given the backup task (lib/pg-backup-task.ts)`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new MissingEnvironmentError(`${BACKUP_TASK_ENV} is not JSON`);
  }
  const parsed = BackupTaskPlacement.safeParse(json);
  if (!parsed.success) throw new MissingEnvironmentError(`${BACKUP_TASK_ENV} is not a backup task placement: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/**
 * Connects to the database the way the backup task will (same subnets, same secret) and describes it. A server
 * that does not answer within the endpoint's connect timeout fails with DatabaseConnectionError naming it.
 */
export async function describeReachable(endpoint: DatabaseEndpoint): Promise<DatabaseInfo> {
  const client = new pg.Client(endpoint.client);
  try {
    await client.connect();
  } catch (error) {
    const why = redact(error instanceof Error ? error.message : String(error), [typeof endpoint.client.password === 'string' ? endpoint.client.password : undefined]);
    throw new DatabaseConnectionError(`could not connect to ${endpoint.description}: ${why}`, { cause: error });
  }
  try {
    return await describeConnected(client);
  } finally {
    await client.end();
  }
}

/** What the Lambda side records of a task it started, beside the dump: a later call finds the task from it. */
const TaskRecord = z.object({ taskArn: z.string(), database: z.string(), startedAt: z.string() });
type TaskRecord = z.output<typeof TaskRecord>;

/** Snapshot ids become object names: one path segment (PgBackups, which writes them in the task, checks the same). */
const SNAPSHOT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

export interface EcsPgBackupsOptions {
  readonly ecs: ECSClient;
  readonly store: S3ArtifactStore;
  /** Read when a task is started or followed (the preflight function only describes and has none). */
  readonly placement: () => BackupTaskPlacement;
  /** The runbook target's name: dumps go under `backups/<target>/`. */
  readonly target: string;
  /** The database as a connection finds it (describeReachable): a database the subnets cannot reach fails here. */
  readonly describe: () => Promise<DatabaseInfo>;
  readonly clock: Clock;
}

/**
 * Logical backups of a PostgreSQL database on AWS: each backup is one run of the stack's ECS Fargate task
 * (pg_dump in a stock PostgreSQL image, streamed by PgBackups into the bucket, listed, then marked available in
 * its `.meta.json`). This side only starts the task, follows it with DescribeTasks, and reads what it wrote:
 * a backup is good only when its meta says `available`; a task that stopped without that is a failed backup.
 */
export class EcsPgBackups implements DatabaseBackups {
  constructor(private readonly options: EcsPgBackupsOptions) {}

  describe(): Promise<DatabaseInfo> {
    return this.options.describe();
  }

  /** Dumps in a bucket have no snapshot quota. */
  async quota(): Promise<SnapshotQuota | null> {
    return null;
  }

  async find(snapshotId: string): Promise<SnapshotRef | undefined> {
    const meta = await this.readMeta(snapshotId);
    if (meta?.status === 'available') return this.refOf(meta);
    if (meta?.status === 'failed') throw this.failed(snapshotId, meta.source, meta.error ?? 'no reason recorded');
    const run = await this.readJson(this.key(snapshotId, '.task.json'), TaskRecord);
    if (!run) return meta && this.refOf(meta);
    const task = await describeTask(this.options, run.taskArn, SnapshotFailedError);
    if (task.lastStatus !== 'STOPPED') return meta ? this.refOf(meta) : this.creating(snapshotId, run);
    // The task writes its meta before it exits: read it again now that it has.
    const final = await this.readMeta(snapshotId);
    if (final?.status === 'available') return this.refOf(final);
    if (final?.status === 'failed') throw this.failed(snapshotId, final.source, final.error ?? 'no reason recorded');
    throw this.failed(snapshotId, run.database, `backup task ${run.taskArn} stopped (${stopOf(task, this.options.placement().container)}) before the dump was stored and verified`);
  }

  async create(snapshotId: string, tags: Record<string, string>): Promise<SnapshotRef> {
    const database = (await this.describe()).identifier;
    const request: TaskRequest = { mode: 'backup', target: this.options.target, snapshotId, tags };
    const taskArn = await runTask(this.options, request, `backup-${snapshotId}`, (why) => this.failed(snapshotId, database, `the backup task could not be started: ${why}`));
    const run: TaskRecord = { taskArn, database, startedAt: this.options.clock.now().toISOString() };
    try {
      await this.options.store.put(this.key(snapshotId, '.task.json'), `${JSON.stringify(run, null, 2)}\n`, { contentType: 'application/json', ifNoneMatch: '*' });
    } catch (error) {
      // A retried call started the same task (RunTask's client token) and finds the record it wrote.
      if (!(error instanceof PreconditionFailedError)) throw error;
    }
    return this.creating(snapshotId, run);
  }

  /**
   * The task listed the stored dump with pg_restore before marking it available; this checks that the meta
   * still says so for this dump and that the object in the bucket has the size that was hashed.
   */
  async verify(snapshot: SnapshotRef, source: DatabaseInfo): Promise<string[]> {
    const meta = await this.readMeta(snapshot.id);
    const location = this.key(snapshot.id, '.dump');
    if (!meta || meta.status !== 'available' || meta.sha256 === null || meta.bytes === null) {
      throw new SnapshotFailedError(`logical backup ${snapshot.id} of database "${source.identifier}" is not marked available in ${this.options.store.locate(this.key(snapshot.id, '.meta.json'))}`);
    }
    if (meta.source !== source.identifier) throw new SnapshotFailedError(`logical backup ${snapshot.id} is a dump of database "${meta.source}", not of "${source.identifier}"`);
    if (snapshot.checksum !== meta.sha256) throw new SnapshotFailedError(`logical backup ${snapshot.id} has sha256 ${meta.sha256} in its meta, but the snapshot says ${snapshot.checksum}`);
    if (!meta.verification.some((line) => line.startsWith('pg_restore --list'))) {
      throw new SnapshotFailedError(`logical backup ${snapshot.id} of database "${source.identifier}" was never listed with pg_restore --list`);
    }
    if (/ 0 with data$/.test(meta.verification.find((line) => line.startsWith('pg_restore --list')) ?? '')) {
      throw new SnapshotFailedError(`logical backup ${snapshot.id} of database "${source.identifier}" holds no table data (${meta.verification.join('; ')})`);
    }
    const size = await this.options.store.sizeOf(location);
    if (size !== meta.bytes) {
      throw new SnapshotFailedError(`${this.options.store.locate(location)} holds ${size ?? 'no object'} bytes, but ${meta.bytes} were hashed when it was stored`);
    }
    return [...meta.verification, `${this.options.store.locate(location)} holds the ${size} bytes hashed`];
  }

  private creating(snapshotId: string, run: TaskRecord): SnapshotRef {
    return {
      id: snapshotId,
      arn: null,
      kind: 'postgres',
      source: run.database,
      status: 'creating',
      engine: 'postgres',
      encrypted: null,
      sizeBytes: null,
      location: this.key(snapshotId, '.dump'),
      checksum: null,
      startedAt: run.startedAt,
      completedAt: null,
      verification: [],
    };
  }

  private refOf(meta: BackupMeta): SnapshotRef {
    // The bucket's default encryption applies to every object, the dump included.
    return snapshotOfMeta(meta, this.key(meta.snapshotId, '.dump'), { encrypted: true, verification: meta.status === 'available' ? meta.verification : [] });
  }

  private failed(snapshotId: string, database: string, why: string): SnapshotFailedError {
    return new SnapshotFailedError(`logical backup ${snapshotId} of database "${database}" failed: ${why}`);
  }

  private readMeta(snapshotId: string): Promise<BackupMeta | undefined> {
    return this.readJson(this.key(snapshotId, '.meta.json'), BackupMeta);
  }

  private async readJson<T>(key: string, schema: { safeParse(data: unknown): { success: true; data: T } | { success: false } }): Promise<T | undefined> {
    const stored = await this.options.store.get(key);
    if (!stored) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(stored.body.toString('utf8'));
    } catch {
      throw new SnapshotFailedError(`${this.options.store.locate(key)} is not JSON`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new SnapshotFailedError(`${this.options.store.locate(key)} is not a backup record this runbook wrote`);
    return parsed.data;
  }

  private key(snapshotId: string, suffix: string): string {
    if (!SNAPSHOT_ID.test(snapshotId)) throw new SnapshotFailedError(`snapshot id "${snapshotId}" cannot name a dump object: use letters, digits, . _ -`);
    return `backups/${this.options.target}/${snapshotId}${suffix}`;
  }
}

/** What EcsPgRestorer keeps in the restore state between calls. */
const RestoreCapture = z.object({ taskArn: z.string(), resultKey: z.string(), database: z.string() });

/** A rename-swap restore, or a restore drill's copy beside the live database. */
type RestoreMode = 'restore' | 'drill-restore';

/** How a restore drill's copy is dropped: by a connection from the function (PgRestorer.discardScratch), no task needed. */
export type DiscardDrillCopy = (snapshot: SnapshotRef, state: RestoreState | null) => Promise<RestoreState>;

/**
 * Restores a logical backup on AWS: one run of the backup task in restore mode does all of PgRestorer's steps
 * (pg_restore into a new database, then the rename-swap, the replaced database kept as `<db>_failed_<ts>`);
 * each call here starts it or checks on it, and reads the outcome it wrote. A restore drill runs the task in
 * drill-restore mode (PgRestorer's drill steps: the dump restored into `<db>_drill_<ts>`, the live database not
 * touched), and drops that copy with `discard`, from the function, once it was checked.
 */
export class EcsPgRestorer implements DatabaseRestorer, ScratchRestorer {
  constructor(
    private readonly options: EcsPgBackupsOptions,
    /** The drill copy's discard. @default none: discardScratch fails, naming what is missing */
    private readonly discard?: DiscardDrillCopy,
  ) {}

  advance(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState> {
    return this.step('restore', snapshot, state);
  }

  restoreScratch(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState> {
    return this.step('drill-restore', snapshot, state);
  }

  /**
   * Drops the drill's copy through `discard`, which refuses any database not named and marked as this drill's copy.
   * Never while the task may still create or fill it: a copy dropped under a running pg_restore would come back.
   */
  async discardScratch(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState> {
    if (state?.phase === 'discarded') return state;
    if (!this.discard) throw new RestoreFailedError(`the drill copy of ${snapshot.id} cannot be dropped here: this restorer was given no connection to drop it with`);
    if (state?.phase === 'restore-task') {
      const { taskArn } = this.captured(snapshot, state);
      const task = await describeTask(this.options, taskArn, RestoreFailedError);
      if (task.lastStatus !== 'STOPPED') {
        throw new RestoreFailedError(`the drill copy ${state.scratch ?? 'of ' + snapshot.id} is not dropped: task ${taskArn} is still ${task.lastStatus ?? 'starting'} and restoring into it; stop the task, then drop the copy`);
      }
    }
    return this.discard(snapshot, state);
  }

  private async step(mode: RestoreMode, snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState> {
    if (state?.phase === 'done') return state;
    if (snapshot.kind !== 'postgres' || snapshot.location === null || snapshot.checksum === null) {
      throw new RestoreFailedError(`snapshot ${snapshot.id} is not a stored pg_dump (kind ${snapshot.kind}, location ${snapshot.location}): the backup task cannot restore it`);
    }
    return state?.phase === 'restore-task' ? this.check(mode, snapshot, state) : this.start(mode, snapshot);
  }

  private async start(mode: RestoreMode, snapshot: SnapshotRef): Promise<RestoreState> {
    const database = (await this.options.describe()).identifier;
    const startedAt = this.options.clock.now().toISOString();
    const drill = mode === 'drill-restore';
    const resultKey = `backups/${this.options.target}/${snapshot.id}.${drill ? 'drill' : 'restore'}-${compactTimestamp(startedAt)}.json`;
    const request: TaskRequest = { mode, snapshot, startedAt, resultKey };
    // The task derives the same name from the same start (PgRestorer): a discard after a lost answer finds it.
    const scratch = drill ? drillCopyName(database, startedAt) : null;
    const taskArn = await runTask(this.options, request, `${mode}-${snapshot.id}-${startedAt}`, (why) =>
      drill
        ? new RestoreFailedError(`drill restore of ${snapshot.id} beside database "${database}": the task could not be started: ${why}; nothing was created`)
        : new RestoreFailedError(`restore of ${snapshot.id} into database "${database}": the task could not be started: ${why}; nothing was changed`),
    );
    const detail = drill
      ? `task ${taskArn} restores ${snapshot.location} into ${scratch}, beside ${database}, which is not touched`
      : `task ${taskArn} restores ${snapshot.location} into a new database, then swaps it in for ${database}`;
    return {
      restored: false,
      decision: 'restoring',
      phase: 'restore-task',
      failedCopy: null,
      ...(drill ? { scratch } : {}),
      snapshotId: snapshot.id,
      steps: [{ phase: 'start-task', at: startedAt, detail }],
      startedAt,
      finishedAt: null,
      captured: { taskArn, resultKey, database },
    };
  }

  private captured(snapshot: SnapshotRef, state: RestoreState): z.output<typeof RestoreCapture> {
    const parsed = RestoreCapture.safeParse(state.captured);
    if (!parsed.success) throw new RestoreFailedError(`restore.captured is missing or malformed in phase "restore-task": the task that restores ${snapshot.id} is unknown`);
    return parsed.data;
  }

  private async check(mode: RestoreMode, snapshot: SnapshotRef, state: RestoreState): Promise<RestoreState> {
    const { taskArn, resultKey, database } = this.captured(snapshot, state);
    const drill = mode === 'drill-restore';
    const what = drill ? `drill restore of ${snapshot.id} into ${state.scratch ?? 'a copy'} beside database "${database}"` : `restore of ${snapshot.id} into database "${database}"`;
    const task = await describeTask(this.options, taskArn, RestoreFailedError);
    if (task.lastStatus !== 'STOPPED') return state;
    const stored = await this.options.store.get(resultKey);
    const outcome = stored ? RestoreOutcome.safeParse(JSON.parse(stored.body.toString('utf8'))) : undefined;
    if (!outcome?.success) {
      throw new RestoreFailedError(`${what}: task ${taskArn} stopped (${stopOf(task, this.options.placement().container)}) without writing its outcome to ${this.options.store.locate(resultKey)}`);
    }
    const { status, state: done, error } = outcome.data;
    if (status !== 'restored' || done === null) {
      const kept = done?.failedCopy ? `; the replaced database is kept as ${done.failedCopy}` : '';
      throw new RestoreFailedError(`${what} failed in task ${taskArn}: ${error ?? 'no reason recorded'}${kept}`);
    }
    // Defensive: the copy the task reports is the one this drill named, so the checks read (and the discard drops) only it.
    if (drill && done.scratch !== state.scratch) {
      throw new RestoreFailedError(`${what}: task ${taskArn} reports its copy as ${JSON.stringify(done.scratch ?? null)}, not ${state.scratch}`);
    }
    const at = this.options.clock.now().toISOString();
    return { ...state, restored: true, decision: 'restored', phase: 'done', failedCopy: done.failedCopy, steps: [...state.steps, ...done.steps], finishedAt: done.finishedAt ?? at };
  }
}

/** Starts the task with `request`; `token` makes a retried call return the task the first one started. */
async function runTask(options: EcsPgBackupsOptions, request: TaskRequest, token: string, fail: (why: string) => Error): Promise<string> {
  const placement = options.placement();
  const started = await options.ecs.send(
    new RunTaskCommand({
      cluster: placement.cluster,
      taskDefinition: placement.taskDefinition,
      count: 1,
      launchType: 'FARGATE',
      startedBy: 'deploy-runbook',
      // RunTask keeps a client token (at most 64 characters) for 24 hours: a retry cannot start a second dump.
      clientToken: createHash('sha256').update(token).digest('hex').slice(0, 64),
      networkConfiguration: { awsvpcConfiguration: { subnets: [...placement.subnets], securityGroups: [...placement.securityGroups], assignPublicIp: 'DISABLED' } },
      overrides: { containerOverrides: [{ name: placement.container, environment: [{ name: TASK_REQUEST_ENV, value: JSON.stringify(request) }] }] },
    }),
  );
  const taskArn = started.tasks?.[0]?.taskArn;
  const failures = started.failures ?? [];
  if (failures.length > 0 || !taskArn) {
    throw fail(failures.map((f) => [f.arn, f.reason, f.detail].filter(Boolean).join(' ')).join('; ') || 'RunTask started no task');
  }
  return taskArn;
}

async function describeTask(options: EcsPgBackupsOptions, taskArn: string, error: new (message: string) => Error): Promise<Task> {
  const { cluster } = options.placement();
  const described = await options.ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] }));
  const task = described.tasks?.[0];
  if (!task) throw new error(`backup task ${taskArn} was not found in cluster ${cluster} (${described.failures?.[0]?.reason ?? 'no such task'})`);
  return task;
}

/** How a stopped task ended, for a message: its container's exit code and ECS's reasons. */
function stopOf(task: Task, containerName: string): string {
  const container = task.containers?.find((c) => c.name === containerName);
  const exit = container?.exitCode === undefined || container.exitCode === null ? `container ${containerName} has no exit code` : `container ${containerName} exited with ${container.exitCode}`;
  return [exit, task.stopCode, task.stoppedReason, container?.reason].filter(Boolean).join(': ');
}
