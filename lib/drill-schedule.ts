import { Stack, TimeZone } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Schedule, ScheduleExpression, ScheduleTargetInput, TimeWindow } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { z } from 'zod';
import { DrillRequest, drillRequest } from '../config/deployment-input';
import type { BackupConfig } from '../config/schema';
import { RULE_DELIVERY, ruleDeadLetterQueue } from './rule-delivery';
import { InvalidRunbookPropsError } from './errors';

export interface DrillScheduleProps {
  /** The runbook state machine; each start is a `drill` execution of it. */
  readonly stateMachine: IStateMachine;
  /** `backup`: `drillSchedule` (rate or cron) and `drillScheduleTimezone`. */
  readonly backup: BackupConfig;
}

/** Who the evidence report and the notifications name as having asked for a scheduled drill. */
export const DRILL_SCHEDULE_REQUESTER = 'restore drill schedule (backup.drillSchedule)';

/** The execution input of every scheduled drill: what `deploy-runbook drill` sends, with the schedule as who asks. */
export function scheduledDrillInput(backup: BackupConfig): z.output<typeof DrillRequest> {
  return DrillRequest.parse(drillRequest({ requestedBy: DRILL_SCHEDULE_REQUESTER, reason: `scheduled restore drill, ${backup.drillSchedule}` }));
}

/**
 * `backup.drillSchedule`: an EventBridge Scheduler schedule that starts a restore drill execution of the runbook at the
 * configured times (no flexible window: a drill at 03:00 means 03:00). It assumes a role of its own, trusted by
 * EventBridge Scheduler for this account's default schedule group only, that may start executions of this state machine
 * and send to its dead-letter queue, nothing else. Starts that still fail after the retries land in that encrypted
 * queue; a drill that runs and fails tells the runbook's topics itself (`drill-failed`).
 */
export class DrillSchedule extends Construct {
  /** The schedule (its default child). */
  readonly schedule: Schedule;
  /** The role EventBridge Scheduler starts the executions as. */
  readonly role: Role;
  /** Starts the schedule could not deliver to the state machine. */
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: DrillScheduleProps) {
    super(scope, id);
    const { drillSchedule, drillScheduleTimezone } = props.backup;
    if (drillSchedule === undefined) throw new InvalidRunbookPropsError('backup.drillSchedule: a drill schedule needs an expression such as rate(7 days) (got nothing)');
    const stack = Stack.of(this);
    this.role = new Role(this, 'Role', {
      description: 'EventBridge Scheduler starts the runbook restore drill as this role',
      // The confused-deputy guard AWS documents for Scheduler: only schedules of this account's default group.
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': stack.account,
            'aws:SourceArn': stack.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: 'default' }),
          },
        },
      }),
    });
    this.deadLetterQueue = ruleDeadLetterQueue(this, 'the restore drill schedule');
    this.schedule = new Schedule(this, 'Resource', {
      description: `Starts a deploy-runbook restore drill: ${drillSchedule}${drillScheduleTimezone ? ` (${drillScheduleTimezone})` : ''}`,
      schedule: ScheduleExpression.expression(drillSchedule, drillScheduleTimezone === undefined ? undefined : TimeZone.of(drillScheduleTimezone)),
      timeWindow: TimeWindow.off(),
      target: new StepFunctionsStartExecution(props.stateMachine, {
        role: this.role,
        input: ScheduleTargetInput.fromObject(scheduledDrillInput(props.backup)),
        deadLetterQueue: this.deadLetterQueue,
        ...RULE_DELIVERY,
      }),
    });
  }
}
