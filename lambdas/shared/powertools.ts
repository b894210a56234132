import { Logger } from '@aws-lambda-powertools/logger';
import { Tracer } from '@aws-lambda-powertools/tracer';

/** Built once per Lambda environment and shared by every handler module. Events are never logged: they can carry tokens. */
export const logger = new Logger({ serviceName: 'deploy-runbook', logLevel: 'INFO' });
export const tracer = new Tracer({ serviceName: 'deploy-runbook' });
