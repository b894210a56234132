import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { PLAN_STACK_OUTPUTS } from '../core/release-plan';
import { ReleasePlanRunner, type ReleasePlanRunnerProps } from './release-plan';


export interface ReleasePlanStackProps extends StackProps, ReleasePlanRunnerProps {}

/** The release plans of a set of runbooks, with the outputs the CLI looks up. */
export class ReleasePlanStack extends Stack {
  readonly plans: ReleasePlanRunner;

  constructor(scope: Construct, id: string, props: ReleasePlanStackProps) {
    super(scope, id, { description: 'deploy-runbook: release plans running runbooks in order, with gates and reverse rollback', ...props });
    this.plans = new ReleasePlanRunner(this, 'Plans', props);
    new CfnOutput(this, PLAN_STACK_OUTPUTS.stateMachineArn, { description: 'The release plan state machine: deploy-runbook release starts it', value: this.plans.stateMachine.stateMachineArn });
    new CfnOutput(this, PLAN_STACK_OUTPUTS.bucketName, { description: 'The plan lock and the plan reports', value: this.plans.bucket.bucketName });
    new CfnOutput(this, PLAN_STACK_OUTPUTS.approvalActivityArn, {
      description: 'Approval gates: who approves needs states:GetActivityTask and states:SendTaskSuccess/SendTaskFailure on it',
      value: this.plans.approval.activityArn,
    });
  }
}
