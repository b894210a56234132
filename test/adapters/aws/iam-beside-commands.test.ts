import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import { Policy } from 'aws-cdk-lib/aws-iam';
import { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { ReleasePlanRunner } from '../../../lib/release-plan';
import { LAMBDA_VPC_IAM } from '../../../lib/network';
import { PROJECT_ROOT } from '../../../lib/runbook-function';
import { analysisInput, auroraDrillInput, auroraInput, exampleInput, hookInput, hostsInput, lambdaAliasInput, lambdaImageInput, postgresInput, rdsDrillInput, synth, taskStatements } from '../../lib/fixtures';

const ADAPTERS = join(PROJECT_ROOT, 'adapters', 'aws');

/** The IAM prefix of each SDK client package the adapters use. */
const PREFIX: Record<string, string> = {
  'client-cloudwatch': 'cloudwatch',
  'client-cloudwatch-logs': 'logs',
  'client-ec2': 'ec2',
  'client-ecs': 'ecs',
  'client-lambda': 'lambda',
  'client-rds': 'rds',
  'client-s3': 's3',
  'client-secrets-manager': 'secretsmanager',
  'client-sns': 'sns',
  'client-sfn': 'states',
  'client-ssm': 'ssm',
};

/** API operations whose IAM action has another name. */
const AUTHORISED_AS: Record<string, string> = {
  'lambda:Invoke': 'lambda:InvokeFunction',
  's3:CreateMultipartUpload': 's3:PutObject',
  's3:UploadPart': 's3:PutObject',
  's3:CompleteMultipartUpload': 's3:PutObject',
  's3:HeadObject': 's3:GetObject',
};

/** Declared actions no function's role holds, each with why. */
const DECLARED_NOT_GRANTED: Record<string, string> = {
  's3:AbortMultipartUpload': 'only streamed uploads (putStream) abort, and no task function streams an upload to the bucket yet',
};

interface AdapterFile {
  readonly file: string;
  /** The IAM action each `new XCommand(` in the file needs, as the SDK names it. */
  readonly sent: string[];
  /** The actions the file's `*_IAM` declaration lists. */
  readonly declared: string[];
}

async function adapterFiles(): Promise<AdapterFile[]> {
  const files: AdapterFile[] = [];
  for (const file of readdirSync(ADAPTERS).filter((name) => name.endsWith('.ts'))) {
    const source = readFileSync(join(ADAPTERS, file), 'utf8');
    const commands = [...new Set([...source.matchAll(/new (\w+)Command\(/g)].map((m) => m[1]))];
    // A file sending no SDK command may still declare actions: a request it signs itself (aps-signer.ts).
    if (commands.length === 0 && !/export const \w+_IAM\b/.test(source)) continue;
    const client = /from '@aws-sdk\/(client-[a-z0-9-]+)'/.exec(source)?.[1] ?? '';
    const sent = commands.map((command) => {
      const operation = `${PREFIX[client]}:${command}`;
      return AUTHORISED_AS[operation] ?? operation;
    });
    const module = (await import(join(ADAPTERS, file))) as Record<string, unknown>;
    const declarations = Object.entries(module).filter(([name]) => name.endsWith('_IAM'));
    expect(declarations.map(([name]) => name), `${file} declares the IAM of its calls in one *_IAM export`).toHaveLength(1);
    files.push({ file, sent, declared: Object.values(declarations[0][1] as Record<string, string>) });
  }
  return files;
}

const LAMBDA_VPC_ACTIONS = new Set<string>(Object.values(LAMBDA_VPC_IAM));

/** Every action the task functions' roles hold, over configurations that select every AWS adapter. */
function grantedActions(): Set<string> {
  const granted = new Set<string>();
  for (const config of [exampleInput, hookInput, hostsInput, auroraInput, analysisInput, lambdaAliasInput, lambdaImageInput, postgresInput, rdsDrillInput, auroraDrillInput]) {
    const synthesized = synth({ config });
    for (const folder of Object.keys(synthesized.stack.runbook.functions)) {
      for (const statement of taskStatements(synthesized, folder)) {
        // Lambda's own calls for a function in a VPC, declared beside their grants in lib/network.ts: no adapter sends them.
        for (const action of statement.Action) if (!LAMBDA_VPC_ACTIONS.has(action)) granted.add(action);
      }
    }
  }
  // The release plan's function (lib/release-plan.ts) runs beside the runbooks.
  const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Plans');
  const runbook = { stateMachine: StateMachine.fromStateMachineArn(stack, 'Runbook', 'arn:aws:states:eu-west-1:123456789012:stateMachine:DeployRunbook-shop-api') };
  const plans = new ReleasePlanRunner(stack, 'Plans', { runbooks: [runbook] });
  const policies = stack.node.findAll().filter((c): c is Policy => c instanceof Policy && c.node.scope === plans.planFunction.role);
  for (const policy of policies) for (const statement of policy.document.toJSON().Statement as { Action: string | string[] }[]) for (const action of [statement.Action].flat()) if (!/^(xray|logs):/.test(action)) granted.add(action);
  return granted;
}

describe('IAM written beside the calls it permits', () => {
  it('declares, in each AWS adapter, the IAM action of every command the adapter sends', async () => {
    const files = await adapterFiles();
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const { file, sent, declared } of files) {
      for (const action of sent) expect(declared, `${file} sends a command needing ${action} without declaring it`).toContain(action);
    }
  });

  it('grants the task functions only declared actions, and every declared action to some function', { timeout: 120_000 }, async () => {
    const declared = new Set((await adapterFiles()).flatMap((file) => file.declared));
    const granted = grantedActions();
    for (const action of granted) expect(declared, `${action} is granted but no adapter declares a call needing it`).toContain(action);
    for (const action of declared) {
      if (action in DECLARED_NOT_GRANTED) expect(granted.has(action), `${action} is granted now: remove it from DECLARED_NOT_GRANTED`).toBe(false);
      else expect(granted, `${action} is declared beside a call but no function's role grants it`).toContain(action);
    }
  });
});
