import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { logger, tracer } from '../lambdas/shared/powertools';

/** The second yardstick of bench/bundles.ts: the single-client handler with the functions' Powertools wiring and nothing else. */
const s3 = tracer.captureAWSv3Client(new S3Client({}));

export const handler = middy<{ bucket: string; key: string }>()
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .handler(async (event: { bucket: string; key: string }) => {
    const object = await s3.send(new GetObjectCommand({ Bucket: event.bucket, Key: event.key }));
    return { etag: object.ETag ?? null };
  });
