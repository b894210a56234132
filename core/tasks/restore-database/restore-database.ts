import * as z from 'zod/mini';
import type { RunbookConfig } from '../../../config/schema';
import type { Clock } from '../../ports/clock';
import type { DatabaseRestorer, ScratchRestorer } from '../../ports/database-restorer';
import { drillDatabaseProblem } from '../../../config/restore-drill';
import { RestoreFailedError } from '../../errors';
import { Deployment, judged, RestoreState, SnapshotRef } from '../../model';

/**
 * AdvanceRestore's Parameters: `restore` is null on the first call, then the previous call's result. The restore
 * drill's AdvanceDrill (`drill`) and DiscardDrillCopy (`discard-drill`) send the drill's state (`$.drill`) as `restore`.
 */
export const RestoreDatabaseEvent = z.object({
  /** @default 'restore' */
  operation: z.optional(z.enum(['restore', 'drill', 'discard-drill'])),
  config: judged<Pick<RunbookConfig, 'database'>>(),
  deployment: Deployment,
  snapshot: SnapshotRef,
  restore: z.nullable(RestoreState),
});
export type RestoreDatabaseEvent = z.output<typeof RestoreDatabaseEvent>;

/** Ports the restore task needs. */
export interface RestoreDatabaseDeps {
  readonly restorer: DatabaseRestorer;
  /** The restore drill's: null where drills cannot run (an RDS or Aurora database). */
  readonly scratch?: ScratchRestorer | null;
  readonly clock: Clock;
}

/**
 * One step of the rename-swap restore; the state machine calls it again after a wait until the phase
 * is `done`. The checks here hold for every restorer, so a wrong snapshot stops the restore before the
 * restorer touches the database.
 */
export async function runRestoreDatabase(event: RestoreDatabaseEvent, deps: RestoreDatabaseDeps): Promise<RestoreState> {
  const { config, snapshot, restore: previous } = event;
  if (event.operation === 'discard-drill') return discardDrillCopy(event, deps);
  if (previous?.phase === 'done') return previous;
  if (config.database === null) throw new RestoreFailedError(`config.database is null: target ${event.deployment.target} has no database to restore`);
  if (snapshot.kind !== config.database.kind) {
    throw new RestoreFailedError(`snapshot ${snapshot.id} is a ${snapshot.kind} snapshot but config.database.kind is ${config.database.kind}`);
  }
  if (snapshot.status !== 'available') throw new RestoreFailedError(`snapshot ${snapshot.id} is "${snapshot.status}", not "available": it cannot be restored`);

  const drill = event.operation === 'drill';
  const next = drill ? await scratchRestorer(event, deps).restoreScratch(snapshot, previous) : await deps.restorer.advance(snapshot, previous);
  const now = deps.clock.now().toISOString();
  const done = next.phase === 'done';
  // Restorers may leave the bookkeeping to this task: every restore reports it the same way.
  return {
    ...next,
    // VerifyDrillCopy reads it: present (null for a copy on the same server) in every drill's state.
    ...(drill ? { scratchHost: next.scratchHost ?? null } : {}),
    restored: done,
    decision: done ? 'restored' : 'restoring',
    snapshotId: snapshot.id,
    startedAt: next.startedAt ?? previous?.startedAt ?? now,
    finishedAt: done ? (next.finishedAt ?? now) : null,
  };
}

/** The drill's restorer, or why there is none: only logical PostgreSQL backups are drilled (config/restore-drill.ts). */
function scratchRestorer(event: RestoreDatabaseEvent, deps: RestoreDatabaseDeps): ScratchRestorer {
  if (!deps.scratch) throw new RestoreFailedError(`target ${event.deployment.target}: ${drillDatabaseProblem(event.config.database) ?? 'this function was given no scratch restorer for the database'}`);
  return deps.scratch;
}

/** DiscardDrillCopy: drops the drill's scratch copy, whatever happened before (also after a failed restore or check). */
async function discardDrillCopy(event: RestoreDatabaseEvent, deps: RestoreDatabaseDeps): Promise<RestoreState> {
  return scratchRestorer(event, deps).discardScratch(event.snapshot, event.restore);
}
