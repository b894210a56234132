import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE } from '../../core/tasks/ledger/deployment-metrics';
import { SERVICE_NAME } from '../../core/service-name';

/** Built once per Lambda environment, apart from powertools.ts: only the ledger records metrics, so only its bundle carries them. */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
