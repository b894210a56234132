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

export interface StartOptions extends StartedExecutionOptions {
  readonly version: string;
  readonly image?: string;
  readonly reason?: string;
  readonly requestedBy?: string;
}

/** Following a started execution failed; the execution itself goes on. */
export class FollowError extends RunbookError {}

/** Input fields and the flags that set them, so that an error names what the user typed. */
const FLAGS: Record<string, string> = { version: '--version', image: '--image', reason: '--reason', requestedBy: '--requested-by' };

/** `deploy-runbook start`: validates the request, starts an execution and, with --wait, follows it. */
export async function start(options: StartOptions, io: CliIo): Promise<number> {
  const input = deployInput(options, io.env);
  return startExecution(options, io, { input, name: executionName(input.version, io.now()), version: input.version, following: `deploying ${input.version}` });
}

/** Where to start an execution and how to report it: the flags `start` and `drill` share. */
export interface StartedExecutionOptions extends StateMachineOptions {
  readonly wait?: boolean;
  readonly json?: boolean;
  readonly region?: string;
}

/**
 * Finds the state machine (--state-machine-arn, or the stack's output), starts `run.input` under `run.name` and, with
 * --wait, follows the execution to its end; the exit code says how it ended (0 when only started).
 */
export async function startExecution(
  options: StartedExecutionOptions,
  io: CliIo,
  run: { readonly input: object; readonly name: string; readonly version?: string; readonly following: string; readonly subject?: string },
): Promise<number> {
  const source = stateMachineSource(options, io.cwd);
  const stateMachineArn = 'arn' in source ? source.arn : await stackStateMachineArn(io.aws(regionFrom(options.region, io.env)).cloudFormation, source.stack);
  const { sfn } = io.aws(options.region ?? arnRegion(stateMachineArn));
  const { name } = run;
  const started = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(run.input) }));
  const executionArn = started.executionArn;
  if (!executionArn) throw new FollowError(`StartExecution of ${name} on ${stateMachineArn} returned no executionArn`);

  if (!options.wait) {
    const result = { outcome: 'started', subject: run.subject, executionArn, version: run.version ?? null, steps: [], durationMs: 0, error: null, cause: null, report: null, snapshotId: null, alarms: null } as const;
    emitResult(result, options.json ?? false, io);
    return ExitCode.Succeeded;
  }
  (options.json ? io.stderr : io.stdout).write(`▶ ${run.following} (execution ${name})\n`);
  try {
    return await reportExecution(sfn, executionArn, { follow: true, json: options.json ?? false, version: run.version, subject: run.subject }, io);
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
