import { EventField, Rule, RuleTargetInput } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { RunbookConfig } from '../config/schema';
import type { Json } from '../statemachines/definition';
import { RULE_DELIVERY, ruleDeadLetterQueue } from './rule-delivery';

export interface AbandonedExecutionRuleProps {
  /** The runbook state machine whose executions are watched. */
  readonly stateMachine: IStateMachine;
  /** The target's name (whose lock is marked) and its notification topic. */
  readonly config: Pick<RunbookConfig, 'name' | 'notifications'>;
  /** The deployment-lock function: it marks the lease of the ended execution `stuck`. */
  readonly lockFunction: IFunction;
  /** The notify function: it tells people the execution ended half done. */
  readonly notifyFunction: IFunction;
  /** The definition: an execution that failed in one of its Fail states ended as designed and is not matched. */
  readonly definition: Json;
}

/** The Error of every Fail state of a definition: `InvalidInput`, `RolledBack`, `RollbackFailed`… */
export function failStateErrors(definition: Json): string[] {
  const states = (definition as { States?: Record<string, { Type?: string; Error?: unknown }> }).States ?? {};
  return Object.values(states).flatMap((state) => (state.Type === 'Fail' && typeof state.Error === 'string' ? [state.Error] : []));
}

/**
 * Notices an execution of the runbook that ended without reaching its own end states: TIMED_OUT (the
 * execution timeout struck mid-restore), ABORTED (StopExecution) or FAILED outside its Fail states (a
 * runtime error no Catch handles). No state of the runbook runs after that, so nothing released the lock or
 * told anyone: the lock function marks the lease `stuck` if that execution still holds it, and the notify
 * function sends an ACTION NEEDED message. Events that cannot be delivered land in a dead-letter queue.
 */
export class AbandonedExecutionRule extends Construct {
  /** The EventBridge rule on `Step Functions Execution Status Change`. */
  readonly rule: Rule;
  /** Events the rule could not deliver to either function. */
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: AbandonedExecutionRuleProps) {
    super(scope, id);
    this.deadLetterQueue = ruleDeadLetterQueue(this, 'the abandoned-execution rule targets');
    this.rule = new Rule(this, 'Rule', {
      description: 'Marks the deploy-runbook lock stuck and notifies when an execution ends timed out, aborted, or failed outside its Fail states',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [props.stateMachine.stateMachineArn],
          $or: [{ status: ['TIMED_OUT', 'ABORTED'] }, { status: ['FAILED'], error: [{ 'anything-but': failStateErrors(props.definition) }] }],
        },
      },
    });
    const ended = {
      executionArn: EventField.fromPath('$.detail.executionArn'),
      name: EventField.fromPath('$.detail.name'),
      status: EventField.fromPath('$.detail.status'),
      error: EventField.fromPath('$.detail.error'),
      cause: EventField.fromPath('$.detail.cause'),
    };
    const delivery = { deadLetterQueue: this.deadLetterQueue, ...RULE_DELIVERY };
    this.rule.addTarget(
      new LambdaFunction(props.lockFunction, {
        event: RuleTargetInput.fromObject({ operation: 'mark-abandoned', config: { name: props.config.name }, ended }),
        ...delivery,
      }),
    );
    this.rule.addTarget(
      new LambdaFunction(props.notifyFunction, {
        event: RuleTargetInput.fromObject({ event: 'execution-ended', config: { name: props.config.name, notifications: props.config.notifications }, ended }),
        ...delivery,
      }),
    );
  }
}
