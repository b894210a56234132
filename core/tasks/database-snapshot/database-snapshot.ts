import * as z from 'zod/mini';
import type { RunbookConfig } from '../../../config/schema';
import type { Clock } from '../../ports/clock';
import type { DatabaseBackups } from '../../ports/database-backups';
import { InvalidInputError, SnapshotFailedError } from '../../errors';
import { DatabaseInfo, Deployment, judged, SnapshotRef } from '../../model';
import { snapshotIdFor } from './snapshot-id';

const common = { config: judged<Pick<RunbookConfig, 'database'>>(), deployment: Deployment };

const TakeSnapshotEvent = z.object({ operation: z.literal('take'), ...common });

const CheckSnapshotEvent = z.object({
  operation: z.literal('check'),
  ...common,
  /** The database as the preflight described it; the snapshot is verified against it. */
  source: z.nullable(DatabaseInfo),
  snapshot: SnapshotRef,
});

/** TakeSnapshot (`take`) and CheckSnapshot (`check`): the Parameters of the two Tasks. */
export const DatabaseSnapshotEvent = z.discriminatedUnion('operation', [TakeSnapshotEvent, CheckSnapshotEvent]);
export type DatabaseSnapshotEvent = z.output<typeof DatabaseSnapshotEvent>;

/** Ports the snapshot task needs. */
export interface DatabaseSnapshotDeps {
  readonly backups: DatabaseBackups;
  readonly clock: Clock;
}

/** Tags on every pre-deploy snapshot, so that people and cleanup jobs can tell whose it is. */
export const SNAPSHOT_TAGS = {
  target: 'deploy-runbook:target',
  deployment: 'deploy-runbook:deployment',
  version: 'deploy-runbook:version',
} as const;

/**
 * Takes the pre-deploy snapshot, then polls it until it is available and verified.
 * `take` finds the snapshot first: a retried attempt reuses the one its predecessor started.
 */
export async function runDatabaseSnapshot(event: DatabaseSnapshotEvent, deps: DatabaseSnapshotDeps): Promise<SnapshotRef> {
  if (event.config.database === null) {
    throw new InvalidInputError(`config.database is null: there is no database to snapshot for target ${event.deployment.target}`);
  }
  return event.operation === 'take' ? take(event.deployment, deps) : check(event, deps);
}

async function take(deployment: Deployment, { backups }: DatabaseSnapshotDeps): Promise<SnapshotRef> {
  const id = snapshotIdFor(deployment.target, deployment.id);
  const existing = await backups.find(id);
  if (existing) return existing;
  return backups.create(id, {
    [SNAPSHOT_TAGS.target]: deployment.target,
    [SNAPSHOT_TAGS.deployment]: deployment.id,
    ...(deployment.version === null ? {} : { [SNAPSHOT_TAGS.version]: deployment.version }),
  });
}

async function check(event: z.output<typeof CheckSnapshotEvent>, { backups, clock }: DatabaseSnapshotDeps): Promise<SnapshotRef> {
  const id = event.snapshot.id;
  const found = await backups.find(id);
  if (!found) throw new SnapshotFailedError(`snapshot ${id} no longer exists`);
  if (found.status === 'failed') throw new SnapshotFailedError(`snapshot ${id} of ${found.source} is in status "${found.status}": it cannot be restored`);
  // Every poll reports the start the first answer gave, so the evidence shows one start time.
  const current = { ...found, startedAt: event.snapshot.startedAt };
  if (found.status !== 'available') return current;
  // Preflight described the database before anything changed; describing it again would need another grant.
  if (event.source === null) throw new SnapshotFailedError(`snapshot ${id} cannot be verified: the preflight recorded no database to compare it with`);
  const verification = await backups.verify(found, event.source);
  return { ...current, verification, completedAt: found.completedAt ?? clock.now().toISOString() };
}
