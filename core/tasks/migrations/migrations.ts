import * as z from 'zod/mini';
import type { RunbookConfig } from '../../../config/schema';
import type { Clock } from '../../ports/clock';
import type { Migrator } from '../../ports/migrator';
import { DeployHandle, Deployment, judged, MigrationsState } from '../../model';

/** The migrator is chosen from these; ECS-task migrations run in the target's cluster. */
const common = { config: judged<Pick<RunbookConfig, 'target' | 'migrations'>>(), deployment: Deployment };

/** The Parameters of StartMigrations and CheckMigrations. */
export const MigrationsEvent = z.discriminatedUnion('operation', [
  z.object({ operation: z.literal('start'), ...common, handle: DeployHandle }),
  z.object({ operation: z.literal('status'), ...common, migrations: MigrationsState }),
]);
export type MigrationsEvent = z.output<typeof MigrationsEvent>;

/**
 * Starts the migrations of the release just deployed, or checks on them. `started` stays true from the
 * first attempt on: the `when-migrations-ran` restore policy must see a migration that began and then failed.
 */
export async function runMigrations(event: MigrationsEvent, deps: { migrator: Migrator; clock: Clock }): Promise<MigrationsState> {
  const now = () => deps.clock.now().toISOString();
  if (event.operation === 'start') {
    const state = await deps.migrator.start(event.handle);
    return { ...state, started: true, startedAt: state.startedAt ?? now() };
  }
  const state = await deps.migrator.status(event.migrations);
  return { ...state, started: true, finishedAt: state.status === 'succeeded' ? (state.finishedAt ?? now()) : null };
}
