import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SnsNotifier } from '../../adapters/aws/sns-notifier';
import { S3ArtifactStore } from '../../adapters/aws/s3-artifact-store';
import { type KnownRunbook, SfnRunbookCatalog } from '../../adapters/aws/sfn-runbook-catalog';
import { systemClock } from '../../core/ports/clock';
import { requireEnv } from '../../core/errors';
import { logger, tracer } from '../shared/powertools';
import { ReleasePlanEvent, runReleasePlan } from '../../core/tasks/release-plan/release-plan';

const s3 = tracer.captureAWSv3Client(new S3Client({}));
const sfn = tracer.captureAWSv3Client(new SFNClient({}));
const notifier = new SnsNotifier(tracer.captureAWSv3Client(new SNSClient({})));
/** The runbooks the plan's stack may start (lib/release-plan.ts writes them). */
const runbooks = JSON.parse(requireEnv('PLAN_RUNBOOKS')) as KnownRunbook[];

export const handler = middy()
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .use(parser({ schema: ReleasePlanEvent }))
  .handler((event) =>
    runReleasePlan(event, { store: new S3ArtifactStore(s3, requireEnv('RUNBOOK_BUCKET')), clock: systemClock, runbooks: new SfnRunbookCatalog(sfn, runbooks), notifier }),
  );
