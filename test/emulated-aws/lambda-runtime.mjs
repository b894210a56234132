// One Lambda execution environment: loads a function's bundle from cdk.out once, then serves invocations sent
// by the function host over IPC, the way the Node.js runtime does (event, context, a thrown error reported as
// {errorType: error.name, errorMessage, trace}). Plain JavaScript, so the bundle runs exactly as built.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
// The emulated network: names such as shop-api.tier.test resolve to the loopback address the test bound.
import './tier-dns.mjs';

const { TIER_TASK_ROOT, TIER_HANDLER } = process.env;

function toError(error) {
  const isError = error instanceof Error;
  return {
    errorType: isError ? error.name : 'Error',
    errorMessage: isError ? error.message : String(error),
    trace: isError && typeof error.stack === 'string' ? error.stack.split('\n') : [],
  };
}

const [file, exported] = TIER_HANDLER.split('.');
let handler;
try {
  const module = await import(pathToFileURL(join(TIER_TASK_ROOT, `${file}.mjs`)).href);
  handler = module[exported];
  if (typeof handler !== 'function') throw Object.assign(new Error(`${TIER_HANDLER} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
  process.send({ type: 'ready' });
} catch (error) {
  process.send({ type: 'init-error', error: { ...toError(error), errorType: error?.name?.startsWith('Runtime.') ? error.name : 'Runtime.ImportModuleError' } });
  process.exit(1);
}

process.on('message', async (message) => {
  if (message.type !== 'invoke') return;
  const { id, event, requestId, deadline, traceId } = message;
  process.env._X_AMZN_TRACE_ID = traceId;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: message.functionArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const result = await handler(event, context);
    process.send({ type: 'result', id, ok: true, payload: JSON.stringify(result === undefined ? null : result) });
  } catch (error) {
    process.send({ type: 'result', id, ok: false, payload: JSON.stringify(toError(error)) });
  }
});
