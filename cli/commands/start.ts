import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { z } from 'zod';
import { DeployRequest } from '../../config/deployment-input';
import { formatIssues } from '../../config/issues';
import { RunbookError } from '../../core/errors';
import { ExitCode } from '../exit-codes';
import { executionName } from '../execution-name';
import { type CliIo, regionFrom } from '../io';
import { emitResult, reportExecution } from '../report-execution';
import { arnRegion, type StateMachineOptions, stackStateMachineArn, stateMachineSource } from '../state-machine-arn';
import { UsageError } from '../usage-error';

export interface StartOptions extends StateMachineOptions {
  readonly version: string;
  readonly image?: string;
  readonly reason?: string;
  readonly requestedBy?: string;
  readonly wait?: boolean;
  readonly json?: boolean;
  readonly region?: string;
}

/** Following a started execution failed; the execution itself goes on. */
export class FollowError extends RunbookError {}

/** Input fields and the flags that set them, so that an error names what the user typed. */
const FLAGS: Record<string, string> = { version: '--version', image: '--image', reason: '--reason', requestedBy: '--requested-by' };

/** `deploy-runbook start`: validates the request, starts an execution and, with --wait, follows it. */
export async function start(options: StartOptions, io: CliIo): Promise<number> {
  const input = deployInput(options, io.env);
  const source = stateMachineSource(options, io.cwd);
  const stateMachineArn = 'arn' in source ? source.arn : await stackStateMachineArn(io.aws(regionFrom(options.region, io.env)).cloudFormation, source.stack);
  const { sfn } = io.aws(options.region ?? arnRegion(stateMachineArn));
  const name = executionName(input.version, io.now());
  const started = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
  const executionArn = started.executionArn;
  if (!executionArn) throw new FollowError(`StartExecution of ${name} on ${stateMachineArn} returned no executionArn`);

  if (!options.wait) {
    const result = { outcome: 'started', executionArn, version: input.version, steps: [], durationMs: 0, error: null, cause: null, report: null, snapshotId: null, alarms: null } as const;
    emitResult(result, options.json ?? false, io);
    return ExitCode.Succeeded;
  }
  (options.json ? io.stderr : io.stdout).write(`▶ deploying ${input.version} (execution ${name})\n`);
  try {
    return await reportExecution(sfn, executionArn, { follow: true, json: options.json ?? false, version: input.version }, io);
  } catch (error) {
    throw new FollowError(`lost track of ${executionArn} (${(error as Error).message}); the execution goes on: deploy-runbook status ${executionArn} --wait`);
  }
}

/** The execution input, checked with the same schema ValidateInput uses: bad input never reaches AWS. */
export function deployInput(options: StartOptions, env: CliIo['env']): z.output<typeof DeployRequest> {
  const requestedBy = options.requestedBy ?? env.GITHUB_ACTOR ?? env.USER;
  const raw = {
    action: 'deploy',
    version: options.version,
    ...(options.image !== undefined ? { image: options.image } : {}),
    ...(options.reason !== undefined ? { reason: options.reason } : {}),
    // Who asked, for the evidence report: --requested-by, else the CI actor or the local user.
    ...(requestedBy !== undefined ? { requestedBy } : {}),
  };
  const parsed = DeployRequest.safeParse(raw);
  if (!parsed.success) {
    throw new UsageError(formatIssues(parsed.error, raw).map((line) => line.replace(/^(\w+)/, (field) => FLAGS[field] ?? field)).join('; '));
  }
  return parsed.data;
}
