import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { awsAlarms } from '../../adapters/aws/aws-ports';
import { systemClock } from '../../core/ports/clock';
import { evaluateAlarms, EvaluateAlarmsEvent } from '../../core/tasks/evaluate-alarms/evaluate-alarms';
import { logger, tracer } from '../shared/powertools';

/** Adaptive retries absorb DescribeAlarms throttling before the state machine's own retries are spent. */
export const cloudwatch = tracer.captureAWSv3Client(new CloudWatchClient({ maxAttempts: 5, retryMode: 'adaptive' }));

export const handler = middy()
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .use(parser({ schema: EvaluateAlarmsEvent }))
  .handler((event) => evaluateAlarms(event, { alarms: awsAlarms(event.config.alarms, cloudwatch), clock: systemClock }));
