import { ECSClient } from '@aws-sdk/client-ecs';
import { RDSClient } from '@aws-sdk/client-rds';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DatabaseClients } from '../../adapters/aws/aws-ports';
import { SecretsManagerSource } from '../../adapters/aws/secrets-manager-source';
import { tracer } from './powertools';

const rds = tracer.captureAWSv3Client(new RDSClient({}));
let ecs: ECSClient | undefined;
let s3: S3Client | undefined;
let secretsManager: SecretsManagerClient | undefined;

/**
 * The clients of the database functions, one set per container: RDS for snapshots; ECS, S3 and Secrets Manager,
 * made on first use, for logical backups (`postgres`). A secret source per invocation: no cache outlives a rotation.
 */
export function databaseClients(target: string): DatabaseClients {
  return {
    rds,
    ecs: () => (ecs ??= tracer.captureAWSv3Client(new ECSClient({}))),
    s3: () => (s3 ??= tracer.captureAWSv3Client(new S3Client({}))),
    secrets: () => new SecretsManagerSource((secretsManager ??= tracer.captureAWSv3Client(new SecretsManagerClient({})))),
    target,
  };
}
