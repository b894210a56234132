import { Duration } from 'aws-cdk-lib';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { WatchConfig } from '../config/schema';
import { RULE_DELIVERY, ruleDeadLetterQueue } from './rule-delivery';

export interface WatchScheduleRuleProps {
  /** The runbook state machine; it receives `{action: "watch"}`. */
  readonly stateMachine: IStateMachine;
  /** `analysis.watch`: how often a checkpoint is measured. */
  readonly watch: WatchConfig;
}

/** The execution input of every watch checkpoint. */
export const WATCH_INPUT = { action: 'watch', requestedBy: 'post-release watch schedule' } as const;

/**
 * The post-release watch: starts a checkpoint execution every `analysis.watch.everyMinutes`. The runbook itself
 * decides whether the latest release is still watched (inside its window, no deployment holding the lock) and ends at
 * once when it is not; a failed checkpoint rolls the release back as an alarm would. Starts that cannot be delivered
 * after the retries land in an encrypted dead-letter queue.
 */
export class WatchScheduleRule extends Construct {
  /** The EventBridge schedule rule. */
  readonly rule: Rule;
  /** Starts the rule could not deliver to the state machine. */
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: WatchScheduleRuleProps) {
    super(scope, id);
    this.deadLetterQueue = ruleDeadLetterQueue(this, 'the post-release watch schedule target');
    this.rule = new Rule(this, 'Rule', {
      description: `Starts a deploy-runbook watch checkpoint every ${props.watch.everyMinutes} min (analysis.watch)`,
      schedule: Schedule.rate(Duration.minutes(props.watch.everyMinutes)),
    });
    this.rule.addTarget(
      new SfnStateMachine(props.stateMachine, {
        input: RuleTargetInput.fromObject(WATCH_INPUT),
        deadLetterQueue: this.deadLetterQueue,
        // A checkpoint delivered after the next one is due would only measure twice.
        ...RULE_DELIVERY,
        maxEventAge: Duration.minutes(Math.min(props.watch.everyMinutes, 120)),
      }),
    );
  }
}
