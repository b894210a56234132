import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SSMClient } from '@aws-sdk/client-ssm';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { awsDeployTarget } from '../../adapters/aws/aws-ports';
import { systemClock } from '../../core/ports/clock';
import { DeployTargetEvent, runDeployTarget } from '../../core/tasks/deploy-target/deploy-target';
import { logger, tracer } from '../shared/powertools';

const clients = {
  ecs: tracer.captureAWSv3Client(new ECSClient({})),
  lambda: tracer.captureAWSv3Client(new LambdaClient({})),
  ssm: tracer.captureAWSv3Client(new SSMClient({})),
  ec2: tracer.captureAWSv3Client(new EC2Client({})),
};

export const handler = middy()
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .use(parser({ schema: DeployTargetEvent }))
  .handler((event) => runDeployTarget(event, { target: awsDeployTarget(event.config.target, clients), clock: systemClock }));
