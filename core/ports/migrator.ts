import type { DeployHandle, MigrationsState } from '../model';

/** Runs the schema migrations of the version just deployed. */
export interface Migrator {
  start(release: DeployHandle): Promise<MigrationsState>;
  /** `running` or `succeeded`; throws MigrationFailedError on a non-zero exit. */
  status(state: MigrationsState): Promise<MigrationsState>;
}
