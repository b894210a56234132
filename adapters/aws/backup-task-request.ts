import * as z from 'zod/mini';
import { RestoreState, SnapshotRef } from '../../core/model';

/*
 * The requests the database functions start the backup task with, and what a restore task leaves behind:
 * the contract between adapters/aws/ecs-pg-backups.ts (Lambda) and adapters/aws/pg-backup-task.ts (the task).
 */

/** Environment variable carrying the request (a RunTask container override). */
export const TASK_REQUEST_ENV = 'TASK_REQUEST';

/** Dump the database into `backups/<target>/<snapshotId>.dump`; PgBackups writes the `.meta.json` beside it. */
export const BackupRequest = z.object({
  mode: z.literal('backup'),
  target: z.string().check(z.minLength(1)),
  snapshotId: z.string().check(z.minLength(1)),
  tags: z.record(z.string(), z.string()),
});

/** Restore the dump by rename-swap (all PgRestorer's steps), then write a RestoreOutcome at `resultKey`. */
export const RestoreRequest = z.object({
  mode: z.literal('restore'),
  snapshot: SnapshotRef,
  /** Names the scratch and failed-copy databases: the same on a re-run of the task. */
  startedAt: z.string().check(z.minLength(1)),
  resultKey: z.string().check(z.minLength(1)),
});

/**
 * A restore drill's copy: PgRestorer's drill steps restore the dump into `<db>_drill_<ts>` (marked as this drill's
 * copy) beside the live database, which is never renamed, written or dropped; then a RestoreOutcome at `resultKey`.
 */
export const DrillRestoreRequest = z.object({
  mode: z.literal('drill-restore'),
  snapshot: SnapshotRef,
  /** Names the drill's copy: the same on a re-run of the task. */
  startedAt: z.string().check(z.minLength(1)),
  resultKey: z.string().check(z.minLength(1)),
});

export const TaskRequest = z.discriminatedUnion('mode', [BackupRequest, RestoreRequest, DrillRestoreRequest]);
export type TaskRequest = z.output<typeof TaskRequest>;

/** What a restore or drill-restore task leaves at its `resultKey`. */
export const RestoreOutcome = z.object({
  status: z.enum(['restored', 'failed']),
  state: z.nullable(RestoreState),
  error: z.nullable(z.string()),
});
export type RestoreOutcome = z.output<typeof RestoreOutcome>;

