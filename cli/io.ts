import { setTimeout as sleep } from 'node:timers/promises';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SFNClient } from '@aws-sdk/client-sfn';

/** Where the CLI writes; `isTTY` decides between a live spinner and plain lines. */
export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface AwsClients {
  readonly sfn: SFNClient;
  readonly cloudFormation: CloudFormationClient;
}

/** Everything the CLI touches outside itself, injectable so that tests run it in-process. */
export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where a relative --config and cdk.json are looked up. */
  readonly cwd: string;
  /** Clients for a region; undefined leaves it to the SDK's usual resolution (profile, IMDS). */
  readonly aws: (region: string | undefined) => AwsClients;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => Date;
}

/** The real process: its streams, environment and AWS clients. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    aws: (region) => ({ sfn: new SFNClient({ region }), cloudFormation: new CloudFormationClient({ region }) }),
    sleep: (ms) => sleep(ms),
    now: () => new Date(),
  };
}

/** The region from --region, else the environment; the SDK resolves the rest. */
export function regionFrom(option: string | undefined, env: CliIo['env']): string | undefined {
  return option ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
}
