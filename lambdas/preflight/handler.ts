import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { RDSClient } from '@aws-sdk/client-rds';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { systemClock } from '../../core/ports/clock';
import { logger, tracer } from '../shared/powertools';
import { awsPreflightDeps } from '../../adapters/aws/aws-preflight-deps';
import { PreflightEvent, runPreflight } from '../../core/tasks/preflight/preflight';

const clients = {
  ecs: tracer.captureAWSv3Client(new ECSClient({})),
  lambda: tracer.captureAWSv3Client(new LambdaClient({})),
  rds: tracer.captureAWSv3Client(new RDSClient({})),
  cloudwatch: tracer.captureAWSv3Client(new CloudWatchClient({})),
};

export const handler = middy()
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .use(parser({ schema: PreflightEvent }))
  .handler((event) => runPreflight(event, { ...awsPreflightDeps(event.config, clients), clock: systemClock }));
