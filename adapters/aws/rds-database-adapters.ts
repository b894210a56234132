import type { RDSClient } from '@aws-sdk/client-rds';
import type { DatabaseConfig } from '../../config/schema';
import type { DatabaseBackups } from '../../core/ports/database-backups';
import type { DatabaseRestorer } from '../../core/ports/database-restorer';
import { AuroraClusterRestorer } from './aurora-restorer';
import { AuroraClusterBackups, RdsInstanceBackups } from './rds-backups';
import { RdsInstanceRestorer } from './rds-restorer';

/** The AWS adapters of one configured database: its pre-deploy backups and its restorer. */
export interface AwsDatabaseAdapters {
  readonly backups: DatabaseBackups;
  readonly restorer: DatabaseRestorer;
}

/**
 * The AWS adapters for the configured database; undefined when there is none to use on AWS (no database,
 * or the `postgres` kind, which only the rehearsal runs), for the caller to report in its own terms.
 */
export function awsDatabaseAdapters(database: DatabaseConfig | null, rds: RDSClient): AwsDatabaseAdapters | undefined {
  switch (database?.kind) {
    case 'rds-instance':
      return { backups: new RdsInstanceBackups(rds, database), restorer: new RdsInstanceRestorer(rds, database) };
    case 'aurora-cluster':
      return { backups: new AuroraClusterBackups(rds, database), restorer: new AuroraClusterRestorer(rds, database) };
    default:
      return undefined;
  }
}
