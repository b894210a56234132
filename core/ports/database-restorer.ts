import type { RestoreState, SnapshotRef } from '../model';

/**
 * Restores the pre-deploy snapshot by rename-swap, one idempotent step per call: the current database is
 * renamed aside (kept, never deleted), the snapshot is restored under the original name, then verified.
 */
export interface DatabaseRestorer {
  advance(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState>;
}
