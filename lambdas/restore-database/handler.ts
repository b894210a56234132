import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { awsDatabase } from '../../adapters/aws/aws-ports';
import { rdsDrillOf } from '../../adapters/aws/rds-drill';
import { systemClock } from '../../core/ports/clock';
import { RestoreDatabaseEvent, runRestoreDatabase } from '../../core/tasks/restore-database/restore-database';
import { databaseClients } from '../shared/database-clients';
import { logger, tracer } from '../shared/powertools';

export const handler = middy()
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .use(parser({ schema: RestoreDatabaseEvent }))
  .handler((event) => {
    const clients = databaseClients(event.deployment.target);
    const { restorer, scratch } = awsDatabase(event.config.database, clients);
    // An RDS or Aurora drill restores into a scratch instance or cluster named and tagged after this execution.
    return runRestoreDatabase(event, { restorer, scratch: scratch ?? rdsDrillOf(event.config.database, clients.rds, event.deployment), clock: systemClock });
  });
