import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { awsAlarms, awsDatabase, awsDeployTarget, awsMetricQuery } from '../../adapters/aws/aws-ports';
import { SecretsManagerSource } from '../../adapters/aws/secrets-manager-source';
import { systemClock } from '../../core/ports/clock';
import { PreflightEvent, runPreflight } from '../../core/tasks/preflight/preflight';
import { databaseClients } from '../shared/database-clients';
import { logger, tracer } from '../shared/powertools';

const clients = {
  ecs: tracer.captureAWSv3Client(new ECSClient({})),
  lambda: tracer.captureAWSv3Client(new LambdaClient({})),
  ssm: tracer.captureAWSv3Client(new SSMClient({})),
  ec2: tracer.captureAWSv3Client(new EC2Client({})),
};
const cloudwatch = tracer.captureAWSv3Client(new CloudWatchClient({}));
const secretsManager = tracer.captureAWSv3Client(new SecretsManagerClient({}));
let logs: CloudWatchLogsClient | undefined;
const logsClient = () => (logs ??= tracer.captureAWSv3Client(new CloudWatchLogsClient({})));

export const handler = middy()
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .use(parser({ schema: PreflightEvent }))
  .handler((event) => {
    // A source per invocation, as in SmokeTest: its cache must not outlive a secret rotation.
    const secrets = new SecretsManagerSource(secretsManager);
    return runPreflight(event, {
      target: awsDeployTarget(event.config.target, clients),
      backups: event.config.database === null ? null : awsDatabase(event.config.database, databaseClients(event.deployment.target)).backups,
      alarms: awsAlarms(event.config.alarms, cloudwatch),
      secrets,
      metrics: awsMetricQuery(event.config, { cloudwatch, logs: logsClient, secrets }),
      clock: systemClock,
    });
  });
