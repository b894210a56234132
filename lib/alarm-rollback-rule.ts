import { EventField, Rule, RuleTargetInput } from 'aws-cdk-lib/aws-events';
import { SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { RULE_DELIVERY, ruleDeadLetterQueue } from './rule-delivery';

export interface AlarmRollbackRuleProps {
  /** The runbook state machine; it receives `{action: "rollback", alarm}`. */
  readonly stateMachine: IStateMachine;
  /** CloudWatch alarms whose entry into ALARM starts a rollback. */
  readonly alarmNames: readonly string[];
}

/**
 * Starts a rollback execution when one of the watched alarms enters ALARM. The runbook itself decides
 * whether the last release is still inside the rollback window; events that cannot be delivered after
 * the retries land in an encrypted dead-letter queue.
 */
export class AlarmRollbackRule extends Construct {
  /** The EventBridge rule on `CloudWatch Alarm State Change`. */
  readonly rule: Rule;
  /** Alarm events the rule could not deliver to the state machine. */
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: AlarmRollbackRuleProps) {
    super(scope, id);
    this.deadLetterQueue = ruleDeadLetterQueue(this, 'the alarm rollback rule target');
    this.rule = new Rule(this, 'Rule', {
      description: 'Starts a deploy-runbook rollback when a watched CloudWatch alarm enters ALARM',
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        detail: { alarmName: [...props.alarmNames], state: { value: ['ALARM'] } },
      },
    });
    this.rule.addTarget(
      new SfnStateMachine(props.stateMachine, {
        input: RuleTargetInput.fromObject({
          action: 'rollback',
          alarm: {
            name: EventField.fromPath('$.detail.alarmName'),
            reason: EventField.fromPath('$.detail.state.reason'),
            time: EventField.time,
          },
        }),
        deadLetterQueue: this.deadLetterQueue,
        ...RULE_DELIVERY,
      }),
    );
  }
}
