import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { databaseEndpoint } from '../../adapters/aws/database-connection';
import { SecretsManagerSource } from '../../adapters/aws/secrets-manager-source';
import { PgInspector } from '../../adapters/pg-inspector';
import { systemClock } from '../../core/ports/clock';
import { DataChecksEvent, runDataChecks } from '../../core/tasks/data-checks/data-checks';
import { logger, tracer } from '../shared/powertools';

const secretsManager = tracer.captureAWSv3Client(new SecretsManagerClient({}));

/**
 * PreflightDataChecks, FingerprintData, AfterMigrationChecks, VerifyRestoredData: reads the database of
 * `database.connection` (the secret read per invocation, so a rotated password is picked up); VerifyDrillCopy reads
 * a restore drill's copy on the same server instead (only a `<db>_drill_<ts>` name: core/tasks/data-checks). Logs the summary
 * and where the database is, never the password.
 */
export const handler = middy()
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .use(parser({ schema: DataChecksEvent }))
  .handler(async (event) => {
    const connection = event.config.database?.connection;
    const secrets = new SecretsManagerSource(secretsManager);
    const endpoint = connection ? await databaseEndpoint(connection, secrets) : null;
    const inspector = endpoint ? new PgInspector(endpoint.client, endpoint.description) : null;
    // A restore drill's copy: the same server, credentials and TLS, the copy's name instead of the configured database.
    const copy = connection && event.database && !event.host ? await databaseEndpoint(connection, secrets, { database: event.database }) : null;
    const inspectorOf = copy ? (database: string) => new PgInspector({ ...copy.client, database }, copy.description) : undefined;
    // An RDS or Aurora drill's copy: its own endpoint (event.host), the same credentials and database name.
    const scratch = connection && event.host ? await databaseEndpoint(connection, secrets, { host: event.host }) : null;
    const inspectorAt = scratch ? () => new PgInspector(scratch.client, scratch.description) : undefined;
    const result = await runDataChecks(event, { inspector, inspectorOf, inspectorAt, clock: systemClock });
    const summary = result && 'summary' in result ? result.summary : `fingerprint of ${result ? Object.keys(result.tables).length : 0} tables`;
    logger.info('data checks finished', { operation: event.operation, phase: event.phase, database: (scratch ?? copy ?? endpoint)?.description ?? null, summary });
    return result;
  });
