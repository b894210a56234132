import { ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { awsMigrator } from '../../adapters/aws/aws-ports';
import { systemClock } from '../../core/ports/clock';
import { MigrationsEvent, runMigrations } from '../../core/tasks/migrations/migrations';
import { logger, tracer } from '../shared/powertools';

const clients = {
  ecs: tracer.captureAWSv3Client(new ECSClient({})),
  lambda: tracer.captureAWSv3Client(new LambdaClient({})),
};

export const handler = middy()
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .use(parser({ schema: MigrationsEvent }))
  .handler((event) => runMigrations(event, { migrator: awsMigrator(event.config, event.deployment.id, clients), clock: systemClock }));
