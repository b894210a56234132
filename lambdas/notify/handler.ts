import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { S3ArtifactStore } from '../../adapters/aws/s3-artifact-store';
import { SnsNotifier } from '../../adapters/aws/sns-notifier';
import { requireEnv } from '../../core/errors';
import { logger, tracer } from '../shared/powertools';
import { notify, NotifyEvent } from '../../core/tasks/notify/notify';

const notifier = new SnsNotifier(tracer.captureAWSv3Client(new SNSClient({})));
const s3 = tracer.captureAWSv3Client(new S3Client({}));

export const handler = middy()
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .use(parser({ schema: NotifyEvent }))
  .handler((event) =>
    // The start notification reads past durations from the runbook's ledger.
    notify(event, { notifier, store: new S3ArtifactStore(s3, requireEnv('RUNBOOK_BUCKET')), warn: (message) => logger.warn(message) }),
  );
