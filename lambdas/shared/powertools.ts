import { Logger } from '@aws-lambda-powertools/logger';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { SERVICE_NAME } from '../../core/service-name';

/** Built once per Lambda environment and shared by every handler module. Events are never logged: they can carry tokens. */
export const logger = new Logger({ serviceName: SERVICE_NAME, logLevel: 'INFO' });
export const tracer = new Tracer({ serviceName: SERVICE_NAME });
