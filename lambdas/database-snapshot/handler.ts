import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { RDSClient } from '@aws-sdk/client-rds';
import type { DatabaseConfig } from '../../config/schema';
import { awsDatabaseAdapters } from '../../adapters/aws/rds-database-adapters';
import { systemClock } from '../../core/ports/clock';
import type { DatabaseBackups } from '../../core/ports/database-backups';
import { InvalidInputError } from '../../core/errors';
import { logger, tracer } from '../shared/powertools';
import { DatabaseSnapshotEvent, runDatabaseSnapshot } from '../../core/tasks/database-snapshot/database-snapshot';

const rds = tracer.captureAWSv3Client(new RDSClient({}));

/** The AWS backups for the configured database; the `postgres` kind only exists in the rehearsal. */
export function awsBackupsFor(database: DatabaseConfig | null, client: RDSClient = rds): DatabaseBackups {
  const adapters = awsDatabaseAdapters(database, client);
  if (!adapters) {
    throw new InvalidInputError(`config.database.kind "${database?.kind ?? 'none'}" cannot be snapshotted on AWS: use rds-instance or aurora-cluster (postgres is for the local rehearsal)`);
  }
  return adapters.backups;
}

export const handler = middy()
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .use(parser({ schema: DatabaseSnapshotEvent }))
  .handler((event) => runDatabaseSnapshot(event, { backups: awsBackupsFor(event.config.database), clock: systemClock }));
