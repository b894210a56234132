import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { AlarmsConfig } from '../../config/schema';
import { CloudWatchAlarmSource } from '../../adapters/aws/cloudwatch-alarms';
import type { AlarmSource } from '../../core/ports/alarm-source';
import { systemClock } from '../../core/ports/clock';
import { InvalidInputError } from '../../core/errors';
import { logger, tracer } from '../shared/powertools';
import { evaluateAlarms, EvaluateAlarmsEvent } from '../../core/tasks/evaluate-alarms/evaluate-alarms';

/** Adaptive retries absorb DescribeAlarms throttling before the state machine's own retries are spent. */
export const cloudwatch = tracer.captureAWSv3Client(new CloudWatchClient({ maxAttempts: 5, retryMode: 'adaptive' }));

/** The AWS alarm source; Prometheus rules only exist in the rehearsal. */
export function awsAlarmSourceFor(alarms: AlarmsConfig, client: CloudWatchClient = cloudwatch): AlarmSource {
  if (alarms.kind !== 'cloudwatch') {
    throw new InvalidInputError(`config.alarms.kind "${alarms.kind}" cannot be evaluated on AWS: use cloudwatch (prometheus is for the local rehearsal)`);
  }
  return new CloudWatchAlarmSource(client);
}

export const handler = middy()
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .use(parser({ schema: EvaluateAlarmsEvent }))
  .handler((event) => evaluateAlarms(event, { alarms: awsAlarmSourceFor(event.config.alarms), clock: systemClock }));
