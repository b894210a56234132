import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { EmfMetrics } from '../../adapters/aws/emf-metrics';
import { S3ArtifactStore } from '../../adapters/aws/s3-artifact-store';
import { SfnExecutionHistory } from '../../adapters/aws/sfn-execution-history';
import { systemClock } from '../../core/ports/clock';
import { requireEnv } from '../../core/errors';
import type { Json } from '../../statemachines/definition';
import { metrics } from '../shared/metrics';
import { logger, tracer } from '../shared/powertools';
import { LedgerEvent, runLedger } from '../../core/tasks/ledger/ledger';
// Bundled: the definition the report draws the execution's path through (the state machine runs the same file).
import definition from '../../statemachines/deployment.asl.json';

const s3 = tracer.captureAWSv3Client(new S3Client({}));
const sfn = tracer.captureAWSv3Client(new SFNClient({}));

export const handler = middy()
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .use(parser({ schema: LedgerEvent }))
  .handler((event) =>
    runLedger(event, {
      store: new S3ArtifactStore(s3, requireEnv('RUNBOOK_BUCKET')),
      clock: systemClock,
      metrics: new EmfMetrics(metrics, event.config.name),
      path: { history: new SfnExecutionHistory(sfn), definition: definition as unknown as Json },
    }),
  );
