import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { awsDatabase } from '../../adapters/aws/aws-ports';
import { systemClock } from '../../core/ports/clock';
import { RestoreDatabaseEvent, runRestoreDatabase } from '../../core/tasks/restore-database/restore-database';
import { databaseClients } from '../shared/database-clients';
import { logger, tracer } from '../shared/powertools';

export const handler = middy()
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .use(parser({ schema: RestoreDatabaseEvent }))
  .handler((event) => {
    const { restorer, scratch } = awsDatabase(event.config.database, databaseClients(event.deployment.target));
    return runRestoreDatabase(event, { restorer, scratch, clock: systemClock });
  });
