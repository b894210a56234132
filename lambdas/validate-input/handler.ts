import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { systemClock } from '../../core/ports/clock';
import { logger, tracer } from '../shared/powertools';
import { validateInput, ValidateInputEvent } from '../../core/tasks/validate-input/validate-input';

export const handler = middy()
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .use(parser({ schema: ValidateInputEvent }))
  .handler((event) => validateInput(event, { clock: systemClock }));
