import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { awsAlarms } from '../../adapters/aws/aws-ports';
import { systemClock } from '../../core/ports/clock';
import { logger, tracer } from '../shared/powertools';
import { validateInput, ValidateInputEvent } from '../../core/tasks/validate-input/validate-input';

/** Made on first use: only an alarm rollback's input makes ValidateInput read an alarm. */
let cloudwatch: CloudWatchClient | undefined;
const cloudwatchClient = () => (cloudwatch ??= tracer.captureAWSv3Client(new CloudWatchClient({ maxAttempts: 5, retryMode: 'adaptive' })));

export const handler = middy()
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .use(parser({ schema: ValidateInputEvent }))
  .handler((event) => validateInput(event, { clock: systemClock, alarms: (alarms) => awsAlarms(alarms, cloudwatchClient()) }));
