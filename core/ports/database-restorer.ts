import type { RestoreState, SnapshotRef } from '../model';

/**
 * Restores the pre-deploy snapshot by rename-swap, one idempotent step per call: the current database is
 * renamed aside (kept, never deleted), the snapshot is restored under the original name, then verified.
 */
export interface DatabaseRestorer {
  advance(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState>;
}

/**
 * The restore drill's restorer: the snapshot is restored beside the live database, into a scratch database whose
 * name says it is a drill's copy (core/restore-drill.ts), and that copy is dropped once checked. The live database
 * is never renamed, written or dropped.
 */
export interface ScratchRestorer {
  /** One idempotent step per call; `state.scratch` names the copy once it exists, phase `done` once it is restored. */
  restoreScratch(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState>;
  /**
   * Drops the drill's copy: only a database named as a drill's copy of this database, marked as created by this
   * drill. With `state` null (the drill failed before its first answer) the copy is found by its marker. Phase `discarded`.
   */
  discardScratch(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState>;
}
