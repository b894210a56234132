import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';

/** The yardstick of bench/bundles.ts: a handler that bundles `@aws-sdk/client-s3` and nothing else. */
const s3 = new S3Client({});

export const handler = async (event: { bucket: string; key: string }) => {
  const object = await s3.send(new GetObjectCommand({ Bucket: event.bucket, Key: event.key }));
  return { etag: object.ETag ?? null };
};
