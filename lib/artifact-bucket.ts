import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, type CfnBucket, ObjectOwnership, type BucketProps } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Key prefix of the access logs in the log bucket. */
export const ACCESS_LOG_PREFIX = 'artifacts/';

export interface ArtifactBucketProps {
  /** What happens to both buckets when they leave the stack. @default RemovalPolicy.RETAIN (they hold the ledger and backups) */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The runbook's S3 store (locks, ledger, backup manifests, reports) and the bucket receiving its server
 * access logs. Both are private, TLS-only, encrypted, versioned and owner-enforced.
 */
export class ArtifactBucket extends Construct {
  /** Where the task functions keep the lock, the ledger, backup manifests and reports. */
  readonly bucket: Bucket;
  /** Receives the server access logs of `bucket`. */
  readonly accessLogs: Bucket;

  constructor(scope: Construct, id: string, props: ArtifactBucketProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.accessLogs = new Bucket(this, 'AccessLogs', protectedBucket(removalPolicy));
    this.bucket = new Bucket(this, 'Bucket', protectedBucket(removalPolicy));

    // Set on the L1 so delivery uses the policy below, never an ACL (forbidden by BUCKET_OWNER_ENFORCED), whatever the feature flags.
    (this.bucket.node.defaultChild as CfnBucket).loggingConfiguration = {
      destinationBucketName: this.accessLogs.bucketName,
      logFilePrefix: ACCESS_LOG_PREFIX,
    };
    this.accessLogs.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('logging.s3.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [this.accessLogs.arnForObjects(`${ACCESS_LOG_PREFIX}*`)],
        conditions: {
          ArnLike: { 'aws:SourceArn': this.bucket.bucketArn },
          StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
        },
      }),
    );
  }
}

/**
 * Refuses writes and deletes under `prefix` to every principal but `writers` (role ARNs): what decides whether a
 * deployment may start (`locks/`) or what an alarm rollback redeploys (`ledger/`) is only the runbook's to write.
 */
export function restrictWriters(bucket: Bucket, prefix: string, writers: readonly string[]): void {
  bucket.addToResourcePolicy(
    new PolicyStatement({
      sid: `OnlyTheRunbookWrites${prefix.replace(/[^A-Za-z0-9]/g, '')}`,
      effect: Effect.DENY,
      principals: [new AnyPrincipal()],
      actions: ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion'],
      resources: [bucket.arnForObjects(`${prefix}*`)],
      conditions: { ArnNotLike: { 'aws:PrincipalArn': [...writers] } },
    }),
  );
}

function protectedBucket(removalPolicy: RemovalPolicy): BucketProps {
  return {
    encryption: BucketEncryption.S3_MANAGED,
    versioned: true,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
    removalPolicy,
    lifecycleRules: [
      { id: 'expire-noncurrent-versions', noncurrentVersionExpiration: Duration.days(90) },
      { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
    ],
  };
}
