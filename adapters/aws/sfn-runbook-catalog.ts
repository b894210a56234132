import { DescribeStateMachineCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { RunbookReference } from '../../config/release-plan';
import type { RunbookCatalog, RunbookEntry } from '../../core/ports/runbook-catalog';

/**
 * The IAM action behind each AWS call SfnRunbookCatalog makes: written beside the call, granted from here by
 * lib/release-plan.ts (test/adapters/aws/iam-beside-commands.test.ts checks both ends).
 */
export const SFN_RUNBOOK_CATALOG_IAM = {
  describeStateMachine: 'states:DescribeStateMachine',
} as const;

/** A runbook the plan's stack may start, and the bucket its evidence reports are in. */
export interface KnownRunbook {
  readonly stateMachineArn: string;
  /** Its configuration's name, when the stack knows it: the plan report links the stage's reports in its bucket. */
  readonly target: string | null;
  readonly bucketName: string | null;
}

/**
 * The runbooks a plan on AWS may run: a stage names a state machine ARN (the CLI resolves a stack name to it), which
 * must be one the plan's stack was given and must exist (DescribeStateMachine); its target is read from the
 * configuration the runbook's definition carries (ValidateInput's Parameters).
 */
export class SfnRunbookCatalog implements RunbookCatalog {
  constructor(
    private readonly sfn: SFNClient,
    private readonly runbooks: readonly KnownRunbook[],
  ) {}

  async find(reference: RunbookReference): Promise<RunbookEntry | string> {
    if ('config' in reference) return 'a configuration file names a runbook only in a rehearsal; on AWS give its stack or stateMachineArn';
    if ('stack' in reference) return 'the plan state machine takes state machine ARNs: deploy-runbook release resolves a stack name to its StateMachineArn output';
    const arn = reference.stateMachineArn;
    if (!this.runbooks.some((runbook) => runbook.stateMachineArn === arn)) {
      return `${arn} is not one of the runbooks this plan stack may start (${this.runbooks.map((r) => r.stateMachineArn).join(', ') || 'none'})`;
    }
    let definition: string | undefined;
    try {
      definition = (await this.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }))).definition;
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'StateMachineDoesNotExist') return `no state machine ${arn} exists (DescribeStateMachine: ${name})`;
      throw error;
    }
    const config = runbookConfigOf(definition);
    if (!config) return `${arn} is not a deploy-runbook runbook: its definition has no ValidateInput state carrying a configuration`;
    return { stateMachineArn: arn, target: config.name, targetKind: config.targetKind, checks: config.checks, metrics: config.metrics };
  }

  async reportLocation(target: string, deploymentId: string): Promise<string> {
    const key = `reports/${target}/${deploymentId}.md`;
    const bucket = this.runbooks.find((runbook) => runbook.target === target)?.bucketName;
    return bucket ? `s3://${bucket}/${key}` : key;
  }
}

/** The runbook's configuration name, target kind, SQL check names and deciding analysis metrics, from the definition (`ValidateInput.Parameters.config`). */
export function runbookConfigOf(definition: string | undefined): { name: string; targetKind: string; checks: string[]; metrics: string[] } | null {
  try {
    const parsed = JSON.parse(definition ?? '') as {
      States?: Record<
        string,
        { Parameters?: { config?: { name?: unknown; target?: { kind?: unknown }; checks?: { sql?: { name?: unknown }[] }; analysis?: { metrics?: { name?: unknown; dryRun?: unknown }[] } } } }
      >;
    };
    const config = parsed.States?.ValidateInput?.Parameters?.config;
    if (typeof config?.name !== 'string' || typeof config.target?.kind !== 'string') return null;
    const checks = (config.checks?.sql ?? []).flatMap((check) => (typeof check?.name === 'string' ? [check.name] : []));
    const metrics = (config.analysis?.metrics ?? []).flatMap((metric) => (typeof metric?.name === 'string' && metric.dryRun !== true ? [metric.name] : []));
    return { name: config.name, targetKind: config.target.kind, checks, metrics };
  } catch {
    return null;
  }
}
