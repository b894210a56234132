import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { SNSClient } from '@aws-sdk/client-sns';
import { snsNotifierFor } from '../../adapters/aws/sns-notifier';
import { logger, tracer } from '../shared/powertools';
import { notify, NotifyEvent } from '../../core/tasks/notify/notify';

const sns = tracer.captureAWSv3Client(new SNSClient({}));

export const handler = middy()
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .use(parser({ schema: NotifyEvent }))
  .handler((event) => notify(event, { notifier: snsNotifierFor(sns, event.config), warn: (message) => logger.warn(message) }));
