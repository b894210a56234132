import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type * as z from 'zod/mini';
import { formatIssues } from '../../config/issues';
import type { RunbookError } from '../../core/errors';

/**
 * The IAM action behind each AWS call invokeHook makes, implicit ones included: written beside
 * the calls, granted from here by lib/task-permissions.ts (test/adapters/aws/iam-beside-commands.test.ts checks both ends).
 */
export const HOOK_IAM = {
  /** The Invoke API is authorised as lambda:InvokeFunction. */
  invoke: 'lambda:InvokeFunction',
} as const;

/** The error a failed hook call turns into: DeploymentFailedError for targets, MigrationFailedError for migrations. */
export type HookErrorClass = new (message: string) => RunbookError;

/** Longest part of a hook's own error message repeated in ours: enough to act on, short enough for a Cause. */
const MAX_HOOK_MESSAGE = 1000;

/**
 * Calls a customer's hook Lambda synchronously with `{action, ...payload}` and returns its answer, parsed
 * with `schema`. Every way a hook can let us down (an unhandled error, a non-200 status, a payload that is
 * not JSON or does not match) becomes one `failure` error naming the function, the action and what was wrong.
 */
export async function invokeHook<S extends z.ZodMiniType>(
  lambda: LambdaClient,
  functionArn: string,
  action: string,
  payload: Record<string, unknown>,
  schema: S,
  failure: HookErrorClass,
): Promise<z.output<S>> {
  const fail = (what: string) => new failure(`hook ${functionArn} action "${action}" ${what}`);
  const response = await lambda.send(
    new InvokeCommand({ FunctionName: functionArn, InvocationType: 'RequestResponse', Payload: JSON.stringify({ action, ...payload }) }),
  );
  const text = response.Payload ? Buffer.from(response.Payload).toString('utf8') : '';
  if (response.FunctionError) throw fail(`failed: ${hookErrorMessage(text, response.FunctionError)}`);
  if (response.StatusCode !== 200) throw fail(`was not invoked: Lambda answered status ${response.StatusCode ?? 'none'}`);

  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw fail(`returned a payload that is not JSON (${text.length} bytes starting ${JSON.stringify(text.slice(0, 40))})`);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw fail(`returned an unexpected response: ${formatIssues(parsed.error, body).join('; ')}`);
  return parsed.data;
}

/** Lambda reports a function error as `{errorType, errorMessage, trace}`; fall back to the raw text. */
function hookErrorMessage(text: string, functionError: string): string {
  let message = text;
  try {
    const error = JSON.parse(text) as { errorType?: unknown; errorMessage?: unknown };
    if (typeof error.errorMessage === 'string') {
      message = typeof error.errorType === 'string' ? `${error.errorType}: ${error.errorMessage}` : error.errorMessage;
    }
  } catch {
    // not JSON: keep the raw text
  }
  const trimmed = message.length > MAX_HOOK_MESSAGE ? `${message.slice(0, MAX_HOOK_MESSAGE)}…` : message;
  return `${trimmed || '(no message)'} (${functionError})`;
}
