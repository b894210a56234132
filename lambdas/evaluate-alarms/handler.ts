import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerSource } from '../../adapters/aws/secrets-manager-source';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { awsAlarms, awsMetricQuery } from '../../adapters/aws/aws-ports';
import { systemClock } from '../../core/ports/clock';
import type { SecretSource } from '../../core/ports/secret-source';
import { evaluateAlarms, EvaluateAlarmsFunctionEvent, isWatchCheckpoint, measureWatch } from '../../core/tasks/evaluate-alarms/evaluate-alarms';
import { logger, tracer } from '../shared/powertools';

/** Adaptive retries absorb DescribeAlarms throttling before the state machine's own retries are spent. */
export const cloudwatch = tracer.captureAWSv3Client(new CloudWatchClient({ maxAttempts: 5, retryMode: 'adaptive' }));

let logs: CloudWatchLogsClient | undefined;
const logsClient = () => (logs ??= tracer.captureAWSv3Client(new CloudWatchLogsClient({ maxAttempts: 5, retryMode: 'adaptive' })));
let secretsManager: SecretsManagerClient | undefined;
const secretsClient = () => (secretsManager ??= tracer.captureAWSv3Client(new SecretsManagerClient({})));

export const handler = middy()
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .use(parser({ schema: EvaluateAlarmsFunctionEvent }))
  .handler((event) => {
    // A source per invocation: its cache must not outlive a secret rotation.
    const metrics = awsMetricQuery(event.config, { cloudwatch, logs: logsClient, secrets: lazySecrets() });
    if (isWatchCheckpoint(event)) return measureWatch(event, { metrics, clock: systemClock });
    return evaluateAlarms(event, { alarms: awsAlarms(event.config.alarms, cloudwatch), metrics, clock: systemClock });
  });

/** Secrets Manager is reached only when a Prometheus header names a secret. */
function lazySecrets(): SecretSource {
  let source: SecretsManagerSource | undefined;
  return { resolve: (ref) => (source ??= new SecretsManagerSource(secretsClient())).resolve(ref) };
}
