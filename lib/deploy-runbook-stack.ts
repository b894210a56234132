import { CfnOutput, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { RESTORE_APPROVAL_ACTIVITY_OUTPUT } from '../core/restore-approval';
import { DeployRunbook, type DeployRunbookProps } from './deploy-runbook';

/** Output keys the CLI reads to find the runbook of a stack. */
export const STACK_OUTPUTS = { stateMachineArn: 'StateMachineArn', bucketName: 'BucketName', restoreApprovalActivityArn: RESTORE_APPROVAL_ACTIVITY_OUTPUT } as const;

/** Stack props plus the runbook's own (`config`, `stateMachineName`, `logRetention`, `removalPolicy`, `alarmRollback`). */
export interface DeployRunbookStackProps extends StackProps, DeployRunbookProps {}

/** One deployment target's runbook, with the outputs the operator's CLI looks up. */
export class DeployRunbookStack extends Stack {
  /** The runbook this stack deploys. */
  readonly runbook: DeployRunbook;

  constructor(scope: Construct, id: string, props: DeployRunbookStackProps) {
    super(scope, id, {
      description: 'deploy-runbook: a deployment runbook as a Step Functions state machine',
      ...props,
    });
    this.runbook = new DeployRunbook(this, 'Runbook', props);
    Tags.of(this).add('deploy-runbook:target', this.runbook.config.name);
    new CfnOutput(this, STACK_OUTPUTS.stateMachineArn, {
      description: 'The runbook state machine: start executions here',
      value: this.runbook.stateMachine.stateMachineArn,
    });
    new CfnOutput(this, STACK_OUTPUTS.bucketName, {
      description: 'Locks, ledger, backup manifests and reports',
      value: this.runbook.bucket.bucketName,
    });
    new CfnOutput(this, STACK_OUTPUTS.restoreApprovalActivityArn, {
      description: 'The restore-approval activity: who approves restores needs states:GetActivityTask and states:SendTaskSuccess/SendTaskFailure on it',
      value: this.runbook.restoreApproval.activityArn,
    });
  }
}
