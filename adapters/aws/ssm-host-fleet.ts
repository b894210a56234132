import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Command,
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  ListCommandsCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { TargetConfig } from '../../config/schema';
import { DeploymentFailedError } from '../../core/errors';
import { isHostVersion } from '../../core/hosts/host-version';
import type { HostAction, HostFleet, HostResult, HostRunKey, HostVersion } from '../../core/ports/host-fleet';
import { commandFor } from '../command-template';

/** The IAM action behind each call, granted from here by lib/task-permissions.ts. */
export const SSM_HOSTS_IAM = {
  sendCommand: 'ssm:SendCommand',
  listCommands: 'ssm:ListCommands',
  getCommandInvocation: 'ssm:GetCommandInvocation',
} as const;

/** The SSM document every command runs with: a shell script on Linux hosts. */
export const RUN_SHELL_SCRIPT = 'AWS-RunShellScript';

export type SsmHostsTargetConfig = Extract<TargetConfig, { kind: 'ssm-hosts' }>;

/** Invocation statuses that are over, by how they ended. */
const SUCCEEDED = new Set(['Success']);
const FAILED = new Set(['Cancelled', 'TimedOut', 'Failed', 'Cancelling', 'Undeliverable', 'Terminated', 'InvalidPlatform', 'AccessDenied', 'DeliveryTimedOut', 'ExecutionTimedOut']);

export interface SsmHostFleetOptions {
  /** How long `versions` waits for every host to answer the `current` command. @default 60000 (Preflight's Task allows 120 s) */
  readonly versionsTimeoutMs?: number;
  /** Between two reads of the `current` command's invocations. @default 1000 */
  readonly pollMs?: number;
  readonly sleep?: (ms: number) => Promise<unknown>;
}

/**
 * Hosts reached through SSM Run Command (`target.kind: "ssm-hosts"`). Every command goes out as `AWS-RunShellScript`
 * with its placeholders filled by values that passed a strict pattern (adapters/command-template.ts refuses anything
 * a shell would interpret); its Comment carries the rollout's key (`deploy-runbook <operation> <step> <batch>`), and a
 * command is found again by that Comment among the commands of the batch's first host, so that a retried call sends
 * nothing twice and the runbook keeps no progress of its own.
 */
export class SsmHostFleet implements HostFleet {
  readonly description: string;
  readonly checksReadiness: boolean;
  private readonly wait: (ms: number) => Promise<unknown>;

  constructor(
    private readonly ssm: SSMClient,
    private readonly config: SsmHostsTargetConfig,
    private readonly selectHosts: () => Promise<string[]>,
    description: string,
    private readonly options: SsmHostFleetOptions = {},
  ) {
    this.description = description;
    this.checksReadiness = config.ready !== undefined;
    this.wait = options.sleep ?? ((ms) => sleep(ms));
  }

  hosts(): Promise<string[]> {
    return this.selectHosts();
  }

  async versions(hosts: readonly string[]): Promise<HostVersion[]> {
    const commandId = await this.send(hosts, this.config.current, `deploy-runbook current ${Date.now().toString(36)}`);
    const deadline = Date.now() + (this.options.versionsTimeoutMs ?? 60_000);
    for (;;) {
      const invocations = await Promise.all(hosts.map((host) => this.invocation(commandId, host)));
      const done = invocations.every((invocation) => invocation !== null && (SUCCEEDED.has(invocation.Status ?? '') || FAILED.has(invocation.Status ?? '')));
      if (done || Date.now() >= deadline) return hosts.map((host, index) => versionOf(host, invocations[index]));
      await this.wait(this.options.pollMs ?? 1000);
    }
  }

  async start(key: HostRunKey, hosts: readonly string[], action: HostAction): Promise<void> {
    if ((await this.find(key, hosts)) !== null) return;
    await this.send(hosts, this.script(action), commentOf(key));
  }

