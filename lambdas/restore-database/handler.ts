import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { RDSClient } from '@aws-sdk/client-rds';
import type { DatabaseConfig } from '../../config/schema';
import { awsDatabaseAdapters } from '../../adapters/aws/rds-database-adapters';
import { systemClock } from '../../core/ports/clock';
import type { DatabaseRestorer } from '../../core/ports/database-restorer';
import { InvalidInputError } from '../../core/errors';
import { logger, tracer } from '../shared/powertools';
import { RestoreDatabaseEvent, runRestoreDatabase } from '../../core/tasks/restore-database/restore-database';

const rds = tracer.captureAWSv3Client(new RDSClient({}));

/** The AWS restorer for the configured database; the `postgres` kind only exists in the rehearsal. */
export function awsRestorerFor(database: DatabaseConfig | null, client: RDSClient = rds): DatabaseRestorer {
  const adapters = awsDatabaseAdapters(database, client);
  if (!adapters) {
    throw new InvalidInputError(`config.database.kind "${database?.kind ?? 'none'}" cannot be restored on AWS: use rds-instance or aurora-cluster (postgres is for the local rehearsal)`);
  }
  return adapters.restorer;
}

export const handler = middy()
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .use(parser({ schema: RestoreDatabaseEvent }))
  .handler((event) => runRestoreDatabase(event, { restorer: awsRestorerFor(event.config.database), clock: systemClock }));
