import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ConfigError, loadConfigFile } from '../config/load';
import { RunbookError } from '../core/errors';
import { UsageError } from './usage-error';

/** The stack output the CDK stack exports the state machine under. */
export const STATE_MACHINE_OUTPUT = 'StateMachineArn';
/** cdk.json context key naming the configuration file the CDK app deploys. */
const CDK_CONFIG_CONTEXT = 'deploy-runbook:config';
const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/;

/** The stack cannot be read or does not export the state machine. */
export class StackLookupError extends RunbookError {}

export interface StateMachineOptions {
  readonly stateMachineArn?: string;
  readonly stack?: string;
  readonly config?: string;
}

/** The stack a configuration deploys to, as the CDK app names it. */
export function stackNameFor(configName: string): string {
  return `DeployRunbook-${configName}`;
}

/** The region inside an ARN. */
export function arnRegion(arn: string): string {
  return arn.split(':')[3];
}

/** Checks --state-machine-arn, or decides which stack to read it from: nothing here calls AWS. */
export function stateMachineSource(options: StateMachineOptions, cwd: string): { arn: string } | { stack: string } {
  if (options.stateMachineArn !== undefined) {
    if (!STATE_MACHINE_ARN.test(options.stateMachineArn)) {
      throw new UsageError(`--state-machine-arn: must be a state machine ARN such as arn:aws:states:eu-west-1:123456789012:stateMachine:deploy (got "${options.stateMachineArn}")`);
    }
    return { arn: options.stateMachineArn };
  }
  if (options.stack !== undefined) return { stack: options.stack };
  const configPath = options.config ?? cdkConfigPath(cwd);
  if (!configPath) {
    throw new UsageError('no state machine given: pass --state-machine-arn <arn>, --stack <name> or --config <file> (no cdk.json with a "deploy-runbook:config" context here)');
  }
  try {
    return { stack: stackNameFor(loadConfigFile(resolve(cwd, configPath)).name) };
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(`--config: ${error.message}`);
    throw error;
  }
}

/** Reads the StateMachineArn output of the stack with DescribeStacks. */
export async function stackStateMachineArn(cloudFormation: CloudFormationClient, stack: string, output: string = STATE_MACHINE_OUTPUT): Promise<string> {
  let outputs: { OutputKey?: string; OutputValue?: string }[];
  try {
    const described = await cloudFormation.send(new DescribeStacksCommand({ StackName: stack }));
    outputs = described.Stacks?.[0]?.Outputs ?? [];
  } catch (error) {
    throw new StackLookupError(`cannot read stack ${stack}: ${(error as Error).message}`);
  }
  const arn = outputs.find((found) => found.OutputKey === output)?.OutputValue;
  if (!arn) {
    const keys = outputs.map((found) => found.OutputKey).join(', ') || 'none';
    throw new StackLookupError(`stack ${stack} has no ${output} output (outputs: ${keys}); is it a deploy-runbook stack?`);
  }
  return arn;
}

function cdkConfigPath(cwd: string): string | undefined {
  const cdkJson = resolve(cwd, 'cdk.json');
  if (!existsSync(cdkJson)) return undefined;
  try {
    const context = (JSON.parse(readFileSync(cdkJson, 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
    const path = context[CDK_CONFIG_CONTEXT];
    return typeof path === 'string' ? path : undefined;
  } catch (error) {
    throw new UsageError(`cdk.json: is not valid JSON (${(error as Error).message})`);
  }
}