  async results(key: HostRunKey, hosts: readonly string[]): Promise<HostResult[] | null> {
    const command = await this.find(key, hosts);
    if (command === null) return null;
    const commandId = command.CommandId as string;
    return Promise.all(
      hosts.map(async (host): Promise<HostResult> => {
        const invocation = await this.invocation(commandId, host);
        const status = invocation?.Status ?? 'Pending';
        if (SUCCEEDED.has(status)) return { host, state: 'succeeded', detail: outputOf(invocation) };
        if (FAILED.has(status)) return { host, state: 'failed', detail: `${status}${exitCodeOf(invocation)}: ${outputOf(invocation)}` };
        return { host, state: 'pending', detail: status };
      }),
    );
  }

  /** The configured command for `action`, its placeholders filled; a value a shell would interpret is refused. */
  private script(action: HostAction): string {
    const template = action.kind === 'ready' ? this.config.ready : this.config[action.kind];
    if (template === undefined) throw new DeploymentFailedError('target.ready: a ready check was started but none is configured');
    const values = { version: action.version, image: action.kind === 'ready' ? null : action.image };
    return commandFor(template, values, (message) => new DeploymentFailedError(`target.${action.kind}: ${message}`));
  }

  private async send(hosts: readonly string[], script: string, comment: string): Promise<string> {
    const sent = await this.ssm.send(
      new SendCommandCommand({
        DocumentName: RUN_SHELL_SCRIPT,
        InstanceIds: [...hosts],
        Comment: comment,
        Parameters: { commands: [script], executionTimeout: [String(this.config.commandTimeoutSeconds)] },
        // Every host of the batch gets the command at once; the runbook judges the results against maxErrors.
        MaxConcurrency: '100%',
        MaxErrors: '100%',
      }),
    );
    const commandId = sent.Command?.CommandId;
    if (!commandId) throw new DeploymentFailedError(`SSM SendCommand to ${hosts.join(', ')} returned no command id`);
    return commandId;
  }

  /** The command started under `key`, among the commands of the batch's first host (SSM keeps them 30 days). */
  private async find(key: HostRunKey, hosts: readonly string[]): Promise<Command | null> {
    const comment = commentOf(key);
    let nextToken: string | undefined;
    do {
      const page = await this.ssm.send(new ListCommandsCommand({ InstanceId: hosts[0], NextToken: nextToken, MaxResults: 50 }));
      const found = (page.Commands ?? []).find((command) => command.Comment === comment && command.DocumentName === RUN_SHELL_SCRIPT);
      if (found) return found;
      nextToken = page.NextToken;
    } while (nextToken);
    return null;
  }

  /** One host's invocation; null while SSM has not registered it yet (just after SendCommand). */
  private async invocation(commandId: string, host: string): Promise<GetCommandInvocationCommandOutput | null> {
    try {
      return await this.ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: host }));
    } catch (error) {
      if ((error as Error).name === 'InvocationDoesNotExist') return null;
      throw error;
    }
  }
}

function commentOf(key: HostRunKey): string {
  return `deploy-runbook ${key.operation} ${key.step} ${key.batch}`;
}

function exitCodeOf(invocation: GetCommandInvocationCommandOutput | null): string {
  return invocation?.ResponseCode !== undefined && invocation.ResponseCode >= 0 ? ` (exit ${invocation.ResponseCode})` : '';
}

function outputOf(invocation: GetCommandInvocationCommandOutput | null): string {
  const stdout = invocation?.StandardOutputContent?.trim() ?? '';
  const stderr = invocation?.StandardErrorContent?.trim() ?? '';
  return [stdout, stderr ? `stderr: ${stderr}` : ''].filter(Boolean).join(' ');
}

/** The last line the `current` command printed, when the command succeeded and the line is a version. */
function versionOf(host: string, invocation: GetCommandInvocationCommandOutput | null): HostVersion {
  const status = invocation?.Status ?? 'no answer';
  if (!SUCCEEDED.has(status)) return { host, version: null, detail: `the current command ended ${status}${exitCodeOf(invocation)}: ${outputOf(invocation)}` };
  const lines = (invocation?.StandardOutputContent ?? '').trim().split('\n');
  const last = lines[lines.length - 1]?.trim() ?? '';
  if (!isHostVersion(last)) return { host, version: null, detail: `the current command printed ${JSON.stringify(last)} as its last line, which is not a version (letters, digits, . _ + -)` };
  return { host, version: last, detail: `runs ${last}` };
}

