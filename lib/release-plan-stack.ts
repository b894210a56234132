import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { PLAN_STACK_OUTPUTS } from '../core/release-plan';
import { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { type PlanRunbook, ReleasePlanRunner, type ReleasePlanRunnerProps } from './release-plan';

export interface ReleasePlanStackProps extends StackProps, Omit<ReleasePlanRunnerProps, 'runbooks'> {
  /** Runbooks of the same app (e.g. `DeployRunbookStack.runbook`). @default - only `runbookArns` */
  readonly runbooks?: readonly PlanRunbook[];
  /**
   * Runbooks deployed already, by state machine ARN (each DeployRunbook-<name> stack's StateMachineArn output): what
   * `bin/app.ts` gives from `-c deploy-runbook:release-plans=<file>`. A plan's report then links their reports by key.
   * @default - only `runbooks`
   */
  readonly runbookArns?: readonly string[];
}

/** The release plans of a set of runbooks, with the outputs the CLI looks up. */
export class ReleasePlanStack extends Stack {
  readonly plans: ReleasePlanRunner;

  constructor(scope: Construct, id: string, props: ReleasePlanStackProps) {
    super(scope, id, { description: 'deploy-runbook: release plans running runbooks in order, with gates and reverse rollback', ...props });
    const imported = (props.runbookArns ?? []).map((arn, index) => ({ stateMachine: StateMachine.fromStateMachineArn(this, `Runbook${index + 1}`, arn) }));
    this.plans = new ReleasePlanRunner(this, 'Plans', { ...props, runbooks: [...(props.runbooks ?? []), ...imported] });
    new CfnOutput(this, PLAN_STACK_OUTPUTS.stateMachineArn, { description: 'The release plan state machine: deploy-runbook release starts it', value: this.plans.stateMachine.stateMachineArn });
    new CfnOutput(this, PLAN_STACK_OUTPUTS.bucketName, { description: 'The plan lock and the plan reports', value: this.plans.bucket.bucketName });
    new CfnOutput(this, PLAN_STACK_OUTPUTS.approvalActivityArn, {
      description: 'Approval gates: who approves needs states:GetActivityTask and states:SendTaskSuccess/SendTaskFailure on it',
      value: this.plans.approval.activityArn,
    });
  }
}
