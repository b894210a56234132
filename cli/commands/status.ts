import { type CliIo } from '../io';
import { reportExecution } from '../report-execution';
import { arnRegion } from '../state-machine-arn';
import { UsageError } from '../usage-error';

export interface StatusOptions {
  readonly json?: boolean;
  readonly wait?: boolean;
  readonly region?: string;
}

export const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[A-Za-z0-9_-]{1,80}:\S{1,80}$/;

/** `deploy-runbook status <execution-arn>`: the steps so far and the outcome; --wait follows it to the end. */
export async function status(executionArn: string, options: StatusOptions, io: CliIo): Promise<number> {
  if (!EXECUTION_ARN.test(executionArn)) {
    throw new UsageError(`execution-arn: must be an execution ARN such as arn:aws:states:eu-west-1:123456789012:execution:deploy-runbook:v1.4.2-20250102T030405Z (got "${executionArn}")`);
  }
  const { sfn } = io.aws(options.region ?? arnRegion(executionArn));
  return reportExecution(sfn, executionArn, { follow: options.wait ?? false, json: options.json ?? false }, io);
}
