import { RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ACCESS_LOG_PREFIX } from '../../lib/artifact-bucket';
import { exampleInput, resources, synth } from './fixtures';

describe('artifact bucket', () => {
  const s = synth({ config: exampleInput });
  const bucketId = s.stack.getLogicalId(s.stack.runbook.bucket.node.defaultChild as never);
  const buckets = Object.entries(resources(s.template)).filter(([, r]) => r.Type === 'AWS::S3::Bucket');
  const logsId = buckets.map(([id]) => id).find((id) => id !== bucketId) as string;

  it('creates the artifact bucket and its access-log bucket, nothing more, and the log bucket logs nowhere (no delivery loop)', () => {
    s.template.resourceCountIs('AWS::S3::Bucket', 2);
    expect(resources(s.template)[logsId].Properties).not.toHaveProperty('LoggingConfiguration');
  });

  it.each([
    ['artifact', bucketId],
    ['access-log', logsId],
  ])('encrypts, versions, blocks public access, enforces the owner and expires old versions (%s bucket)', (_name, id) => {
    expect(resources(s.template)[id].Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LifecycleConfiguration: {
        Rules: [
          { Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 90 } },
          { Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } },
        ],
      },
    });
    expect(resources(s.template)[id].Properties).not.toHaveProperty('AccessControl');
  });

  it.each([
    ['artifact', () => bucketId],
    ['access-log', () => logsId],
  ])('denies every request that does not use TLS (%s bucket)', (_name, id) => {
    s.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: id() },
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: [{ 'Fn::GetAtt': [id(), 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [id(), 'Arn'] }, '/*']] }],
          },
        ]),
      },
    });
  });

  it('sends its server access logs to the log bucket, delivered through a bucket policy scoped to it', () => {
    s.template.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: { DestinationBucketName: { Ref: logsId }, LogFilePrefix: ACCESS_LOG_PREFIX },
    });
    s.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logsId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: 's3:PutObject',
            Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logsId, 'Arn'] }, `/${ACCESS_LOG_PREFIX}*`]] },
            Condition: {
              ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [bucketId, 'Arn'] } },
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            },
          },
        ]),
      },
    });
  });

  it('retains both buckets by default', () => {
    for (const [, bucket] of buckets) expect(bucket).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('applies the removalPolicy prop to both buckets', () => {
    const destroyed = synth({ config: exampleInput, removalPolicy: RemovalPolicy.DESTROY });
    const all = Object.values(resources(destroyed.template)).filter((r) => r.Type === 'AWS::S3::Bucket');
    expect(all).toHaveLength(2);
    for (const bucket of all) expect(bucket).toMatchObject({ DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
  });
});

describe('who may write the lock, the ledger and the evidence', () => {
  const OPERATOR = 'arn:aws:iam::123456789012:role/on-call';
  const s = synth({ config: { ...exampleInput, lock: { operatorRoleArns: [OPERATOR] } } });
  const bucketId = s.stack.getLogicalId(s.stack.runbook.bucket.node.defaultChild as never);
  const policy = Object.values(resources(s.template)).find((r) => r.Type === 'AWS::S3::BucketPolicy' && (r.Properties.Bucket as { Ref: string }).Ref === bucketId);
  const statements = (policy?.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
  const roleArn = (folder: string) => ({ 'Fn::GetAtt': [s.stack.getLogicalId(s.stack.runbook.functions[folder].role?.node.defaultChild as never), 'Arn'] });
  const denial = (prefix: string) =>
    statements.find((statement) => statement.Effect === 'Deny' && JSON.stringify(statement.Resource).includes(`/${prefix}*`));

  it('refuses writes and deletes under locks/ to all but the lock function and the operators the configuration names', () => {
    expect(denial('locks/')).toMatchObject({
      Principal: { AWS: '*' },
      Action: ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion'],
      Condition: { ArnNotLike: { 'aws:PrincipalArn': [roleArn('deployment-lock'), OPERATOR] } },
    });
  });

  it.each(['ledger/', 'backups/', 'reports/'])('refuses writes and deletes under %s to all but the ledger function', (prefix) => {
    expect(denial(prefix)).toMatchObject({ Principal: { AWS: '*' }, Condition: { ArnNotLike: { 'aws:PrincipalArn': [roleArn('ledger')] } } });
  });
});
