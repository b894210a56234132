import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerSource } from '../../adapters/aws/secrets-manager-source';
import { systemClock } from '../../core/ports/clock';
import { logger, tracer } from '../shared/powertools';
import { runSmokeTests, SmokeTestEvent } from '../../core/tasks/smoke-test/smoke-test';

const secretsManager = tracer.captureAWSv3Client(new SecretsManagerClient({}));

/** SmokeTest and VerifyRollback. Logs only the redacted summary: the event's checks reference secrets. */
export const handler = middy()
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .use(parser({ schema: SmokeTestEvent }))
  .handler(async (event) => {
    // A source per invocation: its cache must not outlive a secret rotation.
    const report = await runSmokeTests(event, { secrets: new SecretsManagerSource(secretsManager), clock: systemClock });
    logger.info('smoke tests finished', { phase: report.phase, passed: report.passed, summary: report.summary });
    return report;
  });
